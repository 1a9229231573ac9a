import pytest

from fmbook.exercises import all_exercises, check, hint, solution_source


def _not_attempted(*args, **kwargs):
    raise NotImplementedError


EXERCISES = all_exercises()


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_worked_solution_passes_its_checker(ex):
    assert check(ex.id, ex.solution, quiet=True)


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_unattempted_exercise_does_not_pass(ex):
    assert not check(ex.id, _not_attempted, quiet=True)


@pytest.mark.parametrize("ex", EXERCISES, ids=[e.id for e in EXERCISES])
def test_function_returning_nothing_does_not_pass(ex):
    assert not check(ex.id, lambda *a, **k: None, quiet=True)


def test_wrong_gradient_gets_a_specific_hint(capsys):
    def gradient_with_flipped_sign(w, b, X, y):
        import numpy as np

        p = 1 / (1 + np.exp(-(X @ w + b)))
        return X.T @ (y - p) / len(y), float((y - p).mean())

    assert not check("01.gradient", gradient_with_flipped_sign)
    assert "sign is flipped" in capsys.readouterr().out


def test_hints_and_solutions_are_available_on_request(capsys):
    assert "==" in hint("00.accuracy")
    assert "def " in solution_source("00.accuracy")


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown exercise"):
        check("99.nothing", lambda: None)
