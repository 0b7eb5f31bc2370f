"""Plain selection sets (nexus/schema/plain_selections.py) complete exactly as graphql-core does.

Every check runs one document twice on a small Strawberry schema: with our execution context
(plans) and with Strawberry's own (graphql-core's completion for every field), and compares
data and errors. Hypothesis feeds payloads with wrong values in every position a plan must
give up on: nulls in non-null fields, values a serializer refuses, generators where lists are
declared, exceptions and awaitables as field values.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from typing import Any, NewType, cast

import pytest
import strawberry
from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    execute,
    get_named_type,
    parse,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import Info

from nexus.schema import plain_selections
from nexus.schema.app import build_schema
from nexus.schema.execution_context import ExecutionContext


@strawberry.enum
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


# A scalar whose serializer answers None for one value: graphql-core reports that as an error.
Sometimes = NewType("Sometimes", str)
SOMETIMES = strawberry.scalar(name="Sometimes", serialize=lambda v: None if v == "nothing" else v, parse_value=str)


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Leaf(Named):  # an interface gives Leaf an is_type_of check
    size: int | None
    color: Color
    tags: list[str]
    when: dt.datetime | None
    maybe: Sometimes | None = None

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def tagged(self, info: Info) -> str:
        return f"{self.name}@{info.path.key}"


@strawberry.type
class Holder:
    count: int
    leaf: Leaf | None
    must: Leaf
    leaves: list[Leaf]
    maybe_leaves: list[Leaf | None] | None
    data: JSON | None


def _cleared(vault: Vault) -> str:
    if vault.cleared is None:
        raise plain_selections.GiveUp
    return vault.cleared


@strawberry.type
class Vault:
    name: str
    cleared: strawberry.Private[str | None] = None

    @strawberry.field(metadata={plain_selections.SHORTCUT: _cleared})
    async def secret(self, info: Info) -> str | None:
        info.context["resolved"] = info.context.get("resolved", 0) + 1
        return info.context.get("secret")  # type: ignore[no-any-return]


@strawberry.type
class Query:
    @strawberry.field
    def holder(self, info: Info) -> Holder | None:
        return info.context["holder"]  # type: ignore[no-any-return]

    @strawberry.field
    def vault(self, info: Info) -> Vault | None:
        return info.context.get("vault")  # type: ignore[no-any-return]

    @strawberry.field
    def must_holder(self, info: Info) -> Holder:
        return info.context["holder"]  # type: ignore[no-any-return]


SCHEMA = strawberry.Schema(
    query=Query, execution_context_class=ExecutionContext, config=StrawberryConfig(scalar_map={Sometimes: SOMETIMES})
)._schema
LEAF_FIELDS = "name size color tags when maybe __typename"
PLAIN = [
    f"{{ holder {{ count leaf {{ {LEAF_FIELDS} }} must {{ name }} leaves {{ name color }} data }} }}",
    f"{{ mustHolder {{ count must {{ {LEAF_FIELDS} }} maybeLeaves {{ name size }} }} }}",
    "{ holder { a: count b: count leaf { n: name t: __typename shout } } }",
]
NOT_PLAIN = [
    "{ holder { leaf { tagged name } } }",  # a resolver that takes info
    "{ holder { ...F } } fragment F on Holder { count leaf { name } }",
    "query($s: Boolean!) { holder { count @skip(if: $s) leaf { name } } }",
    "{ holder { leaf { name } leaf { size } } }",  # one key twice: merged by graphql-core
]


def good_leaf(name: str = "n") -> Leaf:
    return Leaf(name=name, size=3, color=Color.BLUE, tags=["a", "b"], when=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))


def good_holder() -> Holder:
    return Holder(
        count=2,
        leaf=good_leaf(),
        must=good_leaf("m"),
        leaves=[good_leaf("x")],
        maybe_leaves=None,
        data=cast(JSON, {"k": [1]}),
    )


async def _awaitable() -> str:
    return "late"


class Rows:
    """Iterable, not a list: graphql-core completes it (again and again, unlike a generator)."""

    def __iter__(self) -> Iterator[Leaf]:
        yield good_leaf("g")


# Values no plan handles: each must be completed (or refused) exactly as graphql-core does.
STRANGE = [None, "text", "nothing", 7, 2.5, True, ValueError("boom"), [None], {"k": 1}, "rows", Color.RED]
# Where they go: every field of Holder, and every field of the Leaf in each of its positions.
HOLDER_FIELDS = ["count", "leaf", "must", "leaves", "maybe_leaves", "data"]
LEAF_POSITIONS = ["leaf", "must", "leaves"]
LEAF_ATTRIBUTES = ["name", "size", "color", "tags", "when", "maybe"]


def _strange() -> Any:
    return st.sampled_from(STRANGE)


def _value(good: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(good), _strange())


@st.composite
def leaves(draw: st.DrawFn) -> Leaf | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    good = good_leaf()
    return Leaf(
        name=draw(_value(good.name)),
        size=draw(st.one_of(st.just(None), _value(good.size))),
        color=draw(st.one_of(st.just(Color.RED), _value(good.color))),
        tags=draw(st.one_of(st.just(["x", None]), st.just(("t",)), _value(good.tags))),
        when=draw(_value(good.when)),
        maybe=draw(_value("fine")),
    )


@st.composite
def holders(draw: st.DrawFn) -> Holder:
    return Holder(
        count=draw(_value(2)),
        leaf=draw(leaves()),
        must=draw(leaves()),  # type: ignore[arg-type]  # a null where the schema says non-null
        leaves=listed(draw(st.one_of(st.lists(leaves(), max_size=3), _strange()))),
        maybe_leaves=listed(draw(st.one_of(st.lists(leaves(), max_size=3), _strange()))),
        data=draw(st.one_of(st.just(cast(JSON, {"k": "v"})), _strange())),
    )


def run(document: str, holder: Holder, executor: type[StrawberryGraphQLCoreExecutionContext]) -> tuple[Any, Any]:
    result = execute(
        SCHEMA, parse(document), context_value={"holder": holder}, variable_values={"s": False}, executor_class=executor
    )
    assert isinstance(result, ExecutionResult)  # every resolver here is synchronous
    return result.data, [error.formatted for error in result.errors or ()]


def same_as_graphql_core(document: str, holder: Holder) -> None:
    assert run(document, holder, ExecutionContext) == run(document, holder, StrawberryGraphQLCoreExecutionContext)


@pytest.mark.parametrize("document", PLAIN + NOT_PLAIN)
def test_good_values_complete_as_graphql_core_does(document: str) -> None:
    same_as_graphql_core(document, good_holder())
    data, errors = run(document, good_holder(), ExecutionContext)
    assert errors == [] and data


def listed(value: Any) -> Any:
    return Rows() if value == "rows" else value


def _not_a_leaf() -> Holder:
    # Has a name, but is no Leaf: is_type_of refuses it
    return good_holder()


@pytest.mark.parametrize("value", [*STRANGE, "wrong type"], ids=repr)
@pytest.mark.parametrize("where", HOLDER_FIELDS + [f"{p}.{a}" for p in LEAF_POSITIONS for a in LEAF_ATTRIBUTES])
def test_each_strange_value_in_each_position_completes_as_graphql_core_does(where: str, value: Any) -> None:
    for document in PLAIN + NOT_PLAIN:
        holder = good_holder()
        target: Any = holder
        *parents, attribute = where.split(".")
        for parent in parents:
            target = getattr(target, parent)
            target = target[0] if isinstance(target, list) else target
        setattr(target, attribute, _not_a_leaf() if value == "wrong type" else listed(value))
        same_as_graphql_core(document, holder)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(holder=holders(), document=st.sampled_from(PLAIN + NOT_PLAIN))
def test_any_values_complete_as_graphql_core_does(holder: Holder, document: str) -> None:
    same_as_graphql_core(document, holder)


def test_an_exception_as_a_value_is_left_to_graphql_core() -> None:
    holder = good_holder()
    holder.count = ValueError("count failed")  # type: ignore[assignment]
    same_as_graphql_core(PLAIN[0], holder)
    assert run(PLAIN[0], holder, ExecutionContext)[1][0]["message"] == "count failed"


async def test_an_awaitable_value_is_left_to_graphql_core() -> None:
    async def complete(executor: type[StrawberryGraphQLCoreExecutionContext]) -> tuple[Any, Any]:
        holder = good_holder()
        holder.leaf.name = _awaitable()  # type: ignore[union-attr,assignment]
        outcome = execute(SCHEMA, parse(PLAIN[0]), context_value={"holder": holder}, executor_class=executor)
        assert not isinstance(outcome, ExecutionResult)
        result = await outcome
        return result.data, result.errors

    ours, theirs = await complete(ExecutionContext), await complete(StrawberryGraphQLCoreExecutionContext)
    assert ours == theirs and ours[0]["holder"]["leaf"]["name"] == "late"


class Counting(ExecutionContext):
    """Counts the fields graphql-core executes the general way (each gets a resolve info)."""

    general = 0

    def build_resolve_info(self, *args: Any, **kwargs: Any) -> Any:
        Counting.general += 1
        return super().build_resolve_info(*args, **kwargs)


@pytest.mark.parametrize(("document", "general"), [(PLAIN[0], 1), (PLAIN[2], 1), (NOT_PLAIN[0], 3)])
def test_plain_fields_skip_graphql_cores_field_execution(document: str, general: int) -> None:
    Counting.general = 0
    run(document, good_holder(), Counting)
    assert Counting.general == general  # the root field (a resolver taking info), and what is not plain


def test_a_value_a_plan_gives_up_on_is_executed_the_general_way() -> None:
    holder = good_holder()
    holder.must = None  # type: ignore[assignment]
    Counting.general = 0
    data, errors = run(PLAIN[0], holder, Counting)
    assert data == {"holder": None}
    assert [error["message"] for error in errors] == ["Cannot return null for non-nullable field Holder.must."]
    assert Counting.general == 2  # holder, then must


class CountingObjects(ExecutionContext):
    """Counts the objects graphql-core completes the general way."""

    objects = 0

    def complete_object_value(self, *args: Any, **kwargs: Any) -> Any:
        CountingObjects.objects += 1
        return super().complete_object_value(*args, **kwargs)


def test_a_plain_value_below_a_resolver_that_is_not_plain_is_completed_by_its_plan() -> None:
    CountingObjects.objects = 0
    data, errors = run(PLAIN[0], good_holder(), CountingObjects)  # `holder` takes info
    assert data and not errors
    assert CountingObjects.objects == 0
    holder = good_holder()
    holder.must = None  # type: ignore[assignment]
    assert run(PLAIN[0], holder, CountingObjects)[0] == {"holder": None}
    assert CountingObjects.objects == 1  # the holder, the general way, which then gave up on `must`


VAULT = "{ vault { name secret } }"


def test_a_shortcut_answers_for_its_resolver_when_it_can() -> None:
    Counting.general = 0
    context = {"vault": Vault(name="v", cleared="s3"), "secret": "s3"}
    result = execute(SCHEMA, parse(VAULT), context_value=context, executor_class=Counting)
    assert isinstance(result, ExecutionResult)  # nothing awaited: the resolver never ran
    assert result.data == {"vault": {"name": "v", "secret": "s3"}} and not result.errors
    assert Counting.general == 1 and "resolved" not in context  # only the root field


async def _vault(executor: type[StrawberryGraphQLCoreExecutionContext], cleared: str | None) -> tuple[Any, Any, int]:
    context = {"vault": Vault(name="v", cleared=cleared), "secret": "from the resolver"}
    outcome = execute(SCHEMA, parse(VAULT), context_value=context, executor_class=executor)
    assert not isinstance(outcome, ExecutionResult)  # the async resolver ran
    result = await outcome
    return result.data, result.errors, context["resolved"]


async def test_a_shortcut_that_gives_up_leaves_the_field_to_its_resolver() -> None:
    ours, theirs = await _vault(ExecutionContext, None), await _vault(StrawberryGraphQLCoreExecutionContext, None)
    assert ours == theirs == ({"vault": {"name": "v", "secret": "from the resolver"}}, None, 1)


async def test_a_shortcut_stands_for_its_resolver_on_the_plain_path_only() -> None:
    # Strawberry's own execution (and so any document graphql-core executes the general way)
    # calls the resolver.
    theirs = await _vault(StrawberryGraphQLCoreExecutionContext, "cleared")
    assert theirs == ({"vault": {"name": "v", "secret": "from the resolver"}}, None, 1)


def _not_plain(document: str) -> set[str]:
    """The fields of one of the product's documents that graphql-core executes the general way."""
    schema = build_schema()._schema
    fields = plain_selections.for_schema(schema)
    operation = parse(document).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    root = schema.mutation_type if operation.operation.value == "mutation" else schema.query_type
    general: set[str] = set()

    def visit(parent: GraphQLObjectType, node: FieldNode) -> None:
        if fields.field(parent, node) is None:
            general.add(node.name.value)
            child = get_named_type(parent.fields[node.name.value].type)
            for selection in node.selection_set.selections if node.selection_set else ():
                assert isinstance(selection, FieldNode) and isinstance(child, GraphQLObjectType)
                visit(child, selection)

    for selection in operation.selection_set.selections:
        assert isinstance(selection, FieldNode) and root is not None
        visit(root, selection)
    return general


@pytest.mark.parametrize(
    ("name", "general"),
    [
        # clientSecret's resolver is async (it may read the database); its shortcut answers in
        # the create's payload, which carries the secret cleared for its caller
        ("CREATE", {"createPaymentIntent"}),
        ("PROCESS", {"processPaymentIntent"}),
        ("LIST", {"paymentIntents"}),
    ],
)
def test_the_benchmarked_documents_are_plain_below_their_resolvers(name: str, general: set[str]) -> None:
    from bench import scenarios

    assert _not_plain(getattr(scenarios, name)) == general
