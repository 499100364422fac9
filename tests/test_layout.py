"""The shape of the code (docs/architecture.md): imports between packages run one way, nothing imports
admin or jobs, no package cycle, and no module grows past 300 lines."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cardpay"
TOP_ONLY = {"admin", "jobs"}  # the app factory may import them; nothing else may
MAX_LINES = 300


def _unit(path):
    """The behaviour a module belongs to: its first folder under cardpay/, or its own name at the top."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0] if parts[0] != "__init__" else "__init__"


def _imported_units(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "cardpay" and len(parts) > 1 and (PACKAGE / parts[1]).exists() or (
                    parts[0] == "cardpay" and len(parts) > 1 and (PACKAGE / f"{parts[1]}.py").exists()):
                found.add(parts[1])
    return found


def _graph():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        unit = _unit(path)
        graph.setdefault(unit, set()).update(_imported_units(path) - {unit})
    return graph


def test_nothing_but_the_app_factory_imports_admin_or_jobs():
    offenders = sorted(f"{unit} imports {target}" for unit, targets in _graph().items() if unit != "__init__"
                       for target in targets & TOP_ONLY)
    assert offenders == []


def test_the_packages_import_each_other_without_a_cycle():
    graph = {unit: targets - {"__init__"} for unit, targets in _graph().items() if unit != "__init__"}
    state, cycles = {}, []

    def visit(unit, trail):
        state[unit] = "open"
        for target in sorted(graph.get(unit, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(trail[trail.index(target):] + [target]))
            elif target not in state:
                visit(target, trail + [target])
        state[unit] = "done"

    for unit in sorted(graph):
        if unit not in state:
            visit(unit, [unit])
    assert cycles == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_is_small_and_says_what_lives_there(path):
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_LINES
    assert ast.get_docstring(ast.parse(text)) or not text.strip(), "a module starts with a docstring"


def test_the_import_check_sees_a_cycle_when_there_is_one(tmp_path):
    """The checks above can fail: a package importing admin is reported."""
    (tmp_path / "payments").mkdir()
    (tmp_path / "admin").mkdir()
    (tmp_path / "payments" / "x.py").write_text('"""x."""\nfrom cardpay.admin import y\n')
    (tmp_path / "admin" / "y.py").write_text('"""y."""\nfrom cardpay.payments import x\n')
    globals()["PACKAGE"], saved = tmp_path, PACKAGE
    try:
        graph = _graph()
    finally:
        globals()["PACKAGE"] = saved
    assert graph["payments"] == {"admin"} and graph["admin"] == {"payments"}
