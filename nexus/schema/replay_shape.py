"""Which GraphQL documents' replays are a pure function of the finished idempotency key.

Pure: no I/O. `replay_shape` says whether a request body qualifies (one mutation
operation, one keyed root field, only fields fixed for a finished key selected, no
directives) and `answer_is_replay` whether an answer to it was a clean replay; the
store and the HTTP path that use them are in `replay_responses`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    parse,
)

# A field name → None for a leaf, or the fields allowed under it.
Allowed = Mapping[str, "Allowed | None"]

_LEAVES: Final = None
FIXED_USER_ERROR: Final[Allowed] = dict.fromkeys(("code", "field", "message", "__typename"), _LEAVES)
# PaymentIntent fields answered from the stored snapshot; `clientSecret` is read from the row but never
# changes for an intent (and depends only on the caller's key, part of the cache key).
FIXED_INTENT: Final[Allowed] = {
    **dict.fromkeys(
        (
            "__typename",
            "id",
            "amount",
            "currency",
            "status",
            "captureMethod",
            "amountCapturable",
            "amountReceived",
            "amountRefunded",
            "clientSecret",
            "description",
            "metadata",
            "cancellationReason",
            "version",
            "createdAt",
            "updatedAt",
        ),
        _LEAVES,
    ),
    "lastPaymentError": dict.fromkeys(("code", "declineCode", "message", "__typename"), _LEAVES),
}
FIXED_REFUND: Final[Allowed] = dict.fromkeys(
    ("__typename", "id", "amount", "currency", "reason", "status", "createdAt", "paymentIntentId"), _LEAVES
)
FIXED_INTENT_PAYLOAD: Final[Allowed] = {
    "__typename": _LEAVES,
    "idempotentReplayed": _LEAVES,
    "userErrors": FIXED_USER_ERROR,
    "paymentIntent": FIXED_INTENT,
}
# Mutations whose replay returns the stored idempotent response unchanged (run_once). Not
# processPaymentIntent: its repeats wait for an in-flight attempt or resume a crashed one
# (processing.py), paths worth keeping on the one full code path; a payment is retried after a
# timeout, not stormed like a create.
KEYED_MUTATIONS: Final[Mapping[str, Allowed]] = {
    "createPaymentIntent": FIXED_INTENT_PAYLOAD,
    "capturePaymentIntent": FIXED_INTENT_PAYLOAD,
    "cancelPaymentIntent": FIXED_INTENT_PAYLOAD,
    "refundPaymentIntent": {**FIXED_INTENT_PAYLOAD, "refund": FIXED_REFUND},
}
KEY_ARGUMENT: Final = "idempotencyKey"


@dataclass(frozen=True)
class ReplayShape:
    """What a cacheable document reads: its root field's response key and where the flags are."""

    root_key: str
    replayed_keys: tuple[str, ...]
    user_error_keys: tuple[str, ...]
    idempotency_key: str


def answer_is_replay(body: bytes, shape: ReplayShape) -> bool:
    """Data only, the one root field, every `idempotentReplayed` true and every `userErrors` empty."""
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    if not isinstance(answer, dict) or set(answer) != {"data"} or not isinstance(answer["data"], dict):
        return False
    data = answer["data"]
    payload = data.get(shape.root_key)
    if set(data) != {shape.root_key} or not isinstance(payload, dict):
        return False
    return all(payload.get(k) is True for k in shape.replayed_keys) and all(
        payload.get(k) == [] for k in shape.user_error_keys
    )


def replay_shape(body: bytes) -> ReplayShape | None:
    """The document's shape if it is cacheable (see the module's invariants), else None."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    if not isinstance(request, dict) or not isinstance(request.get("query"), str):
        return None
    variables = request.get("variables") or {}
    if not isinstance(variables, dict):
        return None
    try:
        document = parse(request["query"])
    except GraphQLError:
        return None
    return _shape(document, variables)


def _shape(document: DocumentNode, variables: Mapping[str, Any]) -> ReplayShape | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if len(operations) != 1 or len(document.definitions) != 1 + len(fragments):
        return None
    operation = operations[0]
    if operation.operation is not OperationType.MUTATION or operation.directives:
        return None
    roots = operation.selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode) or roots[0].directives:
        return None
    root = roots[0]
    allowed = KEYED_MUTATIONS.get(root.name.value)
    if allowed is None or root.selection_set is None:
        return None
    key = _argument_string(root, KEY_ARGUMENT, variables)
    payload = _flatten(root.selection_set, fragments, set())
    if key is None or payload is None or not _reads_only(payload, allowed, fragments):
        return None
    replayed = tuple(_response_key(f) for f in payload if f.name.value == "idempotentReplayed")
    user_errors = tuple(_response_key(f) for f in payload if f.name.value == "userErrors")
    if not replayed or not user_errors:
        return None
    return ReplayShape(_response_key(root), replayed, user_errors, key)


def _argument_string(field: FieldNode, name: str, variables: Mapping[str, Any]) -> str | None:
    for argument in field.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        if isinstance(value, StringValueNode):
            return value.value
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)  # a default value instead: not cached (rare)
            return given if isinstance(given, str) else None
    return None


def _flatten(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode], visiting: set[str]
) -> list[FieldNode] | None:
    """The fields a selection set reads, fragments inlined; None for directives or unknown fragments."""
    fields: list[FieldNode] = []
    for selection in selection_set.selections:
        if selection.directives:
            return None
        if isinstance(selection, FieldNode):
            fields.append(selection)
            continue
        if isinstance(selection, InlineFragmentNode):
            inner = _flatten(selection.selection_set, fragments, visiting)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting or fragment.directives:
                return None
            inner = _flatten(fragment.selection_set, fragments, visiting | {name})
        else:
            return None
        if inner is None:
            return None
        fields.extend(inner)
    return fields


def _reads_only(fields: list[FieldNode], allowed: Allowed, fragments: Mapping[str, FragmentDefinitionNode]) -> bool:
    for field in fields:
        name = field.name.value
        if name not in allowed or field.arguments:
            return False
        inner = allowed[name]
        if inner is None:
            if field.selection_set is not None:
                return False
            continue
        if field.selection_set is None:
            return False
        selected = _flatten(field.selection_set, fragments, set())
        if selected is None or not _reads_only(selected, inner, fragments):
            return False
    return True


def _response_key(field: FieldNode) -> str:
    return field.alias.value if field.alias is not None else field.name.value
