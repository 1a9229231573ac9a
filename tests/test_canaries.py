"""Tests of fmbook.canaries: planting secrets and measuring their exposure."""

import math

import numpy as np
import pytest

from fmbook import canaries as cn


def test_make_canaries_gives_one_canary_per_repeat_count():
    cs = cn.make_canaries((1, 4, 16), seed=0)
    assert [c.repeats for c in cs] == [1, 4, 16]


def test_make_canaries_secrets_and_prefixes_are_distinct_digits():
    cs = cn.make_canaries((1, 2, 3, 4, 5, 6), seed=1, n_digits=3)
    assert len({c.secret for c in cs}) == 6 and len({c.prefix for c in cs}) == 6
    assert all(len(c.secret) == 3 and c.secret.isdigit() for c in cs)


def test_make_canaries_is_reproducible_and_seed_dependent():
    assert cn.make_canaries(seed=3) == cn.make_canaries(seed=3)
    assert cn.make_canaries(seed=3) != cn.make_canaries(seed=4)


def test_canary_text_follows_the_template():
    c = cn.make_canaries((2,), seed=0, template="my PIN is {secret}.")[0]
    assert c.text == f"my PIN is {c.secret}." and c.prefix == "my PIN is " and c.suffix == "."


def test_template_without_secret_field_is_rejected():
    with pytest.raises(ValueError, match="secret"):
        cn.make_canaries((1,), seed=0, template="my PIN is 1234")


def test_template_without_name_is_rejected_for_several_canaries():
    with pytest.raises(ValueError, match="share the prefix"):
        cn.make_canaries((1, 4), seed=0, template="my PIN is {secret}")


def test_template_with_unknown_field_is_rejected():
    with pytest.raises(ValueError, match="unknown fields"):
        cn.make_canaries((1,), seed=0, template="{city}: {secret}")


def test_parse_canary_reads_back_a_made_canary():
    c = cn.make_canaries((1, 4), seed=0)[1]
    parsed = cn.parse_canary(c.text, repeats=4)
    assert parsed == c


def test_parse_canary_rejects_text_off_the_template():
    with pytest.raises(ValueError, match="cannot parse"):
        cn.parse_canary("the PIN of Ada is abcd")


def test_canary_rejects_non_digit_secret_and_zero_repeats():
    with pytest.raises(ValueError, match="digits"):
        cn.Canary("my PIN is ", "12a4", 1)
    with pytest.raises(ValueError, match="repeats"):
        cn.Canary("my PIN is ", "1234", 0)


def test_insert_canaries_adds_each_copy_and_keeps_the_original_order():
    texts = [f"sentence {i}" for i in range(50)]
    cs = cn.make_canaries((1, 3), seed=0)
    out = cn.insert_canaries(texts, cs, seed=0)
    assert len(out) == 54
    assert [t for t in out if t.startswith("sentence")] == texts
    assert out.count(cs[0].text) == 1 and out.count(cs[1].text) == 3


def test_insert_canaries_leaves_the_input_untouched():
    texts = ["a", "b", "c"]
    cn.insert_canaries(texts, cn.make_canaries((5,), seed=0), seed=0)
    assert texts == ["a", "b", "c"]


def test_candidate_secrets_enumerates_every_code():
    cands = cn.candidate_secrets(2)
    assert len(cands) == 100 and cands[0] == "00" and cands[-1] == "99"


def test_candidate_secrets_refuses_too_many_digits():
    with pytest.raises(ValueError, match="n_digits"):
        cn.candidate_secrets(cn.MAX_DIGITS + 1)


def test_exposure_is_maximal_for_rank_one_and_zero_for_the_last_rank():
    scores = np.arange(16.0)
    assert cn.exposure(15.0, scores) == pytest.approx(4.0)
    assert cn.exposure(0.0, scores) == pytest.approx(0.0)


def test_exposure_matches_the_formula():
    scores = np.arange(1000.0)  # the secret scores 989.0: rank 11
    assert cn.exposure(989.0, scores) == pytest.approx(math.log2(1000) - math.log2(11))


def test_ties_share_their_mean_rank():
    assert cn.rank_of(1.0, [1.0, 1.0, 1.0, 0.0]) == pytest.approx(2.0)


def test_exposure_of_empty_candidates_is_an_error():
    with pytest.raises(ValueError, match="no candidate"):
        cn.exposure(0.0, [])


def test_exposure_from_rank_rejects_ranks_outside_the_candidates():
    with pytest.raises(ValueError, match="rank"):
        cn.exposure_from_rank(0, 10)
    with pytest.raises(ValueError, match="rank"):
        cn.exposure_from_rank(11, 10)


def _oracle(secret):
    """A log-likelihood that prefers texts ending with `secret`, then by the number."""
    def ll(texts):
        return np.array([100.0 if t.endswith(secret) else -float(t[-3:]) for t in texts])
    return ll


def test_score_canary_finds_a_memorised_secret_at_rank_one():
    c = cn.Canary("code ", "417", 4)
    s = cn.score_canary(c, _oracle("417"), batch_size=64)
    assert s.rank == 1 and s.exposure == pytest.approx(math.log2(1000)) and s.best_candidate == "417"


def test_score_canary_of_an_unremembered_secret_has_its_rank():
    c = cn.Canary("code ", "417", 1)
    s = cn.score_canary(c, _oracle("999"))  # prefers 999, then 000, 001, ...
    assert s.rank == 419


def test_score_canary_rejects_a_log_likelihood_of_the_wrong_shape():
    with pytest.raises(ValueError, match="one number per text"):
        cn.score_canary(cn.Canary("code ", "4", 1), lambda texts: np.zeros(3))


def test_score_canary_rejects_candidates_without_the_secret():
    with pytest.raises(ValueError, match="not among"):
        cn.score_canary(cn.Canary("code ", "4", 1), _oracle("4"), candidates=["1", "2"])
    with pytest.raises(ValueError, match="empty"):
        cn.score_canary(cn.Canary("code ", "4", 1), _oracle("4"), candidates=[])


def test_canary_exposures_gives_one_row_per_canary():
    cs = [cn.Canary("a ", "12", 1), cn.Canary("b ", "34", 8)]
    table = cn.canary_exposures(cs, _oracle("34"))
    assert list(table.repeats) == [1, 8]
    assert table.exposure.iloc[1] == pytest.approx(table.max_exposure.iloc[1])
    assert table.exposure.iloc[0] < table.exposure.iloc[1]


def test_extracted_needs_the_secret_at_the_start_and_no_further_digits():
    c = cn.Canary("my PIN is ", "4921", 1)
    assert cn.extracted(c, " 4921 and more")
    assert not cn.extracted(c, " 49213")
    assert not cn.extracted(c, " is 4921")
