"""The domain layer stays pure: no framework, driver or I/O library imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nexus.domain

FORBIDDEN = frozenset({"sqlalchemy", "strawberry", "starlette", "httpx", "asyncpg", "pydantic", "uvicorn"})
DOMAIN_DIR = Path(nexus.domain.__file__).parent
MODULES = sorted(DOMAIN_DIR.rglob("*.py"))


def imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_walk_finds_the_domain_modules() -> None:
    names = {path.stem for path in MODULES}
    assert {"errors", "money", "status", "payment_intent", "bank", "idempotency", "events"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_domain_module_imports_no_framework(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    assert imported_roots(tree).isdisjoint(FORBIDDEN), f"{path.name} imports a framework"


def test_the_checker_sees_every_import_form() -> None:
    source = "import httpx\nimport a.b as c\nfrom sqlalchemy.orm import Session\nfrom . import money\n"
    assert imported_roots(ast.parse(source)) == {"httpx", "a", "sqlalchemy"}
