"""Compiled resolvers (nexus/schema/compiled_resolvers.py) do what Strawberry's do.

Argument conversion is compared with Strawberry's `convert_arguments` on values generated from
each argument's GraphQL input type, for every field of the product's schema and of a small
schema with the shapes ours lacks. Resolution is compared by executing the same documents on
two builds of that small schema, one with compiled resolvers.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    graphql_sync,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

from nexus.schema import compiled_resolvers
from nexus.schema.app import build_schema


@strawberry.enum
class Size(enum.Enum):
    SMALL = "s"
    LARGE = "l"


@strawberry.input
class Inner:
    label: str
    sizes: list[Size] | None = None
    note: str | None = strawberry.UNSET


@strawberry.input
class Outer:
    count: int
    inners: list[Inner]
    maybe_inner: Inner | None
    tags: list[str | None] | None = None
    when: dt.datetime | None = None
    data: JSON | None = None
    again: Annotated[Outer, strawberry.lazy("tests.unit.test_compiled_resolvers")] | None = None


@strawberry.type
class Thing:
    name: str

    @strawberry.field
    def echo(self, outer: Outer, size: Size = Size.SMALL, ids: list[strawberry.ID] | None = None) -> str:
        return f"{self.name}:{outer!r}:{size}:{ids}"

    @strawberry.field
    def path(self, info: Info, times: int = 1) -> str:
        return f"{info.python_name}x{times}"  # python_name: Strawberry's Info, not graphql-core's

    @strawberry.field
    def parent_name(self, root: Thing) -> str:
        return root.name


def doubled(count: int) -> int:  # a resolver with neither self nor root
    return 2 * count


@strawberry.type
class Query:
    doubled: int = strawberry.field(resolver=doubled)

    @strawberry.field
    def thing(self, name: str = "t") -> Thing:
        return Thing(name=name)

    @strawberry.field
    async def later(self, outer: Outer) -> str:
        return repr(outer)

    @strawberry.field
    def fails(self, count: int) -> str:
        raise ValueError(f"no {count}")

    @strawberry.field
    def by_global_id(self, id: strawberry.relay.GlobalID) -> str:
        return id.node_id

    @strawberry.field
    def maybe(self, value: strawberry.Maybe[int | None] = None) -> str:
        return repr(value)


def toy_schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    return strawberry.Schema(query=Query), strawberry.Schema(query=Query)


def scalars(scalar: GraphQLScalarType) -> st.SearchStrategy[Any]:
    json = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
        max_leaves=6,
    )
    return {
        "Int": st.integers(-(2**31), 2**31 - 1),
        "Float": st.floats(allow_nan=False),
        "Boolean": st.booleans(),
        "DateTime": st.datetimes(timezones=st.just(dt.UTC)),
        "JSON": json,
    }.get(scalar.name, st.text(max_size=8))


# Recursive input types (Outer.again) nest no deeper than this.
MAX_DEPTH = 3


def values(type_: GraphQLInputType, depth: int = 0) -> st.SearchStrategy[Any]:
    """What graphql-core hands a resolver for an input of this type (already coerced)."""
    if isinstance(type_, GraphQLNonNull):
        return _non_null(type_.of_type, depth)
    return st.none() if depth > MAX_DEPTH else st.none() | _non_null(type_, depth)


def _non_null(type_: GraphQLInputType, depth: int) -> st.SearchStrategy[Any]:
    if isinstance(type_, GraphQLList):
        return st.just([]) if depth > MAX_DEPTH else st.lists(values(type_.of_type, depth + 1), max_size=3)
    if isinstance(type_, GraphQLEnumType):
        return st.sampled_from([value.value for value in type_.values.values()])
    if isinstance(type_, GraphQLInputObjectType):
        required = {n: values(f.type, depth + 1) for n, f in type_.fields.items() if isinstance(f.type, GraphQLNonNull)}
        optional = {n: values(f.type, depth + 1) for n, f in type_.fields.items() if n not in required}
        return st.fixed_dictionaries(required, optional=optional)
    assert isinstance(type_, GraphQLScalarType)
    return scalars(type_)


def arguments(field: GraphQLField) -> st.SearchStrategy[dict[str, Any]]:
    required = {n: values(a.type) for n, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
    optional = {n: values(a.type) for n, a in field.args.items() if n not in required}
    return st.fixed_dictionaries(required, optional=optional)


def fields_with_arguments(schema: strawberry.Schema) -> list[tuple[str, GraphQLField]]:
    found: list[tuple[str, GraphQLField]] = []
    for graphql_type in schema._schema.type_map.values():
        if isinstance(graphql_type, GraphQLObjectType) and not graphql_type.name.startswith("__"):
            found.extend((f"{graphql_type.name}.{name}", f) for name, f in graphql_type.fields.items() if f.args)
    return found


SCHEMA = build_schema()
TOY, _ = toy_schemas()
CASES = [(SCHEMA, name, field) for name, field in fields_with_arguments(SCHEMA)] + [
    (TOY, name, field) for name, field in fields_with_arguments(TOY)
]


@pytest.mark.parametrize(("schema", "name", "field"), CASES, ids=[name for _, name, _ in CASES])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_arguments_convert_as_strawberry_converts_them(
    schema: strawberry.Schema, name: str, field: GraphQLField, data: st.DataObject
) -> None:
    definition = field.extensions["strawberry-definition"]
    assert isinstance(definition, StrawberryField)
    compiler = compiled_resolvers.ArgumentCompiler(schema)
    try:
        convert = compiler.arguments(definition.arguments)
    except compiled_resolvers.NotCompiled:
        assert name in {"Query.byGlobalId", "Query.maybe"}, f"{name} should compile"
        return
    given_values = data.draw(arguments(field))
    ours = convert(dict(given_values))
    theirs = convert_arguments(
        dict(given_values), definition.arguments, schema.schema_converter.scalar_registry, schema.config
    )
    assert ours == theirs
    assert [type(v) for v in ours.values()] == [type(v) for v in theirs.values()]
    # Lists graphql-core handed over are copied, or passed on, alike (a default list is shared
    # by every request, so a resolver must not get it to change).
    assert _shared_lists(ours, given_values) == _shared_lists(theirs, given_values)


def _ids(value: Any, seen: set[int]) -> set[int]:
    if isinstance(value, list):
        seen.add(id(value))
        for item in value:
            _ids(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            _ids(item, seen)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            _ids(getattr(value, name), seen)
    return seen


def _shared_lists(converted: dict[str, Any], given: dict[str, Any]) -> set[int]:
    return _ids(converted, set()) & _ids(given, set())


def test_every_resolver_of_the_product_is_compiled_except_subscriptions() -> None:
    left = []
    for graphql_type in SCHEMA._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for name, field in graphql_type.fields.items():
            definition = field.extensions.get("strawberry-definition")
            compiled = field.resolve is not None and field.resolve.__qualname__.startswith("_compiled")
            if definition is not None and definition.base_resolver is not None and not compiled:
                left.append(f"{graphql_type.name}.{name}")
    assert left == ["Subscription.paymentIntentUpdated", "Subscription.events"]


DOCUMENTS = [
    '{ thing(name: "a") { name echo(outer: {count: 1, inners: [{label: "x", sizes: [LARGE]}], maybeInner: null}) } }',
    '{ thing { echo(outer: {count: 2, inners: [], maybeInner: {label: "y", note: null}, tags: ["a", null],'
    ' when: "2026-01-02T03:04:05+00:00", data: {k: [1]}, again: {count: 3, inners: [], maybeInner: null}},'
    ' size: LARGE, ids: ["1", "2"]) } }',
    "{ thing { path p2: path(times: 3) parentName } doubled(count: 21) }",
    '{ later(outer: {count: 1, inners: [{label: "z"}], maybeInner: null}) }',
    "{ fails(count: 4) }",
    '{ byGlobalId(id: "VGhpbmc6MQ==") maybe(value: null) m2: maybe }',
    '{ byGlobalId(id: "not base64") }',
    "{ thing { echo(outer: {count: 1}) } }",  # invalid: graphql-core refuses it before any resolver
]


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_compiled_resolvers_answer_as_strawberrys(document: str) -> None:
    plain, compiled = toy_schemas()
    assert compiled_resolvers.install(compiled) == 7  # 9 resolvers, less GlobalID and Maybe (left out)
    theirs = await plain.execute(document)
    ours = await compiled.execute(document)
    assert (ours.data, ours.errors) == (theirs.data, theirs.errors)
    assert ours.errors is None or document in {DOCUMENTS[4], DOCUMENTS[6], DOCUMENTS[7]}


def test_a_schema_with_exception_handlers_keeps_strawberrys_resolvers() -> None:
    schema = strawberry.Schema(query=Query)
    schema.schema_converter.exception_handlers = (object(),)  # type: ignore[assignment]
    assert compiled_resolvers.install(schema) == 0


def test_sync_execution_still_works() -> None:
    _, compiled = toy_schemas()
    compiled_resolvers.install(compiled)
    result = graphql_sync(compiled._schema, "{ thing { path } }")
    assert result.data == {"thing": {"path": "pathx1"}}
