"""Chapter 10 (efficiency): settings, and the exercises' checkers (solutions pass, common mistakes get
specific hints)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from fmbook.chapters import ch10_efficiency as ch10  # noqa: E402  (registers the exercises)
from fmbook.exercises import check, get, solution_source  # noqa: E402

IDS = ("10.distillation_loss", "10.int8_per_channel", "10.lora_forward", "10.choose_variant")
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "10_efficiency.py"


def _not_attempted(*args, **kwargs):
    raise NotImplementedError


def test_settings_cover_every_profile_with_the_same_keys():
    assert set(ch10.SETTINGS) == {"smoke", "fast", "full"}
    keys = set(ch10.SETTINGS["smoke"])
    assert all(set(s) == keys for s in ch10.SETTINGS.values())


def test_smoke_is_the_smallest_profile():
    smoke, fast = ch10.SETTINGS["smoke"], ch10.SETTINGS["fast"]
    for key in ("n_train", "n_test", "bert_train", "bert_test", "dp_steps"):
        assert smoke[key] < fast[key], key


def test_the_data_parallel_batch_splits_into_two_equal_shards():
    assert all(s["dp_batch"] % 2 == 0 for s in ch10.SETTINGS.values())


def test_worked_solutions_pass_their_checkers():
    for id in IDS:
        assert check(id, get(id).solution, quiet=True), id
        assert "def " in solution_source(id)


def test_unattempted_and_empty_answers_do_not_pass():
    for id in IDS:
        assert not check(id, _not_attempted, quiet=True)
        assert not check(id, lambda *a, **k: None, quiet=True)


def test_notebook_stubs_have_the_solutions_signatures():
    source = NOTEBOOK.read_text()
    for id in IDS:
        name = id.split(".", 1)[1]
        params = str(inspect.signature(get(id).solution))
        assert re.search(rf"def {name}{re.escape(params)}:\n    raise NotImplementedError", source), id


def _kl(s, t, T):
    return F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1), reduction="batchmean")


def test_distillation_loss_without_the_t_squared_factor_gets_a_specific_hint(capsys):
    def no_t2(student_logits, teacher_logits, labels, T=4.0, alpha=0.5):
        return alpha * F.cross_entropy(student_logits, labels) + (1 - alpha) * _kl(student_logits, teacher_logits, T)

    assert not check("10.distillation_loss", no_t2)
    assert "T**2" in capsys.readouterr().out


def test_distillation_loss_with_the_kl_reversed_gets_a_specific_hint(capsys):
    def reversed_kl(student_logits, teacher_logits, labels, T=4.0, alpha=0.5):
        return (alpha * F.cross_entropy(student_logits, labels)
                + (1 - alpha) * T ** 2 * _kl(teacher_logits, student_logits, T))

    assert not check("10.distillation_loss", reversed_kl)
    assert "wrong way round" in capsys.readouterr().out


def test_distillation_loss_with_swapped_weights_gets_a_specific_hint(capsys):
    def swapped(student_logits, teacher_logits, labels, T=4.0, alpha=0.5):
        return (1 - alpha) * F.cross_entropy(student_logits, labels) + alpha * T ** 2 * _kl(student_logits, teacher_logits, T)

    assert not check("10.distillation_loss", swapped)
    assert "alpha weighs" in capsys.readouterr().out


def test_per_tensor_scale_in_the_per_channel_exercise_gets_a_specific_hint(capsys):
    def per_tensor(w):
        s = w.abs().max() / 127
        q = torch.round(w / s).to(torch.int8)
        return q, s, q.float() * s

    assert not check("10.int8_per_channel", per_tensor)
    assert "one scale for the whole matrix" in capsys.readouterr().out


def test_truncating_instead_of_rounding_gets_a_specific_hint(capsys):
    def truncating(w):
        s = w.abs().amax(dim=1, keepdim=True) / 127
        q = torch.trunc(w / s).to(torch.int8)
        return q, s.squeeze(1), q.float() * s

    assert not check("10.int8_per_channel", truncating)
    assert "truncated" in capsys.readouterr().out


def test_float_codes_get_a_specific_hint(capsys):
    def float_codes(w):
        s = w.abs().amax(dim=1, keepdim=True) / 127
        q = torch.round(w / s)
        return q, s.squeeze(1), q * s

    assert not check("10.int8_per_channel", float_codes)
    assert "int8" in capsys.readouterr().out


def test_lora_forward_without_the_scale_gets_a_specific_hint(capsys):
    assert not check("10.lora_forward", lambda x, W, b, A, B, alpha, r: x @ W.T + b + (x @ A.T) @ B.T)
    assert "alpha / r" in capsys.readouterr().out


def test_lora_forward_with_alpha_times_r_gets_a_specific_hint(capsys):
    assert not check("10.lora_forward", lambda x, W, b, A, B, alpha, r: x @ W.T + b + alpha * r * (x @ A.T) @ B.T)
    assert "not alpha * r" in capsys.readouterr().out


def test_lora_forward_of_the_frozen_layer_only_gets_a_specific_hint(capsys):
    assert not check("10.lora_forward", lambda x, W, b, A, B, alpha, r: x @ W.T + b)
    assert "only the frozen layer" in capsys.readouterr().out


def test_choosing_the_most_accurate_variant_regardless_of_budget_gets_a_specific_hint(capsys):
    assert not check("10.choose_variant", lambda table, max_bytes, max_latency_ms:
                     table.loc[table.accuracy.idxmax(), "variant"])
    assert "does not fit" in capsys.readouterr().out


def test_ignoring_latency_gets_a_specific_hint(capsys):
    def size_only(table, max_bytes, max_latency_ms):
        fits = table[table["bytes"] <= max_bytes]
        return fits.sort_values(["accuracy", "bytes"], ascending=[False, True]).iloc[0]["variant"] if len(fits) else None

    assert not check("10.choose_variant", size_only)
    assert "too slow" in capsys.readouterr().out


def test_breaking_ties_by_table_order_gets_caught(capsys):
    def first_best(table, max_bytes, max_latency_ms):
        fits = table[(table["bytes"] <= max_bytes) & (table["latency_ms"] <= max_latency_ms)]
        return fits.loc[fits.accuracy.idxmax(), "variant"] if len(fits) else None

    assert not check("10.choose_variant", first_best)
    assert "two fit equally well" in capsys.readouterr().out
