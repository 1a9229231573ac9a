"""Tests of fmbook.lm: tokenizer, batches, the n-gram baseline, scoring, generation, checkpoints."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fmbook import lm

TEXTS = ["the film is good", "the film is bad", "a good film", "a bad plot", "the plot is good"] * 20


@pytest.fixture(scope="module")
def tok():
    return lm.train_tokenizer(TEXTS, 300)


def tiny_gpt(vocab=300, block=16, seed=0):
    torch.manual_seed(seed)
    return lm.GPT(lm.GPTConfig(vocab_size=vocab, block_size=block, d_model=16, n_layers=2, n_heads=2, dropout=0.0))


def test_tokenizer_has_the_special_tokens_first(tok):
    assert tok.token_to_id(lm.EOS) == 0 and tok.token_to_id(lm.PAD) == 1


def test_tokenizer_round_trips_text_with_unseen_characters(tok):
    text = "Zürich, naïve café 42!"
    ids = lm.encode_texts(tok, [text])[0]
    assert tok.decode(ids) == text


def test_a_larger_vocabulary_gives_shorter_sequences():
    small, large = lm.train_tokenizer(TEXTS, 260), lm.train_tokenizer(TEXTS, 320)
    n = lambda t: sum(map(len, lm.encode_texts(t, TEXTS)))  # noqa: E731
    assert n(large) < n(small)


def test_tokenizer_rejects_a_single_string():
    with pytest.raises(TypeError, match="sequence of strings"):
        lm.train_tokenizer("one text", 300)


def test_token_stream_starts_and_separates_texts_with_eos():
    assert lm.token_stream([[5, 6], [7]], eos_id=0).tolist() == [0, 5, 6, 0, 7, 0]


def test_random_windows_targets_are_inputs_shifted_by_one():
    x, y = lm.random_windows(np.arange(100), 8, 4, generator=torch.Generator().manual_seed(0))
    assert x.shape == (4, 8) and torch.equal(y, x + 1)


def test_random_windows_rejects_a_stream_shorter_than_a_window():
    with pytest.raises(ValueError, match="too few"):
        lm.random_windows(np.arange(5), 8, 2)


def test_eval_windows_do_not_overlap():
    x, y = lm.eval_windows(np.arange(21), 5)
    assert x.shape == (4, 5) and x[1, 0] == 5 and torch.equal(y, x + 1)


def test_kneser_ney_distribution_sums_to_one():
    s = np.random.default_rng(0).integers(0, 30, 2000)
    for order in (2, 3):
        kn = lm.KneserNeyLM(30, order).fit(s)
        assert kn.next_distribution([3, 4]).sum() == pytest.approx(1.0)
        assert kn.next_distribution([29, 29]).sum() == pytest.approx(1.0)


def test_kneser_ney_prefers_what_it_has_seen():
    s = np.array([0, 1, 2, 3] * 200)
    kn = lm.KneserNeyLM(5, 3).fit(s)
    p = kn.next_distribution([1, 2])
    assert p.argmax() == 3 and p[3] > 0.9


def test_kneser_ney_trigram_beats_bigram_on_text_with_trigram_structure():
    rng = np.random.default_rng(0)
    a = rng.integers(2, 12, 3000)
    s = np.stack([a, (a * 3) % 10 + 2, (a * 7) % 10 + 2], 1).ravel()  # each pair determines the next
    train, test = s[:6000], [list(s[6000:6300])]
    ll = {o: lm.KneserNeyLM(12, o).fit(train).sequence_log_likelihood(test, 0)[0] for o in (2, 3)}
    assert ll[3] > ll[2]


def test_kneser_ney_rejects_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="token ids"):
        lm.KneserNeyLM(5).fit(np.array([0, 1, 7]))


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    assert lm.perplexity(10 * math.log(1 / 50), 10) == pytest.approx(50)


def test_reference_attention_matches_torch_sdpa():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 2, 5, 8).unbind(0)
    mask = torch.tril(torch.ones(5, 5, dtype=torch.bool))
    got = lm.attention(q, k, v, mask)
    assert torch.allclose(got, F.scaled_dot_product_attention(q, k, v, is_causal=True), atol=1e-6)


def test_gpt_output_at_a_position_ignores_later_tokens():
    model = tiny_gpt().eval()
    x = torch.randint(0, 300, (1, 10))
    x2 = x.clone()
    x2[0, 7:] = (x2[0, 7:] + 1) % 300
    with torch.no_grad():
        a, b = model(x), model(x2)
    assert torch.allclose(a[:, :7], b[:, :7], atol=1e-6) and not torch.allclose(a[:, 7:], b[:, 7:])


def test_gpt_refuses_a_context_longer_than_its_block_size():
    with pytest.raises(ValueError, match="block size"):
        tiny_gpt(block=8)(torch.zeros(1, 9, dtype=torch.long))


def test_gpt_ties_input_and_output_embeddings():
    model = tiny_gpt()
    assert model.head.weight is model.tok_emb.weight
    assert lm.count_parameters(model) == sum(p.numel() for p in model.parameters())


def test_count_parameters_without_embeddings_leaves_out_both_tables():
    model = tiny_gpt()
    emb = model.tok_emb.weight.numel() + model.pos_emb.weight.numel()
    assert lm.count_parameters(model, non_embedding=True) == lm.count_parameters(model) - emb


def test_training_flops_is_six_n_d():
    assert lm.training_flops(1000, 50) == 300_000


def test_sequence_log_likelihood_equals_the_sum_of_token_log_probs():
    model = tiny_gpt().eval()
    ids = [5, 9, 11]
    got = lm.sequence_log_likelihood(model, [ids], bos_id=0, block_size=16)[0]
    seq = torch.tensor([[0] + ids + [0]])
    with torch.no_grad():
        lp = torch.log_softmax(model(seq[:, :-1]), -1)
    want = lp[0, torch.arange(4), seq[0, 1:]].sum().item()
    assert got == pytest.approx(want, abs=1e-4)


def test_sequence_log_likelihood_does_not_depend_on_batching_or_padding():
    model = tiny_gpt().eval()
    seqs = [[5, 9, 11], [7], [3, 3, 3, 3, 3, 3]]
    together = lm.sequence_log_likelihood(model, seqs, bos_id=0, block_size=16)
    alone = [lm.sequence_log_likelihood(model, [s], bos_id=0, block_size=16)[0] for s in seqs]
    assert np.allclose(together, alone, atol=1e-4)


def test_sequence_log_likelihood_scores_long_sequences_in_windows():
    model = tiny_gpt(block=4).eval()
    out = lm.sequence_log_likelihood(model, [list(range(2, 12))], bos_id=0, block_size=4)
    assert np.isfinite(out).all() and out[0] < 0


def test_text_log_likelihood_plugs_into_the_canary_audit(tok):
    from fmbook import canaries

    model = tiny_gpt().eval()
    table = canaries.canary_exposures([canaries.Canary("my PIN is ", "7", 1)],
                                      lambda texts: lm.text_log_likelihood(model, tok, texts, block_size=16))
    assert table.n_candidates.iloc[0] == 10 and 0 <= table.exposure.iloc[0] <= math.log2(10)


def test_generate_greedy_is_deterministic_and_has_the_requested_length():
    model = tiny_gpt()
    a = lm.generate(model, [3, 4], 6, block_size=16, greedy=True)
    assert a == lm.generate(model, [3, 4], 6, block_size=16, greedy=True) and len(a[0]) == 6


def test_generate_with_top_k_one_is_greedy():
    model = tiny_gpt()
    greedy = lm.generate(model, [3, 4], 5, block_size=16, greedy=True)
    top1 = lm.generate(model, [3, 4], 5, block_size=16, top_k=1, generator=torch.Generator().manual_seed(0))
    assert greedy == top1


def test_generate_continues_past_the_block_size_on_the_last_tokens():
    assert len(lm.generate(tiny_gpt(block=4), [1, 2, 3], 10, block_size=4, greedy=True)[0]) == 10


def test_generate_rejects_an_empty_prompt():
    with pytest.raises(ValueError, match="no tokens"):
        lm.generate(tiny_gpt(), [], 3, block_size=16)


def test_generate_rejects_a_prompt_longer_than_the_block_size():
    with pytest.raises(ValueError, match="block size"):
        lm.generate(tiny_gpt(block=4), [1, 2, 3, 4, 5], 3, block_size=4)


def test_generate_rejects_a_token_outside_the_vocabulary():
    with pytest.raises(ValueError, match="vocabulary"):
        lm.generate(tiny_gpt(vocab=300), [3, 999], 3, block_size=16)


def test_generate_rejects_zero_temperature():
    with pytest.raises(ValueError, match="greedy"):
        lm.generate(tiny_gpt(), [3], 3, block_size=16, temperature=0)


def test_save_and_load_give_identical_outputs(tmp_path, tok):
    model = tiny_gpt().eval()
    path = lm.save_model(model, tmp_path / "m.safetensors", model.cfg, tokenizer=tok, extra={"data": "test"})
    loaded, meta = lm.load_model(path)
    x = torch.randint(0, 300, (2, 9))
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    assert meta["extra"] == {"data": "test"} and lm.tokenizer_path(path).is_file()
    assert loaded.head.weight is loaded.tok_emb.weight


def test_load_refuses_a_checkpoint_of_another_architecture(tmp_path):
    path = lm.save_model(torch.nn.Linear(3, 2), tmp_path / "lin.safetensors", {"vocab_size": 300})
    with pytest.raises(lm.CheckpointError, match="'Linear' model, not a 'GPT'"):
        lm.load_model(path)


def test_load_refuses_a_checkpoint_whose_weights_do_not_fit(tmp_path):
    model = tiny_gpt()
    path = lm.save_model(model, tmp_path / "m.safetensors", {**model.cfg.__dict__, "d_model": 32})
    with pytest.raises(lm.CheckpointError, match="does not fit"):
        lm.load_model(path)


def test_load_pretrained_names_the_chapter_to_run_when_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("FMBOOK_CACHE", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="chapter 08"):
        lm.load_pretrained("ch08_gpt.smoke")
