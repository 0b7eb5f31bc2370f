"""Plain fields, resolved and completed without graphql-core's per-field machinery.

Why: graphql-core resolves and completes every selected field through one general path
(resolve info, argument parsing, awaitable checks, error protection, field collection, value
completion by type), ~3 µs a field here. Most of a payload's fields are an attribute read or a
one-line computed property plus a scalar's serializer; a page of 50 intents is ~300 of them
(bench/README.md).

A *plain* field, decided once per (object type, field node) from the document alone: a field
with no arguments, no directive and no extension whose value is either `__typename`, an
attribute of the source, what a synchronous resolver taking only `self` returns (a computed
property, like `PaymentIntent.amount`), or what the field's shortcut returns (`SHORTCUT`: a
resolver that needs `info` or awaits, with a synchronous answer for the objects that already
hold it, like `PaymentIntent.clientSecret` in createPaymentIntent's payload); of a leaf type,
or of an object type whose own selection set is plain (no fragment, no directive, no response
key twice; graphql-core merges those), or a list of those, any of them non-null. An object
type's `is_type_of` (Strawberry's isinstance check for types with interfaces) is called as
graphql-core calls it.

Resolving and completing a plain field is only attribute reads, computed properties, shortcuts
and serializers: it changes nothing (a resolver given neither `info` nor arguments can only
compute from its object, and a shortcut must not). So when anything is not as expected (a null
in a non-null position, a value that is not a list, a serializer that refuses, anything
awaitable, any exception: the completion raises), the execution context gives up on it and
graphql-core executes the same field from the start, with its own errors and null propagation.
The response is therefore always what graphql-core alone would have produced.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    Undefined,
    is_leaf_type,
)
from strawberry.execution.is_awaitable import optimized_is_awaitable

# Metadata key of a Strawberry field's shortcut: source → the value its resolver would give, or
# GiveUp where only the resolver can tell. A shortcut must change nothing and may not need
# `info`: it stands for the resolver on the plain path only.
SHORTCUT: Final = "nexus.plain_shortcut"
# Completions are kept per (object type, field node); documents come from bounded caches (512 texts
# each in the parser cache and the direct path), so 4,096 nodes is ample; beyond it the table
# starts over rather than tracking recency on every lookup.
MAX_PLANS: Final = 4096
_TYPENAME: Final = "__typename"


class GiveUp(Exception):
    """The value is not what the plan handles; graphql-core completes it instead."""


# One field of a plan: how to turn the source object into the field's response value.
Complete = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class ObjectPlan:
    """A plain selection set on one object type: response key → completion of that field."""

    fields: tuple[tuple[str, Complete], ...]

    def complete(self, source: Any) -> dict[str, Any]:
        return {key: complete(source) for key, complete in self.fields}


class PlainSelections:
    """Completions of plain fields, built on first use and kept (None: not plain)."""

    def __init__(self, schema: GraphQLSchema, max_plans: int = MAX_PLANS) -> None:
        self.schema = schema
        self.max_plans = max_plans
        # id(node) → (node, parent type, completion). The node is held so its id cannot be
        # reused while the entry exists, and is compared on lookup.
        self._fields: dict[int, tuple[FieldNode, GraphQLObjectType, Complete | None]] = {}
        # (id(node), id(type)) → (node, type, completion): values of a type, selected by a node.
        self._values: dict[tuple[int, int], tuple[FieldNode, GraphQLOutputType, Complete | None]] = {}

    def field(self, parent_type: GraphQLObjectType, node: FieldNode) -> Complete | None:
        """source → the field's completed value, if the field is plain."""
        entry = self._fields.get(id(node))
        if entry is not None and entry[0] is node and entry[1] is parent_type:
            return entry[2]
        built = None if node.directives else self._field(parent_type, node)
        if len(self._fields) >= self.max_plans:
            self._fields.clear()
        self._fields[id(node)] = (node, parent_type, built)
        return built

    def value(self, output_type: GraphQLOutputType, node: FieldNode) -> Complete | None:
        """resolved value → its completion, if values of this type selected by this node are plain
        (whatever the field's resolver: the value is already resolved)."""
        key = (id(node), id(output_type))
        entry = self._values.get(key)
        if entry is not None and entry[0] is node and entry[1] is output_type:
            return entry[2]
        built = None if node.directives else self._value(output_type, node)
        if len(self._values) >= self.max_plans:
            self._values.clear()
        self._values[key] = (node, output_type, built)
        return built

    def _object_plan(self, object_type: GraphQLObjectType, node: FieldNode) -> ObjectPlan | None:
        if node.selection_set is None:
            return None
        fields: list[tuple[str, Complete]] = []
        keys: set[str] = set()
        for selection in node.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return None
            key = (selection.alias or selection.name).value
            if key in keys:
                return None
            keys.add(key)
            complete = self._field(object_type, selection)
            if complete is None:
                return None
            fields.append((key, complete))
        return ObjectPlan(tuple(fields))

    def _field(self, parent_type: GraphQLObjectType, node: FieldNode) -> Complete | None:
        name = node.name.value
        if name == _TYPENAME:
            type_name = parent_type.name
            return lambda _source: type_name
        field = parent_type.fields.get(name)
        if field is None or field.args or node.arguments:
            return None
        resolve = _resolver(field)
        value = None if resolve is None else self._value(field.type, node)
        if resolve is None or value is None:
            return None
        return lambda source: value(resolve(source))

    def _value(self, output_type: GraphQLOutputType, node: FieldNode) -> Complete | None:
        """How to complete a resolved value of this type, or None if the type is not plain."""
        if isinstance(output_type, GraphQLNonNull):
            inner = self._value(output_type.of_type, node)
            return None if inner is None else _non_null(inner)
        if isinstance(output_type, GraphQLList):
            item = self._value(output_type.of_type, node)
            return None if item is None else _nullable(_list(item))
        if is_leaf_type(output_type):
            return _nullable(_leaf(output_type.coerce_output_value))  # type: ignore[union-attr]
        if isinstance(output_type, GraphQLObjectType):
            if node.selection_set is None:
                return None
            plan = self._object_plan(output_type, node)
            return None if plan is None else _nullable(_object(plan, output_type.is_type_of))
        return None  # interfaces and unions: the runtime type needs resolving


_BY_SCHEMA: weakref.WeakKeyDictionary[GraphQLSchema, PlainSelections] = weakref.WeakKeyDictionary()


def for_schema(schema: GraphQLSchema) -> PlainSelections:
    """The plain fields of one schema (each app builds its own schema; tests build many)."""
    plans = _BY_SCHEMA.get(schema)
    if plans is None:
        plans = _BY_SCHEMA[schema] = PlainSelections(schema)
    return plans


def _resolver(field: GraphQLField) -> Callable[[Any], Any] | None:
    """source → the field's value, called as Strawberry calls it but without `info`; None if
    the field needs more (info, arguments, an extension, awaiting) than its object."""
    definition = field.extensions.get("strawberry-definition")
    resolve = field.resolve
    if resolve is None or definition is None or definition.extensions:
        return None
    shortcut: Callable[[Any], Any] | None = definition.metadata.get(SHORTCUT)
    if shortcut is not None:
        return None if definition.arguments else shortcut
    if definition.is_async:
        return None
    resolver = definition.base_resolver
    if resolver is None:  # Strawberry's basic field: the attribute, read by its default resolver
        if getattr(resolve, "_is_default", False) is not True:
            return None
        return lambda source: resolve(source, None)
    if resolver.info_parameter or resolver.root_parameter or resolver.parent_parameter or definition.arguments:
        return None
    get_result = definition.get_result
    if resolver.self_parameter:
        return lambda source: get_result(source, None, [source], {})
    return lambda source: get_result(source, None, [], {})


def _non_null(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        completed = inner(value)
        if completed is None:
            raise GiveUp  # graphql-core reports it and nulls the nearest nullable parent
        return completed

    return complete


def _nullable(inner: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if value is None:
            return None
        if value is Undefined or isinstance(value, Exception) or optimized_is_awaitable(value):
            raise GiveUp
        return inner(value)

    return complete


def _leaf(serialize: Callable[[Any], Any]) -> Complete:
    def complete(value: Any) -> Any:
        serialized = serialize(value)  # a refusal raises: the caller gives up on any exception
        if serialized is None or serialized is Undefined:
            raise GiveUp
        return serialized

    return complete


def _list(item: Complete) -> Complete:
    def complete(value: Any) -> Any:
        if not isinstance(value, list | tuple):  # iterables, async ones included: the general way
            raise GiveUp
        return [item(element) for element in value]

    return complete


def _object(plan: ObjectPlan, is_type_of: Callable[[Any, Any], Any] | None) -> Complete:
    if is_type_of is None:
        return plan.complete

    def complete(value: Any) -> Any:
        if is_type_of(value, None) is not True:  # False is graphql-core's error to report
            raise GiveUp
        return plan.complete(value)

    return complete
