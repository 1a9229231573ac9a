"""The student and instructor editions (fmbook.editions) and the withheld answers they rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from fmbook.editions import (STUB_COMMENT, _stub_module_source, build_instructor, build_student, normalise,
                             solution_body)
from fmbook.exercises import all_exercises, solution_source
from fmbook.exercises.withheld import Unsupported, decode, encode, fingerprint
from fmbook.notebook import chapters

ROOT = Path(__file__).resolve().parents[1]


# --- the answer table -------------------------------------------------------------------------------

def test_encode_then_decode_gives_back_numbers_arrays_and_containers():
    value = {"a": (1, 2.5, np.arange(6, dtype=np.float32).reshape(2, 3)), "b": [None, True, "x"], "c": np.int64(3)}
    back = decode(json.loads(json.dumps(encode(value))))
    assert back["a"][0] == 1 and back["a"][1] == 2.5 and isinstance(back["a"], tuple)
    np.testing.assert_array_equal(back["a"][2], value["a"][2])
    assert back["a"][2].dtype == np.float32 and back["b"] == [None, True, "x"] and back["c"] == 3


def test_encode_then_decode_gives_back_a_tensor():
    torch = pytest.importorskip("torch")
    t = torch.linspace(0, 1, 5)
    back = decode(json.loads(json.dumps(encode(t))))
    assert isinstance(back, torch.Tensor) and torch.equal(back, t)


def test_encode_refuses_what_it_cannot_store():
    with pytest.raises(Unsupported):
        encode(object())


def test_fingerprint_ignores_the_last_bits_of_a_float_but_not_a_different_value():
    x = np.linspace(1, 2, 7)
    assert fingerprint({"x": x}) == fingerprint({"x": x * (1 + 1e-12)})
    assert fingerprint({"x": x}) != fingerprint({"x": x + 1e-3})


def test_fingerprint_tells_arguments_apart_by_name_shape_and_type():
    assert fingerprint({"a": 1}) != fingerprint({"b": 1})
    assert fingerprint({"a": np.zeros(4)}) != fingerprint({"a": np.zeros((2, 2))})
    assert fingerprint({"a": 1}) != fingerprint({"a": 1.0})


def test_fingerprint_of_a_function_follows_its_code():
    assert fingerprint({"f": lambda v: v + 1}) == fingerprint({"f": lambda v: v + 1})
    assert fingerprint({"f": lambda v: v + 1}) != fingerprint({"f": lambda v: v + 2})


def test_fingerprint_of_a_torch_module_follows_its_weights():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 2)
    torch.manual_seed(0)
    b = torch.nn.Linear(3, 2)
    assert fingerprint({"m": a}) == fingerprint({"m": b})
    with torch.no_grad():
        b.weight += 1
    assert fingerprint({"m": a}) != fingerprint({"m": b})


# --- rewriting a module -----------------------------------------------------------------------------

def test_stub_keeps_the_signature_and_drops_the_body(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent('''\
        import numpy as np


        def _solution(x: np.ndarray, k: int = 2) -> float:
            """Docstring."""
            secret = np.sort(x)[-k:]
            return float(secret.sum())


        def _other(y):
            return y
        '''))

    def _solution(x, k=2):
        pass

    _solution.__module__ = "mod"
    text = _stub_module_source(path, [_solution])
    assert "def _solution(x: np.ndarray, k: int = 2) -> float:" in text
    assert "secret" not in text and STUB_COMMENT in text
    assert "return _withheld_answer('mod:_solution', locals())" in text
    assert "_solution.withheld = True" in text and "def _other(y):\n    return y" in text
    compile(text, "mod.py", "exec")


def test_normalise_ignores_indentation_blank_lines_and_comments():
    assert normalise("    a = 1\n\n    # note\n    b  =  2\n") == "a = 1\nb = 2"


# --- the editions, built once -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def student(tmp_path_factory):
    return build_student(tmp_path_factory.mktemp("editions") / "student", ROOT)


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    return build_instructor(tmp_path_factory.mktemp("editions") / "instructor", ROOT)


def _text_files(folder: Path):
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".ipynb", ".md", ".json", ".toml", ".txt", ".yml"):
            yield path


def test_student_edition_contains_no_solution_source(student):
    bodies = {ex.id: normalise(solution_body(ex.solution)) for ex in all_exercises()}
    assert bodies, "no exercises found"
    found = []
    for path in _text_files(student["dest"]):
        text = normalise(path.read_text())
        found += [f"{ex_id} in {path.relative_to(student['dest'])}" for ex_id, body in bodies.items() if body in text]
    assert not found, f"solution source in the student edition: {found}"


def test_student_edition_has_every_chapter_without_outputs(student):
    names = [p.name for p in chapters(ROOT / "notebooks")]
    assert student["notebooks"] == names
    for name in names:
        nb = nbformat.read(str(student["dest"] / "notebooks" / name), as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


_LEARNER = textwrap.dedent('''
    import importlib, io, json, sys, contextlib
    from fmbook.exercises import all_exercises, check, show_solution
    sources = json.loads(sys.stdin.read())
    report = {}
    for ex in all_exercises():
        module = importlib.import_module(ex.solution.__module__)
        namespace = dict(vars(module))
        exec(sources[ex.id], namespace)          # the learner types in the right answer
        right = bool(check(ex.id, namespace[ex.solution.__name__], quiet=True))
        wrong = bool(check(ex.id, lambda *a, **k: None, quiet=True))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            show_solution(ex.id)
        report[ex.id] = [right, wrong, out.getvalue(), ex.solution.__code__.co_filename]
    print(json.dumps(report))
''')


@pytest.fixture(scope="module")
def student_checks(student):
    """Every exercise of the student edition checked, in a fresh interpreter that imports its package."""
    sources = {ex.id: solution_source(ex.id) for ex in all_exercises()}
    env = dict(os.environ, PYTHONPATH=str(student["dest"]), FMBOOK_PROFILE="smoke")
    run = subprocess.run([sys.executable, "-c", _LEARNER], input=json.dumps(sources), capture_output=True,
                         text=True, env=env, cwd=student["dest"], timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_student_edition_imports_its_own_package(student, student_checks):
    for ex_id, (_, _, _, filename) in student_checks.items():
        assert Path(filename).resolve().is_relative_to(Path(student["dest"]).resolve()), ex_id


def test_student_edition_accepts_right_answers_and_rejects_wrong_ones(student_checks):
    assert {ex_id: (r[0], r[1]) for ex_id, r in student_checks.items()} == \
        {ex_id: (True, False) for ex_id in student_checks}


def test_student_edition_show_solution_points_to_the_instructor_edition(student_checks):
    for ex_id, (_, _, shown, _) in student_checks.items():
        assert "instructor edition" in shown and "def " not in shown, ex_id


def test_instructor_edition_shows_each_solution_under_its_check(instructor):
    assert not instructor["unplaced"], f"exercises no notebook checks: {instructor['unplaced']}"
    for name in instructor["notebooks"]:
        nb = nbformat.read(str(instructor["dest"] / "notebooks" / name), as_version=4)
        for i, cell in enumerate(nb.cells):
            ex_id = cell.metadata.get("fmbook", {}).get("solution")
            if ex_id and cell.source.startswith("```python"):
                assert normalise(solution_source(ex_id)) in normalise(cell.source)
                assert f'check("{ex_id}"' in nb.cells[i - 2].source or f"check('{ex_id}'" in nb.cells[i - 2].source
    shown = sum(1 for name in instructor["notebooks"]
                for c in nbformat.read(str(instructor["dest"] / "notebooks" / name), as_version=4).cells
                if c.metadata.get("fmbook", {}).get("solution") and c.source.startswith("```python"))
    assert shown == len(instructor["placed"]) == len(all_exercises())


def test_solutions_are_used_only_by_checkers():
    """The student edition replaces solutions by recorded answers: a notebook or helper must not call one."""
    import ast
    import sys

    exercises = all_exercises()
    checkers = {(ex.checker.__module__, ex.checker.__name__) for ex in exercises}
    solutions: dict[str, set[str]] = {}
    for ex in exercises:
        solutions.setdefault(ex.solution.__module__, set()).add(ex.solution.__name__)
    misuse = []
    for module, names in solutions.items():
        for node in ast.parse(Path(sys.modules[module].__file__).read_text()).body:
            if isinstance(node, ast.FunctionDef) and (node.name in names or (module, node.name) in checkers):
                continue
            body = node.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else [node]
            used = {n.id for part in body for n in ast.walk(part) if isinstance(n, ast.Name)} & names
            misuse += [f"{module}: {getattr(node, 'name', type(node).__name__)} uses {name}" for name in used]
    for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py")):
        text = nb.read_text()
        for module, names in solutions.items():
            misuse += [f"{nb.name} uses {module}.{name}" for name in names
                       if f"{module}.{name}" in text or f"import {name}" in text or f", {name}" in text]
    assert not misuse, misuse
