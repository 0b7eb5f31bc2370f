"""Refuse text PostgreSQL cannot store before anything runs: NUL characters and unpaired surrogates.

PostgreSQL text and jsonb reject U+0000, and a lone UTF-16 surrogate (legal as
a JSON escape, `"\\ud800"`) cannot be encoded as UTF-8 at all. Left alone, either
reaches the driver mid-transaction and surfaces as a masked internal error.
Checked once here, over every variable and every string literal of the
document, they become one INVALID_INPUT naming where the bad text was.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLError, StringValueNode, visit
from graphql.language import Visitor
from strawberry.extensions import SchemaExtension

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# Variables nest (input objects, metadata); past this depth something else refuses them anyway.
_MAX_WALK_DEPTH = 64


def unstorable_at(value: Any, path: str, depth: int = 0) -> str | None:
    """The path of the first string in `value` PostgreSQL cannot store, or None."""
    if isinstance(value, str):
        return path if _UNSTORABLE.search(value) else None
    if depth > _MAX_WALK_DEPTH:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return f"{path}.<key>"
            found = unstorable_at(item, f"{path}.{key}", depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_at(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


class _LiteralFinder(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if _UNSTORABLE.search(node.value):
            self.found = True


class TextGuard(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        where = self._unstorable()
        if where is not None:
            message = f"text at {where} contains a NUL character or an unpaired surrogate; remove it"
            error = GraphQLError(message, extensions={"code": "INVALID_INPUT"})
            # Setting the result before yielding skips execution: nothing runs, nothing changes.
            self.execution_context.result = ExecutionResult(data=None, errors=[error])
        yield

    def _unstorable(self) -> str | None:
        found = unstorable_at(self.execution_context.variables or {}, "variables")
        if found:
            return found
        document = self.execution_context.graphql_document
        if document is not None and literal_unstorable(self.execution_context.query or "", document):
            return "a string literal in the query"
        return None


def literal_unstorable(query: str, document: DocumentNode) -> bool:
    """Whether a string literal of the parsed `query` holds text PostgreSQL cannot store."""
    # A literal can only decode to bad text if the source has it raw or has an escape: without
    # a backslash or a raw bad character, skip walking the whole document (every request).
    if "\\" not in query and not _UNSTORABLE.search(query):
        return False
    finder = _LiteralFinder()
    visit(document, finder)
    return finder.found
