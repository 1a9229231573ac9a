"""Chapter 09 exercises and settings: worked solutions pass, typical mistakes get specific hints."""

import math

import numpy as np
import pytest
import torch

from fmbook.chapters import ch09_privacy
from fmbook.exercises import check, get, solution_source

IDS = ("09.clip", "09.tpr_at_fpr", "09.fedavg", "09.choose_epsilon")


def _not_attempted(*args, **kwargs):
    raise NotImplementedError


def test_every_profile_has_the_same_settings_keys():
    keys = {p: set(v) for p, v in ch09_privacy.SETTINGS.items()}
    assert set(keys) == {"smoke", "fast", "full"}
    assert keys["smoke"] == keys["fast"] == keys["full"]


def test_lira_pairs_need_an_even_number_of_models_and_enough_targets():
    for s in ch09_privacy.SETTINGS.values():
        assert s["mi_models"] % 2 == 0 and s["mi_models"] >= 4
        assert s["mi_targets"] <= s["mi_models"]
        assert s["mi_targets"] * s["mi_pool"] // 2 >= 1000      # enough non-members for 0.1% FPR


def test_lm_canaries_are_planted_in_increasing_repeats_so_the_last_is_the_most_repeated():
    for s in ch09_privacy.SETTINGS.values():
        assert list(s["lm_repeats"]) == sorted(set(s["lm_repeats"]))


def test_lm_validation_is_evaluated_at_least_twice_so_a_matched_loss_step_can_be_found():
    for s in ch09_privacy.SETTINGS.values():
        assert s["lm_steps"] // s["lm_eval_every"] >= 2
        assert s["lm_d"] % s["lm_heads"] == 0


def test_lm_corpus_and_held_out_sentences_fit_in_the_four_review_domains():
    for s in ch09_privacy.SETTINGS.values():
        assert s["lm_sentences"] + s["lm_val"] <= 23_320             # movie + product + tweet + editorial


@pytest.mark.parametrize("id", IDS)
def test_worked_solution_passes_its_checker(id):
    assert check(id, get(id).solution, quiet=True)
    assert "def " in solution_source(id)


@pytest.mark.parametrize("id", IDS)
def test_unattempted_and_empty_answers_do_not_pass(id):
    assert not check(id, _not_attempted, quiet=True)
    assert not check(id, lambda *a, **k: None, quiet=True)


def test_clipping_with_one_norm_for_the_batch_gets_a_specific_hint(capsys):
    def whole_batch(g, c):
        return g * min(1.0, c / (g.norm().item() + 1e-6))

    assert not check("09.clip", whole_batch)
    assert "whole batch" in capsys.readouterr().out


def test_clipping_that_stretches_short_gradients_gets_a_specific_hint(capsys):
    def stretch(g, c):
        return g * (c / (g.norm(dim=1, keepdim=True) + 1e-6))

    assert not check("09.clip", stretch)
    assert "stretched" in capsys.readouterr().out


def test_clipping_each_coordinate_gets_a_specific_hint(capsys):
    assert not check("09.clip", lambda g, c: g.clamp(-c, c))
    assert "each coordinate" in capsys.readouterr().out


def test_clipping_that_divides_zero_by_zero_gets_a_specific_hint(capsys):
    def no_epsilon(g, c):
        n = g.norm(dim=1, keepdim=True)
        return g / n * torch.clamp(n, max=c)

    assert not check("09.clip", no_epsilon)
    assert "0 / 0" in capsys.readouterr().out


def test_tpr_with_the_wrong_direction_gets_a_specific_hint(capsys):
    from fmbook import privacy

    assert not check("09.tpr_at_fpr", lambda m, n, f: privacy.tpr_at_fpr(-m, -n, f))
    assert "LOW scores" in capsys.readouterr().out


def test_interpolated_tpr_gets_a_specific_hint(capsys):
    from fmbook import privacy

    def interpolated(m, n, f):
        fpr, tpr, _ = privacy.roc(m, n)
        return float(np.interp(f, fpr, tpr))

    assert not check("09.tpr_at_fpr", interpolated)
    assert "interpolated" in capsys.readouterr().out


def test_unweighted_fedavg_gets_a_specific_hint(capsys):
    assert not check("09.fedavg", lambda states, sizes: {k: sum(s[k] for s in states) / len(states) for k in states[0]})
    assert "plain mean" in capsys.readouterr().out


def test_fedavg_without_normalising_gets_a_specific_hint(capsys):
    assert not check("09.fedavg", lambda states, sizes: {k: sum(s[k] * n for s, n in zip(states, sizes))
                                                         for k in states[0]})
    assert "divide by the total" in capsys.readouterr().out


def test_shipping_the_model_without_dp_gets_a_specific_hint(capsys):
    def ship_best(runs, a, c):
        best = runs.sort_values("accuracy").iloc[-1]
        return {"epsilon": float(best["epsilon"]), "accuracy_cost": 0.0, "class_paying_most": 0, "its_cost": 0.0}

    assert not check("09.choose_epsilon", ship_best)
    assert "without DP" in capsys.readouterr().out


def test_ignoring_the_worst_class_gets_a_specific_hint(capsys):
    classes = list(ch09_privacy.CLASS_COLUMNS)

    def overall_only(runs, a, c):
        base = runs[runs["epsilon"] == math.inf].iloc[0]
        for _, r in runs[runs["epsilon"] < math.inf].sort_values("epsilon").iterrows():
            if r["accuracy"] >= a:
                d = (base[classes] - r[classes]).astype(float)
                return {"epsilon": float(r["epsilon"]), "accuracy_cost": float(base["accuracy"] - r["accuracy"]),
                        "class_paying_most": int(d.idxmax().split("_")[1]), "its_cost": float(d.max())}
        return None

    assert not check("09.choose_epsilon", overall_only)
    assert "worst class" in capsys.readouterr().out


def test_choose_epsilon_on_a_table_where_nothing_qualifies_returns_none():
    runs = ch09_privacy._hidden_runs(4)
    assert ch09_privacy._choose_epsilon(runs, 0.999, 0.99) is None
