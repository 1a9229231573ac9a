"""Every exercise stub in a notebook has the signature of its worked solution.

For each ``check("NN.name", fn)`` in ``notebooks/NN_*.py`` the stub ``def fn(...)`` defined
before it must take the same parameters as the registered solution: the same names, kinds
and defaults (as Neuromatch's ``verify_exercises`` checks). Notebooks are discovered, so a
new chapter is covered without editing this file.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from fmbook.exercises import all_exercises, get

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.py"))
_ID = re.compile(r"^\d\d\.\w+$")
_NO_DEFAULT = "<no default>"


def _is_exercise_check(func: ast.expr) -> bool:
    """``check(...)`` or ``exercises.check(...)`` (not ``ch.check``, the chapter's result check)."""
    if isinstance(func, ast.Name):
        return func.id == "check"
    return (isinstance(func, ast.Attribute) and func.attr == "check"
            and isinstance(func.value, ast.Name) and func.value.id == "exercises")


def _exercise_calls(tree: ast.Module) -> list[tuple[str, str, int]]:
    """``(exercise id, name of the function checked, line)`` for each ``check("NN.name", fn)``."""
    calls = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and _is_exercise_check(node.func)
                and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str) and _ID.match(node.args[0].value)
                and isinstance(node.args[1], ast.Name)):
            calls.append((node.args[0].value, node.args[1].id, node.lineno))
    return calls


def _stub(tree: ast.Module, name: str, before: int) -> ast.FunctionDef | None:
    """The last top-level ``def name`` above line ``before`` (the one ``check`` receives)."""
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name and n.lineno < before]
    return defs[-1] if defs else None


def _default_of(node: ast.expr | None):
    if node is None:
        return _NO_DEFAULT
    try:
        return ast.literal_eval(node)
    except ValueError:
        return f"<expression {ast.unparse(node)}>"


def _stub_parameters(fn: ast.FunctionDef) -> list[tuple[str, str, object]]:
    """(name, kind, default) of each parameter of a ``def``, read from its source."""
    a = fn.args
    positional = a.posonlyargs + a.args
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    params = [(p.arg, "POSITIONAL_ONLY" if p in a.posonlyargs else "POSITIONAL_OR_KEYWORD", _default_of(d))
              for p, d in zip(positional, defaults)]
    if a.vararg:
        params.append((a.vararg.arg, "VAR_POSITIONAL", _NO_DEFAULT))
    params += [(p.arg, "KEYWORD_ONLY", _default_of(d)) for p, d in zip(a.kwonlyargs, a.kw_defaults)]
    if a.kwarg:
        params.append((a.kwarg.arg, "VAR_KEYWORD", _NO_DEFAULT))
    return params


def _solution_parameters(solution) -> list[tuple[str, str, object]]:
    return [(p.name, p.kind.name, _NO_DEFAULT if p.default is inspect.Parameter.empty else p.default)
            for p in inspect.signature(solution).parameters.values()]


def _cases() -> list:
    cases = []
    for path in NOTEBOOKS:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for exercise_id, name, line in _exercise_calls(tree):
            cases.append(pytest.param(path, tree, exercise_id, name, line, id=exercise_id))
    return cases


CASES = _cases()


def test_the_notebooks_have_exercises_to_compare():
    assert {case.values[2][:2] for case in CASES} >= {"00", "01", "05"}


def test_every_exercise_id_names_the_chapter_of_its_notebook():
    wrong = [f"{case.values[0].name}: {case.values[2]}" for case in CASES
             if case.values[2][:2] != case.values[0].name[:2]]
    assert not wrong


def test_every_exercise_is_offered_in_its_notebook():
    offered = {case.values[2] for case in CASES}
    missing = [ex.id for ex in all_exercises() if ex.id not in offered]
    assert not missing, f"exercises registered but never checked in a notebook: {missing}"


@pytest.mark.parametrize("path, tree, exercise_id, name, line", CASES)
def test_notebook_stub_has_the_signature_of_the_solution(path, tree, exercise_id, name, line):
    stub = _stub(tree, name, line)
    assert stub is not None, f"{path.name}:{line}: check({exercise_id!r}, {name}) but no `def {name}` above it"
    want = _solution_parameters(get(exercise_id).solution)
    got = _stub_parameters(stub)
    assert got == want, (f"{path.name}:{stub.lineno}: the stub {name}({ast.unparse(stub.args)}) "
                         f"differs from the solution of {exercise_id}: (name, kind, default) "
                         f"stub {got} vs solution {want}")


@pytest.mark.parametrize("path, tree, exercise_id, name, line", CASES)
def test_notebook_stub_is_not_yet_attempted(path, tree, exercise_id, name, line):
    stub = _stub(tree, name, line)
    assert stub is not None
    raises = [n for n in ast.walk(stub) if isinstance(n, ast.Raise)]
    assert any(isinstance(r.exc, (ast.Name, ast.Call)) and "NotImplementedError" in ast.unparse(r.exc)
               for r in raises), f"{path.name}:{stub.lineno}: the stub {name} should raise NotImplementedError"
