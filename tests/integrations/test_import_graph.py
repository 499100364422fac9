"""Imports stay one-way: the catalogue and integrations packages never import cardpay.admin or cardpay.jobs."""

import ast
from pathlib import Path

import pytest

CARDPAY = Path(__file__).resolve().parents[2] / "cardpay"
FORBIDDEN = ("cardpay.admin", "cardpay.jobs")


def imported_modules(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


@pytest.mark.parametrize("package", ["catalogue", "integrations"])
def test_the_package_imports_neither_admin_nor_jobs(package):
    files = sorted((CARDPAY / package).rglob("*.py"))
    assert files
    offending = [f"{path.relative_to(CARDPAY)} imports {name}" for path in files for name in imported_modules(path)
                 if name.startswith(FORBIDDEN) and name.split(".")[:2] in (["cardpay", "admin"], ["cardpay", "jobs"])]
    assert offending == []
