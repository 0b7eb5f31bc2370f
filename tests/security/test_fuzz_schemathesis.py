"""Schemathesis in GraphQL mode against the live server with a merchant key.

Every query and mutation of the live schema (read by introspection) gets
generated operations with arbitrary selections and arguments. Each response:
no 5xx, no masked INTERNAL_SERVER_ERROR, every error coded, no stack trace or
SQL. Failures are collected, not raised at the first one, so a run reports
every distinct defect it met.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections import Counter
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.conftest import SIGNUP, ServerProcess
from tests.security.hygiene import leaks

LONG = os.environ.get("NEXUS_CHAOS_LONG") == "1"
# Per operation; 20 operations x 60 = 1,200 by default (issue 8 asks for at least 1,000), 5x under `make chaos`.
EXAMPLES_PER_OPERATION = 300 if LONG else 60
MIN_TOTAL = 1000
_STRING_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


class Fuzzer:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.key = self._signup()
        self.sent: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()
        self.failures: dict[str, str] = {}  # one example per distinct problem
        self.signups = 1

    def _signup(self) -> str:
        variables = {"input": {"name": "Fuzz", "email": f"{uuid.uuid4().hex[:8]}@fuzz.test"}}
        body = self.http.post("/graphql", json={"query": SIGNUP, "variables": variables}).json()
        return str(body["data"]["signupMerchant"]["secretKey"])

    def send(self, label: str, query: str) -> None:
        self.sent[label] += 1
        response = self.http.post("/graphql", json={"query": query}, headers={"authorization": f"Bearer {self.key}"})
        problem = self._problem(response, query)
        if problem and problem not in self.failures:
            self.failures[problem] = f"{label}: {query[:400]}\n-> {response.status_code} {response.text[:400]}"
        if "UNAUTHENTICATED" in self.codes_of(response):
            # A generated rollApiKey revoked our key: carry on as a new merchant.
            self.key = self._signup()
            self.signups += 1

    def codes_of(self, response: httpx.Response) -> list[str]:
        try:
            body = response.json()
        except json.JSONDecodeError:
            return []
        codes = [str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []]
        self.codes.update(codes)
        return codes

    def _problem(self, response: httpx.Response, query: str) -> str | None:
        if response.status_code >= 500:
            return f"HTTP {response.status_code}"
        text = response.text
        for literal in sorted(_STRING_LITERAL.findall(query), key=len, reverse=True):
            if len(literal) >= 4:
                text = text.replace(literal, "")
        found = leaks(text)
        if found:
            return f"leak {found[0]}"
        try:
            body = response.json()
        except json.JSONDecodeError:
            return "not JSON"
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if not code:
                return f"uncoded error {error.get('message', '')[:60]}"
            if code == "INTERNAL_SERVER_ERROR":
                return f"INTERNAL_SERVER_ERROR at {error.get('path')}"
        return None


def _fuzz_one(fuzzer: Fuzzer, operation: Any) -> None:
    label = operation.label

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def run(case: Any) -> None:
        fuzzer.send(label, str(case.body))

    run()


def test_generated_operations_are_answered_cleanly(live_server: ServerProcess) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        fuzzer = Fuzzer(http)
        introspection = http.post(
            "/graphql",
            json={"query": _INTROSPECTION},
            headers={"authorization": f"Bearer {fuzzer.key}"},
        ).json()["data"]
        schema = schemathesis.graphql.from_dict(introspection)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 20, [op.label for op in operations]

        for operation in operations:
            _fuzz_one(fuzzer, operation)
    total = sum(fuzzer.sent.values())
    print(f"\nfuzzed {total} operations over {len(fuzzer.sent)} fields; codes {dict(fuzzer.codes)}")
    assert fuzzer.failures == {}, "\n\n".join(fuzzer.failures.values())
    assert total >= MIN_TOTAL, dict(fuzzer.sent)


_INTROSPECTION = """
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name
  fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name } } } } } } }
}"""
