"""Student and instructor editions of the book (``make student``, ``make instructor``).

``python -m fmbook.editions student`` writes ``build/student/``: the chapter notebooks and a copy of
the fmbook package in which every worked solution is replaced by a stub (no solution source is
left). The checkers still run: each stub answers from a table of the solution's results on the
checker's own inputs, recorded while the edition is built (see :mod:`fmbook.exercises.withheld`),
and ``show_solution`` says that the solution is in the instructor edition.

``python -m fmbook.editions instructor`` writes ``build/instructor/``: the notebooks with each
exercise's worked solution shown under the cell that checks it, and the full package.

Both work from the exercise registry (:func:`fmbook.exercises.all_exercises`), not from file
names: a solution is the function given as ``solution=`` to ``@exercise``, wherever it lives.
Run an edition with its own package first on the path, for example
``cd build/student && PYTHONPATH=$PWD jupyter lab notebooks/``.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .notebook import chapters

PACKAGE = Path(__file__).resolve().parent
STUB_COMMENT = "# The worked solution is in the instructor edition; this edition answers from recorded results."


class EditionError(RuntimeError):
    """An edition cannot be built; the message names the exercise and what to change."""


def solution_body(fn: Callable[..., Any]) -> str:
    """The statements of a solution function (its body without the ``def`` line), dedented."""
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    if not isinstance(node, ast.FunctionDef):
        raise EditionError(f"{fn.__qualname__} is not a plain function (a lambda or a class?)")
    body = node.body
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str) and len(body) > 1):
        body = body[1:]  # the docstring is not the solution
    lines = source.splitlines()
    return textwrap.dedent("\n".join(lines[body[0].lineno - 1:node.end_lineno]))


def normalise(text: str) -> str:
    """Code reduced to its significant lines, stripped (for a search that ignores layout)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(re.sub(r"\s+", " ", line))
    return "\n".join(out)


def _solutions() -> dict[Callable[..., Any], list[str]]:
    """Every distinct solution function and the ids of the exercises it solves."""
    from .exercises import all_exercises

    found: dict[Callable[..., Any], list[str]] = {}
    for ex in all_exercises():
        found.setdefault(ex.solution, []).append(ex.id)
    return found


def _key(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__name__}"


def _module_of(fn: Callable[..., Any]):
    module = sys.modules[fn.__module__]
    if getattr(module, fn.__name__, None) is not fn or fn.__qualname__ != fn.__name__:
        raise EditionError(f"the solution {fn.__qualname__} of {fn.__module__} must be a module-level function "
                           "under its own name, so that the student edition can replace it")
    return module


def record_answers() -> dict[str, dict[str, Any]]:
    """Run every checker on its worked solution and record each call the checkers make to a solution.

    Then check that the recorded table alone passes every checker (as the student edition will).

    Returns
    -------
    dict
        ``{"module:name": {fingerprint: encoded result}}``.

    Raises
    ------
    EditionError
        When a checker rejects its own solution, calls a solution on inputs that change from run to run,
        or a solution takes or returns a value the table cannot hold.
    """
    from .exercises import Hint, all_exercises
    from .exercises.withheld import Unsupported, decode, encode, fingerprint

    solutions = _solutions()
    table: dict[str, dict[str, Any]] = {_key(fn): {} for fn in solutions}
    originals = {fn: _module_of(fn) for fn in solutions}

    def recorder(fn):
        sig = inspect.signature(fn)

        def wrapper(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            try:
                key = fingerprint(bound.arguments)
            except Unsupported as exc:
                raise EditionError(f"{_key(fn)}: {exc} among its arguments") from None
            result = fn(*args, **kwargs)
            try:
                table[_key(fn)][key] = encode(result)
            except Unsupported as exc:
                raise EditionError(f"{_key(fn)}: {exc}") from None
            return result
        return wrapper

    def replayer(fn):
        sig = inspect.signature(fn)
        answers = table[_key(fn)]

        def replay(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            found = answers.get(fingerprint(bound.arguments))
            if found is None:
                raise Hint("not recorded")
            return decode(json.loads(json.dumps(found)))
        return replay

    def run_all(wrap) -> None:
        for fn, module in originals.items():
            setattr(module, fn.__name__, wrap(fn))
        try:
            for ex in all_exercises():
                try:
                    ex.checker(ex.solution)
                except Hint as exc:
                    raise EditionError(f"exercise {ex.id}: its checker rejects its worked solution "
                                       f"({wrap.__name__}): {exc}. When recording, this is a bug in the exercise; "
                                       "when replaying, the checker calls its solution on inputs that change from "
                                       "run to run: seed them") from None
        finally:
            for fn, module in originals.items():
                setattr(module, fn.__name__, fn)

    run_all(recorder)
    run_all(replayer)
    return table


def _stub_module_source(path: Path, functions: list[Callable[..., Any]]) -> str:
    """The source of ``path`` with each function in ``functions`` reduced to an answer-table stub."""
    source = path.read_text()
    lines = source.splitlines(keepends=True)
    tree = ast.parse(source)
    by_name = {fn.__name__: fn for fn in functions}
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in by_name]
    if len(nodes) != len(by_name):
        missing = set(by_name) - {n.name for n in nodes}
        raise EditionError(f"{path}: no module-level def of {', '.join(sorted(missing))}")
    for node in sorted(nodes, key=lambda n: n.lineno, reverse=True):
        fn = by_name[node.name]
        first = node.body[0]
        header = "".join(lines[node.lineno - 1:first.lineno - 1])
        if first.lineno == node.lineno:  # a one-line function: cut at the body's column
            header = lines[node.lineno - 1][:first.col_offset]
        header = header.rstrip() + "\n"
        indent = " " * (node.col_offset + 4)
        stub = (f"{header}{indent}{STUB_COMMENT}\n"
                f"{indent}return _withheld_answer({_key(fn)!r}, locals())\n\n\n"
                f"{node.name}.withheld = True\n")
        start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
        decorators = "".join(lines[start:node.lineno - 1])
        lines[start:node.end_lineno] = [decorators + stub]
    text = "".join(lines)
    return text.rstrip("\n") + "\n\nfrom fmbook.exercises.withheld import withheld_answer as _withheld_answer  # noqa: E402\n"


def _copy_tree(root: Path, dest: Path, package: Path) -> None:
    """The notebooks, the package and what they need (pyproject, README, figures) into ``dest``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "withheld_answers.json")
    shutil.copytree(package, dest / "fmbook", ignore=ignore)
    for name in ("pyproject.toml", "README.md", "requirements-lock.txt"):
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)
    if (root / "figures").is_dir():
        shutil.copytree(root / "figures", dest / "figures", ignore=shutil.ignore_patterns("*.py"))
    (dest / "notebooks").mkdir()


def _clean(nb) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def build_student(dest: str | Path = "build/student", root: str | Path = ".") -> dict:
    """Write the student edition into ``dest``; returns ``{"dest", "solutions", "notebooks"}``."""
    import nbformat

    root, dest = Path(root), Path(dest)
    table = record_answers()
    solutions = _solutions()
    _copy_tree(root, dest, PACKAGE)
    by_file: dict[Path, list[Callable[..., Any]]] = {}
    for fn in solutions:
        path = Path(inspect.getsourcefile(fn)).resolve()
        if PACKAGE not in path.parents:
            raise EditionError(f"the solution {_key(fn)} lives outside the fmbook package ({path})")
        by_file.setdefault(path, []).append(fn)
    for path, fns in by_file.items():
        (dest / "fmbook" / path.relative_to(PACKAGE)).write_text(_stub_module_source(path, fns))
    (dest / "fmbook" / "exercises" / "withheld_answers.json").write_text(json.dumps(table, sort_keys=True))
    pyproject = dest / "pyproject.toml"
    if pyproject.is_file() and "package-data" not in pyproject.read_text():
        pyproject.write_text(pyproject.read_text() + '\n[tool.setuptools.package-data]\n'
                             'fmbook = ["exercises/withheld_answers.json"]\n')
    notebooks = []
    for src in chapters(root / "notebooks"):
        nb = nbformat.read(str(src), as_version=4)
        _clean(nb)
        nbformat.write(nb, str(dest / "notebooks" / src.name))
        notebooks.append(src.name)
    (dest / "EDITION.md").write_text(
        "# fmbook, student edition\n\nThe notebooks and the fmbook package without the worked solutions of the "
        "exercises: `check` still tells you when an answer is right and `hint` gives hints; `show_solution` "
        "points to the instructor edition.\n\nRun it with this folder's package first on the path:\n\n"
        "```bash\nPYTHONPATH=$PWD FMBOOK_PROFILE=fast jupyter lab notebooks/\n```\n")
    return {"dest": dest, "solutions": [_key(fn) for fn in solutions], "notebooks": notebooks}


_CHECK_CALL = r"""check\(\s*["']{id}["']"""


def solution_cells(ex_id: str, source: str):
    """The two cells shown under exercise ``ex_id`` in the instructor edition."""
    import nbformat

    md = nbformat.v4.new_markdown_cell(
        f"**Solution of exercise {ex_id}** (instructor edition; `show_solution({ex_id!r})` prints it too):")
    code = nbformat.v4.new_markdown_cell(f"```python\n{source.rstrip()}\n```")
    md.metadata["fmbook"] = code.metadata["fmbook"] = {"solution": ex_id}
    return [md, code]


def build_instructor(dest: str | Path = "build/instructor", root: str | Path = ".") -> dict:
    """Write the instructor edition into ``dest``; returns ``{"dest", "placed", "unplaced", "notebooks"}``.

    Each solution goes right under the last cell that calls ``check("<id>", ...)``; exercises that no
    notebook checks are listed in ``unplaced``.
    """
    import nbformat

    from .exercises import all_exercises, solution_source

    root, dest = Path(root), Path(dest)
    exercises = all_exercises()
    _copy_tree(root, dest, PACKAGE)
    placed: list[str] = []
    notebooks = []
    for src in chapters(root / "notebooks"):
        nb = nbformat.read(str(src), as_version=4)
        _clean(nb)
        for ex in exercises:
            pattern = re.compile(_CHECK_CALL.format(id=re.escape(ex.id)))
            where = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and pattern.search(c.source)]
            if where:
                nb.cells[where[-1] + 1:where[-1] + 1] = solution_cells(ex.id, solution_source(ex.id))
                placed.append(ex.id)
        nbformat.write(nb, str(dest / "notebooks" / src.name))
        notebooks.append(src.name)
    (dest / "EDITION.md").write_text(
        "# fmbook, instructor edition\n\nThe notebooks with each exercise's worked solution shown under the cell "
        "that checks it, and the full fmbook package.\n\n```bash\nPYTHONPATH=$PWD jupyter lab notebooks/\n```\n")
    unplaced = sorted({ex.id for ex in exercises} - set(placed))
    return {"dest": dest, "placed": placed, "unplaced": unplaced, "notebooks": notebooks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fmbook.editions", description=__doc__.splitlines()[0])
    parser.add_argument("edition", choices=["student", "instructor"])
    parser.add_argument("--dest", default=None, help="default: build/<edition>")
    parser.add_argument("--root", default=".", help="the repository root (notebooks/, figures/, pyproject.toml)")
    args = parser.parse_args(argv)
    dest = args.dest or f"build/{args.edition}"
    try:
        if args.edition == "student":
            r = build_student(dest, args.root)
            print(f"student edition: {len(r['notebooks'])} notebooks, {len(r['solutions'])} solutions withheld -> {dest}")
        else:
            r = build_instructor(dest, args.root)
            print(f"instructor edition: {len(r['notebooks'])} notebooks, {len(r['placed'])} solutions shown -> {dest}")
            for ex_id in r["unplaced"]:
                print(f"warning: no notebook checks exercise {ex_id}; its solution is not shown", file=sys.stderr)
    except EditionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
