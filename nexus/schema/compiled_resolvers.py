"""Strawberry's resolver wrapper, with the conversion of arguments decided once per field.

Why: for every call of a field with a resolver, Strawberry converts graphql-core's argument
values into Python ones (`convert_arguments`) by re-deciding, value by value, what each
argument's type is: Maybe or Optional, leaf or list, enum, lazy, input object; each input
field's GraphQL name is re-derived from its Python name. That was ~7.5 % of the API CPU of a
createPaymentIntent (bench/README.md). The type of every argument is known when the schema is
built, so the decision is made once here, into a function per argument.

What is installed, on every field of the query and mutation types and of every object type
whose Strawberry definition has a resolver and no field extension, in a schema with no
exception handlers: a resolve function that does what Strawberry's does (the Info object,
`self`/root/parent/info passed as the resolver asks, its result awaited when it is async)
and converts the arguments with the compiled converter. A field with an argument type not
compiled here (Maybe, GlobalID, an input type with its own `from_input`) keeps Strawberry's
resolver untouched. tests/unit/test_compiled_resolvers.py compares both conversions on
generated values for every argument of the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import MISSING
from typing import Any

import strawberry
from graphql import GraphQLField, GraphQLObjectType, GraphQLResolveInfo
from strawberry.scalars import is_scalar
from strawberry.types.arguments import StrawberryArgument
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.field import StrawberryField
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET
from strawberry.utils.await_maybe import await_maybe

Convert = Callable[[Any], Any]
Arguments = Callable[[dict[str, Any]], dict[str, Any]]


class NotCompiled(Exception):
    """An argument type this module leaves to Strawberry's own conversion."""


class ArgumentCompiler:
    def __init__(self, schema: strawberry.Schema) -> None:
        self.registry = schema.schema_converter.scalar_registry
        self.names = schema.config.name_converter
        self._inputs: dict[type, Convert] = {}

    def arguments(self, arguments: list[StrawberryArgument]) -> Arguments:
        """graphql-core's argument values → the resolver's keyword arguments, as `convert_arguments`."""
        plan: list[tuple[str, str, Convert]] = []
        for argument in arguments:
            assert argument.python_name
            plan.append((self.names.from_argument(argument), argument.python_name, self.value(argument.type)))

        def convert(values: dict[str, Any]) -> dict[str, Any]:
            return {python: to_python(values[name]) for name, python, to_python in plan if name in values}

        return convert

    def value(self, type_: Any) -> Convert:
        """One value of this type, as `convert_argument` converts it."""
        if isinstance(type_, StrawberryMaybe):
            raise NotCompiled("Maybe wraps values in Some and refuses nulls by its own rules")
        if isinstance(type_, StrawberryOptional):
            return self.value(type_.of_type)
        if isinstance(type_, LazyType):
            return self.value(type_.resolve_type())
        if isinstance(type_, StrawberryList):
            return _nullable(self._list(type_))
        if self._leaf(type_) or has_enum_definition(type_):
            return _nullable(_same)  # graphql-core has already parsed scalars and enums
        if has_object_definition(type_):
            return _nullable(self._input(type_))
        raise NotCompiled(f"{type_!r}")

    def _leaf(self, type_: Any) -> bool:
        if type_ is strawberry.relay.GlobalID:
            raise NotCompiled("GlobalID is decoded from its text")
        return bool(is_scalar(type_, self.registry)) or isinstance(type_, StrawberryEnumDefinition)

    def _list(self, type_: StrawberryList) -> Convert:
        item = type_.of_type
        leaf_items = item.of_type if isinstance(item, StrawberryOptional) else item
        if isinstance(leaf_items, LazyType):
            leaf_items = leaf_items.resolve_type()
        if leaf_items is not strawberry.relay.GlobalID and self._leaf(leaf_items):
            # Copied, not converted: graphql-core gives one default list to every request.
            return list
        to_python = self.value(item)
        return lambda values: [to_python(value) for value in values]

    def _input(self, type_: Any) -> Convert:
        known = self._inputs.get(type_)
        if known is not None:
            return known
        definition = type_.__strawberry_definition__
        if definition.from_input is not None:
            raise NotCompiled(f"{type_.__name__} builds its own value")
        fields: list[tuple[str, str, Convert]] = []
        defaults: dict[str, None] = {}

        def convert(values: Mapping[str, Any]) -> Any:
            kwargs: dict[str, Any] = dict(defaults)
            for name, python, to_python in fields:
                if name in values:
                    kwargs[python] = to_python(values[name])
            return type_(**kwargs)

        self._inputs[type_] = convert  # before the fields: an input type may contain itself
        try:
            if definition.is_input:
                # Strawberry's implicit None for input fields without a default.
                defaults.update(
                    (field.python_name, None)
                    for field in definition.fields
                    if field.default_value is MISSING and field.default_factory is MISSING
                )
            for field in definition.fields:
                field_type = field.resolve_type(type_definition=definition)
                fields.append((self.names.from_field(field), field.python_name, self.value(field_type)))
        except NotCompiled:
            del self._inputs[type_]
            raise
        return convert


def _same(value: Any) -> Any:
    return value


def _nullable(convert: Convert) -> Convert:
    def checked(value: Any) -> Any:
        if value is None or value is UNSET:
            return value
        return convert(value)

    return checked


def install(schema: strawberry.Schema) -> int:
    """Put compiled resolvers on the schema's fields; returns how many were installed."""
    if schema.schema_converter.exception_handlers:
        return 0  # Strawberry's wrapper routes exceptions to them
    compiler = ArgumentCompiler(schema)
    subscription = schema._schema.subscription_type
    installed = 0
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type is subscription:
            continue
        if graphql_type.name.startswith("__"):
            continue
        for field in graphql_type.fields.values():
            resolve = _compiled(schema, compiler, field)
            if resolve is not None:
                field.resolve = resolve
                installed += 1
    return installed


def _compiled(schema: strawberry.Schema, compiler: ArgumentCompiler, field: GraphQLField) -> Callable[..., Any] | None:
    definition = field.extensions.get("strawberry-definition")
    if not isinstance(definition, StrawberryField) or definition.base_resolver is None or definition.extensions:
        return None
    try:
        arguments = compiler.arguments(definition.arguments)
    except NotCompiled:
        return None
    resolver = definition.base_resolver
    info_class = schema.config.info_class
    takes_self = resolver.self_parameter is not None
    source_names = [p.name for p in (resolver.root_parameter, resolver.parent_parameter) if p is not None]
    info_name = resolver.info_parameter.name if resolver.info_parameter is not None else None
    get_result = definition.get_result

    def resolve(source: Any, info: GraphQLResolveInfo[Any], **values: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=definition)
        kwargs = arguments(values)
        for name in source_names:
            kwargs[name] = source
        if info_name is not None:
            kwargs[info_name] = strawberry_info
        return get_result(source, info=strawberry_info, args=[source] if takes_self else [], kwargs=kwargs)

    if not definition.is_async:
        resolve._is_default = False  # type: ignore[attr-defined]  # as Strawberry marks its own
        return resolve

    async def resolve_async(source: Any, info: GraphQLResolveInfo[Any], **values: Any) -> Any:
        return await await_maybe(resolve(source, info, **values))

    resolve_async._is_default = False  # type: ignore[attr-defined]
    return resolve_async
