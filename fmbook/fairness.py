"""Plumbing of chapter 06 (a fairness audit): COMPAS filters, group checks, bootstrap
confidence intervals for group metrics, plots, and the audit-report (model card) writer.

The metrics themselves (selection rate, false positive rate, demographic parity
difference) are computed in the notebook, by hand and with fairlearn's ``MetricFrame``;
this module holds what is needed around them:

* :func:`propublica_filter` applies ProPublica's row filters to ``compas-scores-two-years.csv``;
* :func:`sensitive_groups` validates a sensitive column (missing column, missing values,
  a group with no members) so that an audit fails with a clear message instead of
  printing a table of NaN;
* :func:`group_rates` and :func:`bootstrap_group_rates` compute per-group rates from
  confusion counts, with percentile bootstrap confidence intervals;
* :func:`plot_group_rates` and :func:`plot_tradeoff` draw them;
* :func:`write_audit_report` writes a short model card in markdown from measured numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .stats import bootstrap_indices

# --------------------------------------------------------------------------- COMPAS

PROPUBLICA_FILTERS: tuple[tuple[str, str], ...] = (
    ("days_b_screening_arrest within 30 days",
     "the COMPAS screening was done within 30 days of the arrest (otherwise it may "
     "belong to another offence); a missing value is dropped too"),
    ("is_recid != -1", "a recidivism outcome was found"),
    ("c_charge_degree != 'O'", "ordinary traffic offences (no jail time) are removed"),
    ("score_text != 'N/A'", "the person has a valid COMPAS score"),
)
"""ProPublica's four row filters of ``compas-scores-two-years.csv``, with the reason for each
(from ProPublica's ``Compas Analysis.ipynb``)."""

COMPAS_COLUMNS: tuple[str, ...] = (
    "days_b_screening_arrest", "is_recid", "c_charge_degree", "score_text",
    "decile_score", "race", "two_year_recid",
)


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} needs a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what}: column(s) {missing} not found; the frame has "
                       f"{len(df.columns)} columns: {', '.join(map(str, df.columns[:12]))}"
                       f"{' ...' if len(df.columns) > 12 else ''}")


def propublica_filter(df: pd.DataFrame, *, verbose: bool = False) -> pd.DataFrame:
    """Apply ProPublica's filters to the COMPAS two-year data.

    Keeps the rows where ``-30 <= days_b_screening_arrest <= 30``, ``is_recid != -1``,
    ``c_charge_degree != "O"`` and ``score_text != "N/A"`` (see :data:`PROPUBLICA_FILTERS`).
    On the published ``compas-scores-two-years.csv`` (7,214 rows) this leaves 6,172.

    Parameters
    ----------
    df : pandas.DataFrame
        The frame from :func:`fmbook.data.load_compas`.
    verbose : bool, default False
        Print how many rows each filter removes.

    Returns
    -------
    pandas.DataFrame
        The kept rows, index reset.

    Raises
    ------
    KeyError
        If a column the filters need is missing.
    """
    _require_columns(df, COMPAS_COLUMNS[:4], "propublica_filter")
    days = pd.to_numeric(df["days_b_screening_arrest"], errors="coerce")
    masks = [
        days.between(-30, 30),  # NaN compares False: dropped, as in ProPublica's R code
        df["is_recid"] != -1,
        df["c_charge_degree"] != "O",
        df["score_text"].fillna("N/A") != "N/A",
    ]
    keep = pd.Series(True, index=df.index)
    for (name, _), mask in zip(PROPUBLICA_FILTERS, masks):
        before = int(keep.sum())
        keep &= mask
        if verbose:
            print(f"{name:<42} removes {before - int(keep.sum()):>5} rows, {int(keep.sum()):>5} left")
    return df.loc[keep].reset_index(drop=True)


# --------------------------------------------------------------------------- groups


def sensitive_groups(data: pd.DataFrame | pd.Series | np.ndarray | Sequence,
                     column: str | Sequence[str] | None = None, *,
                     groups: Sequence | None = None, min_count: int = 1) -> pd.Series:
    """Return a validated sensitive feature as a string Series, one group label per row.

    Several columns are joined into one intersectional label (``"Female | Black"``).

    Parameters
    ----------
    data : DataFrame, Series or array
        The rows; when a DataFrame, ``column`` names the sensitive column(s).
    column : str or list of str, optional
        Column name(s) in ``data``. Required for a DataFrame.
    groups : sequence, optional
        The groups the audit must report. Each must have at least ``min_count``
        members (a categorical column's categories are used when not given).
    min_count : int, default 1
        Smallest allowed group size.

    Returns
    -------
    pandas.Series of str
        Group labels, index as in ``data``.

    Raises
    ------
    KeyError
        A named column is not in the frame.
    ValueError
        The sensitive feature has missing values, is empty, or a group has fewer
        than ``min_count`` members (a rate of an empty group would be NaN).
    """
    if isinstance(data, pd.DataFrame):
        if column is None:
            raise ValueError("name the sensitive column(s) of the DataFrame with `column=`")
        cols = [column] if isinstance(column, str) else list(column)
        if not cols:
            raise ValueError("`column` is an empty list: name at least one sensitive column")
        missing = [c for c in cols if c not in data.columns]
        if missing:
            raise KeyError(f"sensitive column(s) {missing} not in the data; available columns: "
                           f"{', '.join(map(str, data.columns))}")
        frame = data[cols]
    else:
        if column is not None:
            raise ValueError("`column` is only for a DataFrame; pass the sensitive values directly")
        frame = pd.DataFrame({"group": pd.Series(data) if not isinstance(data, pd.Series) else data})
        cols = list(frame.columns)
    if len(frame) == 0:
        raise ValueError("the sensitive feature is empty: there are no rows to audit")
    nan_rows = frame.isna().any(axis=1)
    if nan_rows.any():
        raise ValueError(f"the sensitive feature {cols} has {int(nan_rows.sum())} missing value(s): "
                         f"drop those rows or give them an explicit group before the audit")
    labels = frame.astype(str).agg(" | ".join, axis=1) if len(cols) > 1 else frame.iloc[:, 0].astype(str)
    if groups is None and len(cols) == 1 and isinstance(frame.iloc[:, 0].dtype, pd.CategoricalDtype):
        groups = list(frame.iloc[:, 0].cat.categories.astype(str))
    counts = labels.value_counts()
    if groups is not None:
        small = {str(g): int(counts.get(str(g), 0)) for g in groups if counts.get(str(g), 0) < min_count}
        if small:
            raise ValueError(f"group(s) with fewer than {min_count} member(s): {small}. A rate of an "
                             f"empty group is NaN, not a measurement: remove unused categories "
                             f"(`.cat.remove_unused_categories()`) or merge small groups")
    else:
        small = counts[counts < min_count]
        if len(small):
            raise ValueError(f"group(s) with fewer than {min_count} member(s): {small.to_dict()}; "
                             f"merge small groups or lower `min_count`")
    labels.name = " x ".join(map(str, cols))
    return labels


# --------------------------------------------------------------------------- rates

RATES: tuple[str, ...] = ("accuracy", "selection_rate", "tpr", "fpr", "fnr", "ppv")
"""The rates :func:`group_rates` knows, all computed from confusion counts."""


def _binary(name: str, values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    uniq = np.unique(arr)
    if not np.isin(uniq, [0, 1]).all():
        raise ValueError(f"{name} must hold 0/1 labels, found {uniq[:5].tolist()}")
    return arr.astype(np.int64)


def _rates_from_counts(c: np.ndarray) -> dict[str, np.ndarray]:
    """``c[..., k]`` holds the counts of cell k = 2*y + yhat (tn, fp, fn, tp)."""
    tn, fp, fn, tp = c[..., 0], c[..., 1], c[..., 2], c[..., 3]
    n = tn + fp + fn + tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "accuracy": (tp + tn) / n,
            "selection_rate": (tp + fp) / n,
            "tpr": tp / (tp + fn),
            "fpr": fp / (fp + tn),
            "fnr": fn / (fn + tp),
            "ppv": tp / (tp + fp),
        }


def _prepare(y_true, y_pred, sensitive) -> tuple[np.ndarray, np.ndarray, list[str]]:
    y = _binary("y_true", y_true)
    p = _binary("y_pred", y_pred)
    s = sensitive if isinstance(sensitive, pd.Series) else sensitive_groups(sensitive)
    if s.isna().any():
        raise ValueError("the sensitive feature has missing values: validate it with sensitive_groups()")
    if not (len(y) == len(p) == len(s)):
        raise ValueError(f"y_true, y_pred and the sensitive feature differ in length: "
                         f"{len(y)}, {len(p)}, {len(s)}")
    names = sorted(pd.unique(s.astype(str)))
    codes = pd.Categorical(s.astype(str), categories=names).codes.astype(np.int64)
    cell = codes * 4 + 2 * y + p
    return cell, y, names


def group_rates(y_true, y_pred, sensitive, *, rates: Sequence[str] = RATES) -> pd.DataFrame:
    """Per-group rates of a binary classifier, from confusion counts.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
        Labels and predictions.
    sensitive : Series or array-like
        Group label of each row (see :func:`sensitive_groups`).
    rates : sequence of str
        Which of :data:`RATES` to report.

    Returns
    -------
    pandas.DataFrame
        One row per group (sorted), one column per rate, plus ``count``.
    """
    unknown = set(rates) - set(RATES)
    if unknown:
        raise ValueError(f"unknown rate(s) {sorted(unknown)}: choose from {RATES}")
    cell, _, names = _prepare(y_true, y_pred, sensitive)
    counts = np.bincount(cell, minlength=4 * len(names)).reshape(len(names), 4)
    values = _rates_from_counts(counts.astype(float))
    out = pd.DataFrame({r: values[r] for r in rates}, index=pd.Index(names, name="group"))
    out["count"] = counts.sum(axis=1)
    return out


def bootstrap_group_rates(y_true, y_pred, sensitive, *, rates: Sequence[str] = RATES,
                          n_boot: int = 200, alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Per-group rates with percentile bootstrap confidence intervals.

    The test set is resampled with replacement ``n_boot`` times (whole rows, so group
    sizes vary as they would in a new sample); each rate is recomputed per group and
    for the *difference* between the largest and smallest group value (as fairlearn's
    ``MetricFrame.difference()``). Resamples in which a rate is undefined for a group
    (no positives, say) are skipped for that rate.

    Parameters
    ----------
    y_true, y_pred : array-like of 0/1
    sensitive : Series or array-like
        Group label per row.
    rates : sequence of str
        Which of :data:`RATES`.
    n_boot : int, default 200
        Number of resamples (at least 10).
    alpha : float, default 0.05
        The interval covers ``1 - alpha``.
    seed : int, default 0
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        Index: the groups, then ``"difference"``; columns: a MultiIndex
        ``(rate, "value" | "lo" | "hi")``. ``value`` is the estimate on the
        full sample.
    """
    if int(n_boot) < 10:
        raise ValueError(f"n_boot must be at least 10, got {n_boot}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    unknown = set(rates) - set(RATES)
    if unknown:
        raise ValueError(f"unknown rate(s) {sorted(unknown)}: choose from {RATES}")
    cell, _, names = _prepare(y_true, y_pred, sensitive)
    g, n = len(names), len(cell)
    point = _rates_from_counts(np.bincount(cell, minlength=4 * g).reshape(g, 4).astype(float))
    boot = np.empty((int(n_boot), g, 4))
    for b, idx in enumerate(bootstrap_indices(n, n_boot, seed=seed)):
        boot[b] = np.bincount(cell[idx], minlength=4 * g).reshape(g, 4)
    sampled = _rates_from_counts(boot)
    q = [100 * alpha / 2, 100 * (1 - alpha / 2)]
    columns, data = [], []
    for r in rates:
        per = sampled[r]  # (n_boot, g)
        lo, hi = np.nanpercentile(per, q, axis=0)
        with np.errstate(invalid="ignore"):
            diff = np.nanmax(per, axis=1) - np.nanmin(per, axis=1) if g > 1 else np.zeros(len(per))
        dlo, dhi = np.nanpercentile(diff, q)
        pv = point[r]
        pdiff = float(np.nanmax(pv) - np.nanmin(pv)) if g > 1 else 0.0
        columns += [(r, "value"), (r, "lo"), (r, "hi")]
        data += [np.append(pv, pdiff), np.append(lo, dlo), np.append(hi, dhi)]
    out = pd.DataFrame(np.column_stack(data), index=pd.Index(names + ["difference"], name="group"),
                       columns=pd.MultiIndex.from_tuples(columns))
    return out


# --------------------------------------------------------------------------- plots


def plot_group_rates(table: pd.DataFrame, rates: Sequence[str] = ("selection_rate", "tpr", "fpr"), *,
                     title: str | None = None, ax=None):
    """Bar chart of per-group rates with their confidence intervals.

    ``table`` is the output of :func:`bootstrap_group_rates` (the ``difference`` row
    is left out). Returns the Figure.
    """
    import matplotlib.pyplot as plt

    groups = [g for g in table.index if g != "difference"]
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.4))
    width = 0.8 / len(rates)
    x = np.arange(len(groups))
    for i, r in enumerate(rates):
        v = table.loc[groups, (r, "value")].to_numpy()
        err = np.vstack([v - table.loc[groups, (r, "lo")].to_numpy(),
                         table.loc[groups, (r, "hi")].to_numpy() - v])
        ax.bar(x + (i - (len(rates) - 1) / 2) * width, v, width, yerr=err, capsize=3, label=r)
    ax.set_xticks(x, groups, rotation=30 if max(len(g) for g in groups) > 8 else 0, ha="right")
    ax.set_ylabel("rate")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_tradeoff(results: pd.DataFrame, *, x: str = "dp_difference", y: str = "accuracy",
                  baseline: str = "baseline", title: str | None = None, ax=None):
    """Scatter of accuracy against disparity, one labelled point per model, baseline marked.

    ``results`` has one row per model (index = model name) and columns ``x`` and ``y``.
    """
    import matplotlib.pyplot as plt

    _require_columns(results, [x, y], "plot_tradeoff")
    if baseline not in results.index:
        raise KeyError(f"baseline {baseline!r} is not a row of the results: {list(results.index)}")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 4))
    for name, row in results.iterrows():
        is_base = name == baseline
        ax.scatter(row[x], row[y], s=120 if is_base else 50, marker="*" if is_base else "o",
                   color="black" if is_base else None, zorder=3)
        ax.annotate(str(name), (row[x], row[y]), textcoords="offset points",
                    xytext=(6, -12) if is_base else (6, 4), fontsize=8, weight="bold" if is_base else None)
    ax.set_xlabel(x.replace("_", " ") + " (lower is fairer)")
    ax.set_ylabel(y + " (test)")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- report


@dataclass
class AuditReport:
    """The content of a model card; :func:`write_audit_report` renders it as markdown.

    Attributes
    ----------
    model : str
        What the model is.
    data : str
        Which data, which split, how many rows.
    intended_use : str
        What it is meant for, and what not.
    overall : mapping of str to float
        Overall metrics (test accuracy, demographic parity difference, ...).
    by_group : pandas.DataFrame
        Metrics by group (one row per group).
    mitigation : str
        The mitigation chosen and why.
    mitigation_cost : mapping of str to float
        What it cost and gained (accuracy before/after, disparity before/after).
    caveats : list of str
        What the audit cannot see.
    """

    model: str
    data: str
    intended_use: str
    overall: Mapping[str, float]
    by_group: pd.DataFrame
    mitigation: str
    mitigation_cost: Mapping[str, float]
    caveats: Sequence[str] = field(default_factory=list)


def _fmt(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "NaN" if not np.isfinite(v) else f"{v:.3f}"
    return str(v).replace("|", "\\|")  # a pipe would split a markdown table cell


def write_audit_report(report: AuditReport, path: str | Path | None = None, *,
                       title: str = "Audit report") -> str:
    """Render an :class:`AuditReport` as a markdown model card (and write it to ``path``).

    Parameters
    ----------
    report : AuditReport
        Measured numbers and the text around them.
    path : str or Path, optional
        When given, the markdown is written there (folders are created).
    title : str
        The card's heading.

    Returns
    -------
    str
        The markdown.

    Raises
    ------
    ValueError
        An empty required field, no groups, or a NaN metric (a card must not
        report a number that was not measured).
    """
    if not isinstance(report, AuditReport):
        raise TypeError(f"write_audit_report needs an AuditReport, got {type(report).__name__}")
    for name in ("model", "data", "intended_use", "mitigation"):
        if not str(getattr(report, name)).strip():
            raise ValueError(f"the report's {name!r} is empty: say what it is")
    if not isinstance(report.by_group, pd.DataFrame) or report.by_group.empty:
        raise ValueError("the report has no metrics by group: pass a non-empty DataFrame as by_group")
    numbers = list(report.overall.values()) + list(report.mitigation_cost.values())
    numeric = report.by_group.select_dtypes("number").to_numpy(dtype=float)
    if any(not np.isfinite(float(v)) for v in numbers) or (numeric.size and not np.isfinite(numeric).all()):
        raise ValueError("the report holds a NaN or infinite metric: a card reports only measured numbers")

    table = report.by_group.copy()
    header = "| group | " + " | ".join(_fmt(c) for c in table.columns) + " |"
    rule = "| --- |" + " ---: |" * len(table.columns)
    cells = {c: [_fmt(v) for v in table[c].tolist()] for c in table.columns}  # per column: ints stay ints
    rows = [f"| {_fmt(g)} | " + " | ".join(cells[c][i] for c in table.columns) + " |"
            for i, g in enumerate(table.index)]
    lines = [
        f"# {title}", "",
        "## Model", "", report.model, "",
        "## Data", "", report.data, "",
        "## Intended use", "", report.intended_use, "",
        "## Metrics (test set)", "",
        *[f"- {k}: {_fmt(v)}" for k, v in report.overall.items()], "",
        "### By group", "", header, rule, *rows, "",
        "## Mitigation", "", report.mitigation, "",
        *[f"- {k}: {_fmt(v)}" for k, v in report.mitigation_cost.items()], "",
        "## Caveats", "",
        *([f"- {c}" for c in report.caveats] or ["- none stated"]), "",
    ]
    text = "\n".join(lines)
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return text


__all__ = [
    "PROPUBLICA_FILTERS", "propublica_filter", "sensitive_groups", "RATES", "group_rates",
    "bootstrap_group_rates", "plot_group_rates", "plot_tradeoff", "AuditReport", "write_audit_report",
]
