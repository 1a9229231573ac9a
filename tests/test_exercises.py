"""Every exercise of every chapter, found in fmbook/chapters/: the same behaviour for each.

The worked solution passes; a stub not yet attempted, a function returning None and a
function that raises do not, and the learner is told which; every exercise has hints and
a worked solution to show. A typical wrong answer getting its specific hint is tested per
chapter, in ``tests/test_chNN_topic.py``.
"""

from __future__ import annotations

import pytest

from fmbook import chapters
from fmbook.exercises import all_exercises, check, get, hint, show_solution, solution_source

EXERCISES = all_exercises()
IDS = [ex.id for ex in EXERCISES]


def _not_attempted(*args, **kwargs):
    raise NotImplementedError  # your code here


def _returns_none(*args, **kwargs):
    return None


class LearnerBug(Exception):
    """An error no checker raises itself, so seeing its name means the learner's error was reported."""


def _raises(*args, **kwargs):
    raise LearnerBug("index 3 is out of bounds")


def test_every_chapter_with_exercises_is_found():
    numbers = {ex.id[:2] for ex in EXERCISES}
    assert {"00", "01", "05"} <= numbers
    assert numbers <= {name[:2] for name in chapters.discover()}


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_exercise_is_registered_by_the_module_of_its_chapter(ex):
    module = chapters.by_number(ex.id[:2])
    assert module is not None and ex.checker.__module__ == module.__name__
    assert ex.solution.__module__ == module.__name__


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_worked_solution_passes_its_checker(ex):
    assert check(ex.id, ex.solution, quiet=True)


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_stub_not_yet_attempted_is_reported_as_not_attempted(ex, capsys):
    verdict = check(ex.id, _not_attempted)
    assert not verdict and verdict.status == "todo"
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_function_returning_none_does_not_pass(ex):
    verdict = check(ex.id, _returns_none, quiet=True)
    assert not verdict and verdict.status == "wrong"


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_function_that_raises_does_not_pass_and_its_error_is_named(ex, capsys):
    verdict = check(ex.id, _raises)
    assert not verdict and verdict.status == "wrong"
    out = capsys.readouterr().out
    assert "LearnerBug" in out and "index 3 is out of bounds" in out


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_exercise_has_a_title_and_at_least_two_hints(ex):
    assert ex.title.strip()
    assert len(ex.hints) >= 2 and all(h.strip() for h in ex.hints)


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_worked_solution_can_be_shown(ex):
    assert f"def {ex.solution.__name__}(" in solution_source(ex.id)


def test_hint_gives_the_first_hint_by_default_and_later_ones_when_asked(capsys):
    ex = get("00.accuracy")
    assert hint("00.accuracy") == ex.hints[0]
    assert hint("00.accuracy", 2) == ex.hints[1]
    assert hint("00.accuracy", 99) == ex.hints[-1]
    assert "Hint 2 for 00.accuracy" in capsys.readouterr().out


def test_show_solution_prints_the_worked_solution(capsys):
    show_solution("00.accuracy")
    assert "def _accuracy(" in capsys.readouterr().out


def test_a_right_answer_is_reported_as_correct(capsys):
    assert check("00.accuracy", lambda y_true, y_pred: float((y_true == y_pred).mean()))
    assert "correct" in capsys.readouterr().out


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown exercise"):
        check("99.nothing", lambda: None)
