"""Canaries: secrets planted in training text, to measure what a model memorised.

Carlini et al. (2019, "The Secret Sharer") insert random secrets such as
``"the PIN of Ada is 4921"`` into a model's training data, some once and some
many times, train the model, and then ask how highly the model ranks the true
secret among *every* possible secret of the same format. The **exposure** of a
canary is

.. math::

    \\text{exposure} = \\log_2 |R| - \\log_2 \\text{rank}(s)

where :math:`R` is the set of candidate secrets (all 10,000 four-digit PINs) and
the rank is 1 for the candidate the model finds most likely. A model that never
saw the canary ranks its secret like any other (exposure near 1 bit on average);
a model that memorised it ranks it first (exposure :math:`\\log_2 |R|`, 13.3 bits
for four digits).

The machinery is model-agnostic: :func:`score_canary` and :func:`canary_exposures`
take a caller-supplied ``log_likelihood(texts) -> np.ndarray``, so chapter 08's
small GPT, a DP-SGD model (chapter 09) or any other model can be audited the
same way::

    canaries = make_canaries((1, 4, 16, 64), seed=0)
    texts = insert_canaries(train_texts, canaries, seed=0)
    # ... train a model on `texts` ...
    table = canary_exposures(canaries, my_log_likelihood)
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_TEMPLATE = "the PIN of {name} is {secret}"
"""Default canary format: one sentence per canary, a distinct name per canary."""

NAMES: tuple[str, ...] = (
    "Ada", "Bruno", "Chiara", "Dmitri", "Esther", "Farid", "Greta", "Hiroshi", "Ines", "Jonas",
    "Kemal", "Lucia", "Mateo", "Nadia", "Olaf", "Priya", "Quentin", "Rosa", "Stefan", "Tamar",
)
"""Names put into ``{name}`` of a template, one per canary (drawn with the seed)."""

MAX_DIGITS = 6
"""Largest secret length whose candidates are enumerated (10**6 texts to score)."""

LogLikelihood = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class Canary:
    """One planted secret.

    Attributes
    ----------
    prefix : str
        The text before the secret, e.g. ``"the PIN of Ada is "``. A model is
        prompted with it to try to extract the secret.
    secret : str
        The secret, a string of digits, e.g. ``"4921"``.
    repeats : int
        How many times the canary's text is inserted into the training text.
    suffix : str, default ""
        Text after the secret (empty for the default template).
    """

    prefix: str
    secret: str
    repeats: int
    suffix: str = ""

    def __post_init__(self):
        if not isinstance(self.secret, str) or not self.secret.isdigit() or not self.secret.isascii():
            raise ValueError(f"a canary's secret is a string of digits 0-9, got {self.secret!r}")
        if isinstance(self.repeats, bool) or not isinstance(self.repeats, (int, np.integer)) or self.repeats < 1:
            raise ValueError(f"a canary is inserted at least once: repeats must be an int >= 1, got {self.repeats!r}")
        if not self.prefix.strip():
            raise ValueError("a canary needs a non-empty prefix: it is the prompt that extraction starts from")

    @property
    def text(self) -> str:
        """The sentence inserted into the training text."""
        return f"{self.prefix}{self.secret}{self.suffix}"

    @property
    def n_digits(self) -> int:
        return len(self.secret)

    def with_secret(self, secret: str) -> str:
        """The canary's sentence with ``secret`` in place of the true one."""
        return f"{self.prefix}{secret}{self.suffix}"


def _split_template(template: str) -> tuple[str, str]:
    if not isinstance(template, str) or template.count("{secret}") != 1:
        raise ValueError(
            f"a canary template needs exactly one '{{secret}}' field, got {template!r} "
            f"(for example {DEFAULT_TEMPLATE!r})")
    fields = set(re.findall(r"{(\w*)}", template))
    unknown = fields - {"secret", "name"}
    if unknown:
        raise ValueError(f"template {template!r} has unknown fields {sorted(unknown)}: only "
                         "'{secret}' and '{name}' are filled in")
    before, after = template.split("{secret}")
    return before, after


def parse_canary(text: str, template: str = DEFAULT_TEMPLATE, *, repeats: int = 1) -> Canary:
    """Read a canary back from its sentence.

    Parameters
    ----------
    text : str
        A sentence written with ``template``, e.g. ``"the PIN of Ada is 4921"``.
    template : str
        The format, with one ``{secret}`` and optionally one ``{name}``.
    repeats : int, default 1

    Returns
    -------
    Canary

    Raises
    ------
    ValueError
        When ``text`` does not follow ``template`` or its secret is not digits.
    """
    before, after = _split_template(template)
    pattern = "".join(
        "(?P<name>[^\\s]+?)" if part == "{name}" else re.escape(part)
        for part in re.split(r"({name})", before))
    pattern = f"^(?P<prefix>{pattern})(?P<secret>\\d+){re.escape(after)}$"
    match = re.match(pattern, text)
    if match is None:
        raise ValueError(
            f"cannot parse {text!r} as a canary of the form {template!r}: the text must be the "
            "template with '{secret}' replaced by digits (and '{name}' by one word)")
    return Canary(prefix=match.group("prefix"), secret=match.group("secret"), repeats=repeats, suffix=after)


def make_canaries(repeats: Sequence[int] = (1, 4, 16, 64), *, seed: int,
                  template: str = DEFAULT_TEMPLATE, n_digits: int = 4) -> list[Canary]:
    """Make one canary per repetition count, each with a random secret.

    Parameters
    ----------
    repeats : sequence of int
        How often each canary will be inserted; one canary per entry.
    seed : int
        Random seed for the secrets and the names.
    template : str
        Sentence format with one ``{secret}``; with more than one canary it needs a
        ``{name}`` too, so that canaries have different prefixes.
    n_digits : int, default 4
        Length of each secret (1 to :data:`MAX_DIGITS`).

    Returns
    -------
    list of Canary
        In the order of ``repeats``; all secrets and all prefixes differ.
    """
    before, after = _split_template(template)
    if not 1 <= int(n_digits) <= MAX_DIGITS:
        raise ValueError(f"n_digits must be between 1 and {MAX_DIGITS}, got {n_digits!r}")
    repeats = list(repeats)
    if not repeats:
        raise ValueError("repeats is empty: give at least one repetition count, e.g. (1, 4, 16, 64)")
    if len(repeats) > 1 and "{name}" not in before:
        raise ValueError(
            f"template {template!r} has no '{{name}}' before '{{secret}}', so {len(repeats)} canaries "
            f"would share the prefix {before!r} and could not be told apart; use e.g. {DEFAULT_TEMPLATE!r}")
    if len(repeats) > len(NAMES):
        raise ValueError(f"at most {len(NAMES)} canaries (one per name in NAMES), got {len(repeats)}")
    if len(repeats) > 10 ** int(n_digits):
        raise ValueError(f"{len(repeats)} distinct secrets do not fit in {n_digits} digits")
    rng = random.Random(seed)
    names = rng.sample(NAMES, len(repeats))
    secrets: list[str] = []
    while len(secrets) < len(repeats):
        s = "".join(rng.choice(string.digits) for _ in range(int(n_digits)))
        if s not in secrets:
            secrets.append(s)
    return [Canary(prefix=before.replace("{name}", name), secret=secret, repeats=int(r), suffix=after)
            for name, secret, r in zip(names, secrets, repeats)]


def insert_canaries(texts: Sequence[str], canaries: Sequence[Canary], *, seed: int) -> list[str]:
    """Return a new list: ``texts`` with each canary's sentence inserted ``repeats`` times.

    Insertions go to random positions (each copy is its own item of the list); the
    order of the original texts is kept and ``texts`` itself is not changed.

    Parameters
    ----------
    texts : sequence of str
        The training texts (e.g. sentences).
    canaries : sequence of Canary
    seed : int
        Random seed for the positions.

    Returns
    -------
    list of str
        ``len(texts) + sum(c.repeats for c in canaries)`` items.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    out = list(texts)
    copies = [c.text for c in canaries for _ in range(c.repeats)]
    rng = random.Random(seed)
    for text in copies:
        out.insert(rng.randrange(len(out) + 1), text)
    return out


def candidate_secrets(n_digits: int) -> list[str]:
    """Every secret of ``n_digits`` digits, ``"0000"`` to ``"9999"`` for 4 digits."""
    if isinstance(n_digits, bool) or not 1 <= int(n_digits) <= MAX_DIGITS:
        raise ValueError(f"n_digits must be between 1 and {MAX_DIGITS} (10**n_digits texts are scored), "
                         f"got {n_digits!r}")
    n = int(n_digits)
    return [f"{i:0{n}d}" for i in range(10 ** n)]


def rank_of(secret_score: float, candidate_scores: Sequence[float] | np.ndarray) -> float:
    """Rank of the secret among the candidates by score, 1 = the highest score.

    ``candidate_scores`` holds the scores of every candidate, the true secret
    included. Candidates tied with the secret share the mean of their ranks.
    """
    scores = np.asarray(candidate_scores, dtype=float).ravel()
    if scores.size == 0:
        raise ValueError("no candidate scores: exposure needs the scores of every candidate secret")
    if not np.isfinite(secret_score) or not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite numbers (a log-likelihood of -inf or NaN means the "
                         "scoring failed)")
    greater = int(np.sum(scores > secret_score))
    ties = int(np.sum(scores == secret_score))
    return 1.0 + greater + max(ties - 1, 0) / 2.0


def exposure_from_rank(rank: float, n_candidates: int) -> float:
    """Exposure in bits: ``log2(n_candidates) - log2(rank)``."""
    if n_candidates < 1:
        raise ValueError(f"n_candidates must be at least 1, got {n_candidates!r}")
    if not 1 <= rank <= n_candidates:
        raise ValueError(f"rank must be between 1 (best) and n_candidates={n_candidates}, got {rank!r}")
    return math.log2(n_candidates) - math.log2(rank)


def exposure(secret_score: float, candidate_scores: Sequence[float] | np.ndarray) -> float:
    """Exposure of a secret given its score and the scores of all candidates.

    Parameters
    ----------
    secret_score : float
        The model's score (e.g. log-likelihood) of the canary with its true secret.
    candidate_scores : array-like
        The scores of every candidate secret, the true one included.

    Returns
    -------
    float
        ``log2(len(candidate_scores)) - log2(rank)``, between 0 and
        ``log2(len(candidate_scores))``.
    """
    scores = np.asarray(candidate_scores, dtype=float).ravel()
    return exposure_from_rank(rank_of(secret_score, scores), scores.size)


def _call(log_likelihood: LogLikelihood, texts: list[str]) -> np.ndarray:
    values = np.asarray(log_likelihood(texts), dtype=float)
    if values.shape != (len(texts),):
        raise ValueError(f"log_likelihood returned shape {values.shape} for {len(texts)} texts: it must "
                         "return one number per text, shape (len(texts),)")
    if not np.all(np.isfinite(values)):
        raise ValueError("log_likelihood returned NaN or infinite values")
    return values


@dataclass(frozen=True)
class CanaryScore:
    """The audit of one canary: its rank among all candidates and its exposure."""

    canary: Canary
    rank: float
    n_candidates: int
    exposure: float
    secret_log_likelihood: float
    best_candidate: str


def score_canary(canary: Canary, log_likelihood: LogLikelihood, *,
                 candidates: Sequence[str] | None = None, batch_size: int = 1000) -> CanaryScore:
    """Rank a canary's secret among all candidate secrets under a model.

    Parameters
    ----------
    canary : Canary
    log_likelihood : callable
        ``log_likelihood(texts: list[str]) -> np.ndarray`` of shape ``(len(texts),)``:
        the model's log-probability of each whole text (higher = more likely).
    candidates : sequence of str, optional
        The candidate secrets (default: every secret with the canary's number of
        digits). Must contain the true secret.
    batch_size : int, default 1000
        Texts per call of ``log_likelihood``.

    Returns
    -------
    CanaryScore
    """
    cands = list(candidate_secrets(canary.n_digits) if candidates is None else candidates)
    if not cands:
        raise ValueError("candidates is empty: give the candidate secrets (e.g. candidate_secrets(4))")
    if canary.secret not in cands:
        raise ValueError(f"the true secret {canary.secret!r} is not among the candidates")
    if len(set(cands)) != len(cands):
        raise ValueError("candidates contain duplicates: each candidate secret must appear once")
    texts = [canary.with_secret(c) for c in cands]
    scores = np.concatenate([_call(log_likelihood, texts[i:i + batch_size])
                             for i in range(0, len(texts), int(batch_size))])
    secret_score = float(scores[cands.index(canary.secret)])
    rank = rank_of(secret_score, scores)
    return CanaryScore(canary, rank, len(cands), exposure_from_rank(rank, len(cands)), secret_score,
                       cands[int(np.argmax(scores))])


def canary_exposures(canaries: Sequence[Canary], log_likelihood: LogLikelihood, *,
                     batch_size: int = 1000, progress: bool = False) -> pd.DataFrame:
    """Audit every canary: one row each with its repeats, rank and exposure.

    Returns
    -------
    pandas.DataFrame
        Columns ``prefix``, ``secret``, ``repeats``, ``rank``, ``n_candidates``,
        ``exposure`` (bits), ``max_exposure`` (``log2(n_candidates)``),
        ``secret_log_likelihood`` and ``best_candidate``.
    """
    if not canaries:
        raise ValueError("no canaries to audit")
    iterator = canaries
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(canaries, desc="scoring canaries", leave=False)
    rows = []
    for c in iterator:
        s = score_canary(c, log_likelihood, batch_size=batch_size)
        rows.append({"prefix": c.prefix, "secret": c.secret, "repeats": c.repeats, "rank": s.rank,
                     "n_candidates": s.n_candidates, "exposure": s.exposure,
                     "max_exposure": math.log2(s.n_candidates),
                     "secret_log_likelihood": s.secret_log_likelihood, "best_candidate": s.best_candidate})
    return pd.DataFrame(rows)


def extracted(canary: Canary, continuation: str) -> bool:
    """True when ``continuation`` (generated from ``canary.prefix``) starts with the secret.

    Leading spaces are ignored; the secret must not run on into more digits
    (``"49213"`` does not extract ``"4921"``).
    """
    text = continuation.lstrip()
    return text.startswith(canary.secret) and not text[len(canary.secret):len(canary.secret) + 1].isdigit()


__all__ = ["Canary", "CanaryScore", "DEFAULT_TEMPLATE", "NAMES", "MAX_DIGITS", "parse_canary", "make_canaries",
           "insert_canaries", "candidate_secrets", "rank_of", "exposure_from_rank", "exposure", "score_canary",
           "canary_exposures", "extracted"]
