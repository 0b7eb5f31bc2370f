"""Query cost limits as validation rules built once at import.

Rule classes must be the same objects on every request: ValidationCache keys
on them, and a factory that made new classes per request would defeat it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
)
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension

# The limit. Our deepest legitimate query (intents → edges → node → events → edges →
# node → deliveries → attempts → statusCode) is 9 levels, so 10 refuses only abuse.
MAX_DEPTH = 10
# Aliases let one request fan out; 30 covers batch reads in dashboards, not alias bombs.
MAX_ALIASES = 30
# Tokens bound parse cost; 5000 is several times GraphiQL's introspection query.
MAX_TOKENS = 5000

COMPLEXITY_CODE = "QUERY_TOO_COMPLEX"


def _limit_error(message: str, node: Any) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": COMPLEXITY_CODE})


class MaxDepthRule(ASTValidationRule):
    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        fragments = {
            d.name.value: d for d in self.context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        depth = _depth(node.selection_set, fragments, set())
        if depth > MAX_DEPTH:
            self.report_error(_limit_error(f"query depth {depth} exceeds the limit of {MAX_DEPTH}", node))


def _depth(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode], seen: set[str]) -> int:
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.name.value.startswith("__"):
                continue  # introspection has its own fixed shape
            deepest = max(deepest, 1 + _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, InlineFragmentNode):
            deepest = max(deepest, _depth(selection.selection_set, fragments, seen))
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in seen:
                continue  # unknown or cyclic fragments are reported by the standard rules
            deepest = max(deepest, _depth(fragment.selection_set, fragments, seen | {name}))
    return deepest


class MaxAliasesRule(ASTValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.count = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.alias is not None:
            self.count += 1
            if self.count == MAX_ALIASES + 1:
                self.report_error(_limit_error(f"more than {MAX_ALIASES} aliases in one request", node))


RULES = [MaxDepthRule, MaxAliasesRule]


def limit_extensions() -> Iterator[type[SchemaExtension] | Any]:
    yield lambda: AddValidationRules(RULES)
    yield lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS)
