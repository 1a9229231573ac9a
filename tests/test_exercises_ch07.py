"""Chapter 07 exercises: the worked solutions pass, stubs and typical mistakes get specific hints."""

from __future__ import annotations

import numpy as np
import pytest

from fmbook.exercises import Hint, check, get

IDS = ["07.exact_shapley", "07.lime_fit", "07.topk_overlap"]


@pytest.mark.parametrize("id", IDS)
def test_worked_solution_passes_its_checker(id):
    assert check(id, get(id).solution, quiet=True)


@pytest.mark.parametrize("id", IDS)
def test_stub_is_reported_as_not_attempted(id, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    assert not check(id, stub)
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("id", IDS)
def test_exercise_has_hints(id):
    assert len(get(id).hints) >= 2


def test_exact_shapley_with_zeros_for_unknown_features_gets_a_specific_hint():
    solution = get("07.exact_shapley").solution

    def zeros_baseline(f, x, background):
        return solution(f, x, np.zeros((1, len(x))))

    with pytest.raises(Hint, match="zeros"):
        get("07.exact_shapley").checker(zeros_baseline)


def test_exact_shapley_with_equal_weights_gets_a_hint_about_the_weights():
    def leave_one_out(f, x, background):
        x, bg = np.asarray(x), np.asarray(background)
        full = np.mean(f(np.repeat(x[None], len(bg), 0)))
        out = []
        for j in range(len(x)):
            rows = np.repeat(x[None], len(bg), 0)
            rows[:, j] = bg[:, j]
            out.append(full - np.mean(f(rows)))
        return np.array(out)

    with pytest.raises(Hint, match="add up to"):
        get("07.exact_shapley").checker(leave_one_out)


def test_lime_fit_without_weights_gets_a_specific_hint():
    def unweighted(Z, y, distances, kernel_width=0.75):
        beta = np.linalg.lstsq(np.c_[np.ones(len(Z)), Z], y, rcond=None)[0]
        return beta[0], beta[1:]

    with pytest.raises(Hint, match="unweighted"):
        get("07.lime_fit").checker(unweighted)


def test_topk_overlap_ranked_by_signed_value_gets_a_specific_hint():
    def signed(a, b, k):
        return len(set(np.argsort(-np.asarray(a))[:k]) & set(np.argsort(-np.asarray(b))[:k])) / k

    with pytest.raises(Hint, match="signed value"):
        get("07.topk_overlap").checker(signed)
