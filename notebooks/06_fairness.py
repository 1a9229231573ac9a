# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 06: A fairness audit
#
# You train an income classifier on the UCI Adult census data and **audit** it: how often it
# says "above $50K" for women and for men, for each race and for their intersections, and how
# often it is wrong for each, with confidence intervals. You see that deleting the `sex` column
# does not delete the disparity, then mitigate it three ways (before, during and after training)
# and measure what each costs. Then a case study: ProPublica's COMPAS analysis of a recidivism
# score, reproduced from the raw data, and the reply that the score is calibrated. Both are
# true, and a theorem says they must conflict. The chapter ends with an audit report (a model
# card) written from the measured numbers.
#
# | result | expected in every profile |
# | --- | --- |
# | COMPAS rows after ProPublica's filters | 6,172 |
# | COMPAS: did not reoffend, labelled higher risk (African-American / white) | 44.9% / 23.5% (±1 point) |
# | COMPAS: did reoffend, labelled lower risk (African-American / white) | 28.0% / 47.7% (±1 point) |
# | Adult baseline: demographic parity difference by sex (test set) | about 0.15 to 0.20 |
# | after `ExponentiatedGradient(DemographicParity)` (test set) | at most 0.03, costing at most 2 points of accuracy |
#
# Time: `smoke` under a minute (8,000 training rows), `fast` and `full` one to two minutes on a
# laptop CPU (all 32,561 training rows; they differ in the number of bootstrap resamples).
# No GPU is needed.

# %%
# Set-up. In JupyterLab (`make lab`) fmbook is already installed and this does nothing.
# On Colab it installs fmbook from the repository; data sets then download on first use.
import importlib.util, subprocess, sys
if importlib.util.find_spec("fmbook") is None:
    if "google.colab" in sys.modules:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                               "fmbook[all] @ git+https://github.com/fmbook/fmbook.git"])
    else:
        raise ModuleNotFoundError("fmbook is not installed: run `make lab` in the repository, "
                                  "or `pip install -e .` in this environment")

# %% [markdown]
# ## Set-up
#
# This chapter uses scikit-learn and fairlearn only (no deep learning framework), so only
# Python's and NumPy's random generators need a seed. The models are small: one BLAS thread
# is faster here than several that wait for each other, so we ask for one.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

import fmbook
from fmbook import data
from fmbook.fairness import (AuditReport, bootstrap_group_rates, group_rates, plot_group_rates,
                             plot_tradeoff, propublica_filter, sensitive_groups, write_audit_report)

ch = fmbook.start("06_fairness", seed=0, frameworks=("random", "numpy"))
cfg = ch.settings
threadpool_limits(1)
print(cfg)

# %% [markdown]
# ## Part 1: UCI Adult
#
# ### The raw files and their cleaning
#
# Adult comes as two comma-separated files without a header. Three things need cleaning, and
# `data.load_adult()` does them: unknown values are written `?`; the test file starts with a
# stray line `|1x3 Cross validator`; and its labels end in a dot (`>50K.`), so a naive
# comparison with `>50K` would call every test person a low earner. Look at the raw bytes first:

# %%
raw_train = data.fetch_file("adult", "adult.data").read_text().splitlines()
raw_test = data.fetch_file("adult", "adult.test").read_text().splitlines()
print("adult.test, first two lines:", *raw_test[:2], sep="\n  ")
print("a training row with '?':\n  " + next(line for line in raw_train if "?" in line))

# %%
train_all, test = data.load_adult()
print("train", train_all.shape, " test", test.shape)
print("missing values per column (train):", train_all.isna().sum()[lambda s: s > 0].to_dict())
print("test labels now:", test["income"].value_counts().to_dict(), "(1 = above $50K)")
train_all.head(3)

# %% [markdown]
# **Common mistake: the trailing dot.** Compare the raw test labels with `">50K"`, as the
# training file would suggest, and the test set has no high earners at all; every "accuracy"
# computed on it is then the share of predictions equal to 0.

# %%
naive = sum(line.rsplit(",", 1)[-1].strip() == ">50K" for line in raw_test[1:] if line.strip())
print(f"raw test labels equal to '>50K': {naive}; after cleaning: {int(test['income'].sum()):,}")

# %% [markdown]
# The `smoke` profile trains on a random subset of the training file to stay fast; the test set
# is always the whole of `adult.test`.

# %%
train = train_all if cfg.n_train is None else train_all.sample(n=cfg.n_train, random_state=ch.seed)
print(f"training on {len(train):,} of {len(train_all):,} rows; testing on {len(test):,}")
ch.note("Adult train rows used", len(train))

# %% [markdown]
# ### Who is in the data, and who earns above $50K
#
# Before any model, look at the **base rates**: the share of each group with the positive
# label. A model that learns the labels well will reproduce these differences, whatever their
# causes. Look at representation too: a group with a few hundred rows gets wide error bars.

# %%
def representation(df, column):
    """Rows, share of rows and base rate (share above $50K) per group."""
    g = df.groupby(column, observed=True)["income"]
    return pd.DataFrame({"rows": g.size(), "share": g.size() / len(df), "base rate": g.mean()})


rep_sex, rep_race = representation(test, "sex"), representation(test, "race")
display(rep_sex.round(3), rep_race.round(3))

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, rep, name in zip(axes, (rep_sex, rep_race), ("sex", "race")):
    ax.bar(rep.index.astype(str), rep["base rate"], color="tab:blue")
    for i, (share, rate) in enumerate(zip(rep["share"], rep["base rate"])):
        ax.text(i, rate + 0.01, f"{share:.0%} of rows", ha="center", fontsize=8)
    ax.set_title(f"share above $50K by {name} (test)")
    ax.tick_params(axis="x", rotation=20)
    ax.set_ylim(0, 0.45)
plt.tight_layout()

# %% [markdown]
# ### Features and a baseline
#
# Two columns are left out of the features: `fnlwgt` is the census's sampling weight (how many
# people a row stands for), not a property of the person, and `education` repeats
# `education_num` as text. Missing categories stay as their own "unknown" value. The baseline is
# a logistic regression in a scikit-learn pipeline: scale the numbers, one-hot encode the
# categories, fit. Note that `sex` and `race` are among the features, for now.

# %%
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL = ["workclass", "marital_status", "occupation", "relationship", "race", "sex",
               "native_country"]


def make_logreg(categorical):
    encode = ColumnTransformer([
        ("num", StandardScaler(), NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20, sparse_output=False),
         categorical)])
    return Pipeline([("encode", encode),
                     ("model", LogisticRegression(solver="newton-cholesky", max_iter=200))])


y_train, y_test = train["income"].to_numpy(), test["income"].to_numpy()
baseline = make_logreg(CATEGORICAL).fit(train, y_train)
pred_lr = baseline.predict(test)
acc_lr = accuracy_score(y_test, pred_lr)
majority = max(y_test.mean(), 1 - y_test.mean())
print(f"logistic regression: test accuracy {acc_lr:.4f} (always 'below $50K' scores {majority:.4f})")

# %%
ch.check("Adult logistic regression test accuracy", acc_lr,
         {"smoke": (0.83, 0.87), "fast": (0.84, 0.87), "full": (0.84, 0.87)})

# %% [markdown]
# A gradient-boosted model is more accurate. scikit-learn's `HistGradientBoostingClassifier`
# takes the categorical columns as they are (their pandas `category` dtype says which).

# %%
features = NUMERIC + CATEGORICAL
boosted = HistGradientBoostingClassifier(categorical_features="from_dtype", max_iter=cfg.gb_max_iter,
                                         random_state=ch.seed, verbose=0)
boosted.fit(train[features], y_train)
pred_gb = boosted.predict(test[features])
acc_gb = accuracy_score(y_test, pred_gb)
print(f"gradient boosting ({boosted.n_iter_} rounds): test accuracy {acc_gb:.4f}")
ch.check("Adult gradient boosting test accuracy", acc_gb,
         {"smoke": (0.84, 0.88), "fast": (0.86, 0.885), "full": (0.86, 0.885)})

# %% [markdown]
# ## Auditing with `MetricFrame`
#
# fairlearn's `MetricFrame` evaluates any metric separately for each group. Four rates tell most
# of the story for a yes/no decision:
#
# - **accuracy**: the share of correct predictions;
# - **selection rate**: the share predicted positive (here: "above $50K"), whatever the truth;
# - **true positive rate** (TPR): among people truly above $50K, the share the model finds;
# - **false positive rate** (FPR): among people truly below, the share wrongly predicted above.
#
# `sensitive_groups` validates the sensitive column first: a misspelt column or a group with no
# members stops with a clear error instead of a table of NaN.

# %%
from fairlearn.metrics import (MetricFrame, count, demographic_parity_difference,
                               demographic_parity_ratio, equalized_odds_difference,
                               false_positive_rate, selection_rate, true_positive_rate)

METRICS = {"accuracy": accuracy_score, "selection_rate": selection_rate,
           "tpr": true_positive_rate, "fpr": false_positive_rate, "count": count}

sex_train, sex_test = sensitive_groups(train, "sex"), sensitive_groups(test, "sex")
race_test = sensitive_groups(test, "race")
sex_race_test = sensitive_groups(test, ["sex", "race"])

mf_sex = MetricFrame(metrics=METRICS, y_true=y_test, y_pred=pred_lr, sensitive_features=sex_test)
mf_sex.by_group.round(3)

# %%
sel = mf_sex.by_group["selection_rate"]
print(f"men are selected {sel['Male'] / sel['Female']:.1f} times as often as women "
      f"({sel['Male']:.1%} against {sel['Female']:.1%})")

# %% [markdown]
# Compare the TPR and FPR columns too: the errors differ by group as well, not only the
# selections. `difference()` and `ratio()` summarise each column across groups:

# %%
pd.DataFrame({"difference": mf_sex.difference(), "ratio": mf_sex.ratio()}).drop(index="count").round(3)

# %%
try:
    sensitive_groups(test, "gender")
except KeyError as err:
    print("KeyError:", err)
try:
    sensitive_groups(test["sex"].cat.add_categories(["Nonbinary"]))
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# By race, and by sex and race together (intersectional groups): some groups are small, so the
# point estimates alone would mislead. **Bootstrap confidence intervals** resample the test set
# with replacement many times and recompute each rate; the middle 95% of the resampled values
# is the interval. `bootstrap_group_rates` does this from confusion counts (fast), and agrees
# with `MetricFrame` on the point estimates:

# %%
mf_race = MetricFrame(metrics=METRICS, y_true=y_test, y_pred=pred_lr, sensitive_features=race_test)
mf_sex_race = MetricFrame(metrics=METRICS, y_true=y_test, y_pred=pred_lr,
                          sensitive_features=sex_race_test)
ci_sex = bootstrap_group_rates(y_test, pred_lr, sex_test, n_boot=cfg.n_bootstrap, seed=ch.seed)
ci_race = bootstrap_group_rates(y_test, pred_lr, race_test, n_boot=cfg.n_bootstrap, seed=ch.seed)
ci_sex_race = bootstrap_group_rates(y_test, pred_lr, sex_race_test, n_boot=cfg.n_bootstrap, seed=ch.seed)

for name in ("accuracy", "selection_rate", "tpr", "fpr"):
    for ci, mf in ((ci_sex, mf_sex), (ci_race, mf_race), (ci_sex_race, mf_sex_race)):
        assert np.allclose(ci.drop(index="difference")[(name, "value")], mf.by_group[name].sort_index()), name
print(f"{cfg.n_bootstrap} bootstrap resamples; point estimates equal MetricFrame's")
ci_sex_race.xs("value", axis=1, level=1).join(mf_sex_race.by_group["count"]).round(3)

# %%
fig, axes = plt.subplot_mosaic([["sex", "race"], ["both", "both"]], figsize=(12, 7),
                               gridspec_kw={"width_ratios": [1, 2]})
plot_group_rates(ci_sex, title="by sex (95% bootstrap intervals)", ax=axes["sex"])
plot_group_rates(ci_race, title="by race", ax=axes["race"])
plot_group_rates(ci_sex_race, title="by sex and race", ax=axes["both"]);

# %% [markdown]
# Look at the widths: for the large groups the intervals are a point or two; for small
# intersectional groups (e.g. women in `Amer-Indian-Eskimo`, with a few dozen test rows) they
# span tens of points. A "difference" between two such groups can be pure noise.
#
# ### One number per fairness definition
#
# - **Demographic parity difference**: the largest gap in selection rate between groups (0 =
#   every group selected equally often). **Ratio**: smallest over largest selection rate (the
#   US "four-fifths rule" of thumb asks for at least 0.8).
# - **Equalized odds difference**: the larger of the TPR gap and the FPR gap (0 = equally
#   accurate for each group, among the positives and among the negatives).

# %%
dpd_lr = demographic_parity_difference(y_test, pred_lr, sensitive_features=sex_test)
dpr_lr = demographic_parity_ratio(y_test, pred_lr, sensitive_features=sex_test)
eod_lr = equalized_odds_difference(y_test, pred_lr, sensitive_features=sex_test)
dpd_lo, dpd_hi = ci_sex.loc["difference", ("selection_rate", "lo")], ci_sex.loc["difference", ("selection_rate", "hi")]
print(f"by sex: DP difference {dpd_lr:.3f} (95% CI {dpd_lo:.3f} to {dpd_hi:.3f}), "
      f"DP ratio {dpr_lr:.3f}, equalized odds difference {eod_lr:.3f}")
print(f"by race: DP difference "
      f"{demographic_parity_difference(y_test, pred_lr, sensitive_features=race_test):.3f}")
ch.note("baseline DP ratio (sex)", dpr_lr)
ch.note("baseline equalized odds difference (sex)", eod_lr)

# %%
ch.check("baseline demographic parity difference (sex)", dpd_lr,
         {"smoke": (0.14, 0.22), "fast": (0.14, 0.22), "full": (0.14, 0.22)})

# %% [markdown]
# ## Common mistake: "we do not use sex, so the model cannot discriminate"
#
# Drop `sex` and `race` from the features and train again. The disparity barely moves, because
# other columns carry the same information: `relationship` says *Husband* or *Wife*, and
# marital status, occupation and hours worked differ by sex in this census.

# %%
blind = make_logreg([c for c in CATEGORICAL if c not in ("sex", "race")]).fit(train, y_train)
pred_blind = blind.predict(test)
dpd_blind = demographic_parity_difference(y_test, pred_blind, sensitive_features=sex_test)
print(f"without sex and race: accuracy {accuracy_score(y_test, pred_blind):.4f}, "
      f"DP difference by sex {dpd_blind:.3f} (with them: {dpd_lr:.3f})")
ch.check("DP difference with sex and race removed", dpd_blind,
         {"smoke": (0.12, 0.22), "fast": (0.12, 0.22), "full": (0.12, 0.22)})

# %% [markdown]
# How well do the remaining columns predict sex? Train a classifier for *sex* from the blind
# features; its ROC AUC measures how much of `sex` leaks through proxies (0.5 = none, 1 = all).

# %%
from sklearn.metrics import roc_auc_score

is_female_train, is_female_test = (train["sex"] == "Female").to_numpy(), (test["sex"] == "Female").to_numpy()
proxy = make_logreg([c for c in CATEGORICAL if c not in ("sex", "race")])
proxy.fit(train.drop(columns="income"), is_female_train)
auc_proxy = roc_auc_score(is_female_test, proxy.predict_proba(test)[:, 1])
print(f"sex predicted from the other columns: ROC AUC {auc_proxy:.3f}")
ch.check("ROC AUC of sex from proxy features", auc_proxy,
         {"smoke": (0.8, 1.0), "fast": (0.8, 1.0), "full": (0.8, 1.0)})

# %%
names = proxy[:-1].get_feature_names_out()
encoded = pd.DataFrame(proxy[:-1].transform(test), columns=names)
corr = encoded.corrwith(pd.Series(is_female_test.astype(float))).dropna()
top = corr.reindex(corr.abs().sort_values(ascending=False).index)[:8]
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh([n.split("__")[1] for n in top.index][::-1], top.to_numpy()[::-1],
        color=["tab:red" if v > 0 else "tab:blue" for v in top.to_numpy()[::-1]])
ax.set_xlabel("correlation with being female (test)")
ax.set_title("the strongest proxies for sex")
plt.tight_layout()

# %% [markdown]
# ## Mitigation, three ways
#
# All start from the baseline's encoded features and are compared on the held-out test set.
# Each uses `sex` in some way: the ExponentiatedGradient models have it among their features;
# CorrelationRemover needs each person's `sex` to clean their features, when training and when
# predicting; ThresholdOptimizer applies a different threshold per sex when predicting. That
# matters in law: in many places a decision may not use a protected attribute directly, and the
# blind model above showed that leaving it out does not remove the disparity.
#
# 1. **Pre-processing**, `CorrelationRemover`: removes from every feature its linear correlation
#    with `sex`, then drops `sex`; the model is trained on the cleaned features.
# 2. **In-processing**, `ExponentiatedGradient`: trains a sequence of logistic regressions on
#    reweighted data and returns a randomised mixture of them that satisfies a constraint:
#    `DemographicParity` (equal selection rates) or `EqualizedOdds` (equal TPR and FPR), up to
#    `eps`.
# 3. **Post-processing**, `ThresholdOptimizer`: keeps the baseline's scores and picks a
#    (randomised) threshold per group so that selection rates are equal.

# %%
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.preprocessing import CorrelationRemover
from fairlearn.reductions import DemographicParity, EqualizedOdds, ExponentiatedGradient

encode = baseline[:-1]  # the fitted encoding of the baseline pipeline
columns = encode.get_feature_names_out()
X_train = pd.DataFrame(encode.transform(train), columns=columns)
X_test = pd.DataFrame(encode.transform(test), columns=columns)
sex_columns = [c for c in columns if c.startswith("cat__sex_")]
print(X_train.shape, "sex columns:", sex_columns)


def logreg():
    return LogisticRegression(solver="newton-cholesky", max_iter=200)


def fit_correlation_remover():
    remover = CorrelationRemover(sensitive_feature_ids=sex_columns, alpha=1.0).fit(X_train)
    model = logreg().fit(remover.transform(X_train), y_train)
    return lambda X: model.predict(remover.transform(X))


def fit_reduction(constraint):
    mitigator = ExponentiatedGradient(logreg(), constraints=constraint, eps=0.01)
    mitigator.fit(X_train, y_train, sensitive_features=sex_train)
    return lambda X: mitigator.predict(X, random_state=ch.seed)


def fit_threshold_optimizer():
    post = ThresholdOptimizer(estimator=baseline[-1], constraints="demographic_parity",
                              predict_method="predict_proba", objective="accuracy_score", prefit=True)
    post.fit(X_train.to_numpy(), y_train, sensitive_features=sex_train)  # the pipeline saw arrays
    return lambda X: post.predict(X.to_numpy(), sensitive_features=sex_test, random_state=ch.seed)


mitigations = {
    "CorrelationRemover": fit_correlation_remover,
    "ExpGrad DemographicParity": lambda: fit_reduction(DemographicParity()),
    "ExpGrad EqualizedOdds": lambda: fit_reduction(EqualizedOdds()),
    "ThresholdOptimizer DP": fit_threshold_optimizer,
}
predictions = {"baseline": pred_lr, "blind (no sex, race)": pred_blind}
for name, fit in tqdm(mitigations.items(), desc="mitigations"):
    predictions[name] = fit()(X_test)

# %% [markdown]
# ### The trade-off on the test set

# %%
results = pd.DataFrame({
    name: {"accuracy": accuracy_score(y_test, p),
           "dp_difference": demographic_parity_difference(y_test, p, sensitive_features=sex_test),
           "eo_difference": equalized_odds_difference(y_test, p, sensitive_features=sex_test),
           "selection_rate_female": p[is_female_test].mean(),
           "selection_rate_male": p[~is_female_test].mean()}
    for name, p in predictions.items()}).T
results["accuracy_cost"] = results.loc["baseline", "accuracy"] - results["accuracy"]
results.round(4)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
plot_tradeoff(results, x="dp_difference", title="accuracy against demographic parity (sex)", ax=axes[0])
plot_tradeoff(results, x="eo_difference", title="accuracy against equalized odds (sex)", ax=axes[1]);

# %% [markdown]
# Read the two panels together. Each method fixes the gap it was asked to fix, and not the
# other: the demographic parity mixture *widens* the equalized-odds gap (it selects more
# women, including more low earners), while the equalized-odds mixture leaves a large selection
# gap. `CorrelationRemover` removes only *linear* correlation, so it helps less. There is no
# free lunch, and no method that satisfies every definition.

# %%
dpd_eg = results.loc["ExpGrad DemographicParity", "dp_difference"]
cost_eg = results.loc["ExpGrad DemographicParity", "accuracy_cost"]
print(f"ExponentiatedGradient(DemographicParity): DP difference {dpd_lr:.3f} -> {dpd_eg:.3f}, "
      f"accuracy {results.loc['baseline', 'accuracy']:.4f} -> "
      f"{results.loc['ExpGrad DemographicParity', 'accuracy']:.4f} (cost {100 * cost_eg:.2f} points)")
ch.check("DP difference after ExpGrad(DemographicParity)", dpd_eg,
         {"smoke": (0.0, 0.03), "fast": (0.0, 0.03), "full": (0.0, 0.03)})
ch.check("accuracy cost of ExpGrad(DemographicParity)", cost_eg,
         {"smoke": (-0.005, 0.02), "fast": (-0.005, 0.02), "full": (-0.005, 0.02)})
ch.note("EO difference after ExpGrad(EqualizedOdds)", results.loc["ExpGrad EqualizedOdds", "eo_difference"])
ch.note("DP difference after ThresholdOptimizer", results.loc["ThresholdOptimizer DP", "dp_difference"])

# %% [markdown]
# **Common mistake: measuring fairness on the training data.** The reductions enforce their
# constraint on the training set, where it always looks satisfied. Only held-out data tell you
# whether it generalises; every number above is on `adult.test`.
#
# ## Explorer: one threshold per group
#
# Post-processing in your hands: the baseline's scores, with a separate decision threshold for
# women and for men. Move the sliders and watch the selection rates, the error rates and the
# accuracy. (Without a live kernel you see the default, 0.5 for both.)

# %%
from fmbook.widgets import explore

scores_test = baseline.predict_proba(test)[:, 1]


def render_thresholds(t_female=0.5, t_male=0.5):
    pred = np.where(is_female_test, scores_test >= t_female, scores_test >= t_male).astype(int)
    rates = group_rates(y_test, pred, sex_test, rates=("selection_rate", "tpr", "fpr", "accuracy"))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    rates.drop(columns="count").T.plot.bar(ax=ax, rot=0, color=["tab:red", "tab:blue"])
    ax.set_ylim(0, 1)
    ax.set_title(f"thresholds F {t_female:.2f} / M {t_male:.2f}: accuracy {accuracy_score(y_test, pred):.3f}, "
                 f"DP difference {rates['selection_rate'].max() - rates['selection_rate'].min():.3f}",
                 fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return fig


import ipywidgets as widgets

explore(render_thresholds,
        t_female=widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.01, description="women"),
        t_male=widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.01, description="men"));

# %% [markdown]
# Lower `t_female` (keeping `t_male` at 0.5) until the two selection rates meet, and compare the
# accuracy you get with `ThresholdOptimizer`'s in the table above.
#
# ## Part 2: COMPAS, the case study
#
# In 2016 ProPublica analysed COMPAS, a score used in Broward County, Florida, to predict
# whether a defendant will reoffend within two years. The data: 7,214 people with their score
# (a decile 1 to 10; `score_text` Low for 1 to 4, Medium for 5 to 7, High for 8 to 10) and
# whether they were charged again within two years.
#
# ProPublica's filters (their `Compas Analysis` notebook) keep people whose COMPAS screening
# was within 30 days of the arrest, with a known outcome, not a mere traffic offence, and with a
# valid score:

# %%
compas_raw = data.load_compas()
compas = propublica_filter(compas_raw, verbose=True)
print(f"{len(compas_raw):,} rows -> {len(compas):,} after ProPublica's filters")
ch.check("COMPAS rows after ProPublica's filters", len(compas),
         {"smoke": (6172, 6172), "fast": (6172, 6172), "full": (6172, 6172)})
compas["race"].value_counts()

# %% [markdown]
# ### ProPublica's headline: unequal errors
#
# ProPublica counted "higher risk" as Medium or High (decile 5 or more) and asked two questions
# per race. Among people who did **not** reoffend, how many were labelled higher risk (the false
# positive rate)? Among those who **did**, how many were labelled lower risk (the false
# negative rate)? Their error-rate tables were computed on everyone with a valid score and a
# two-year outcome, which is all 7,214 rows of this file; the 30-day filter above was for their
# regression models. We compute both.

# %%
def compas_error_rates(df):
    """False positive and false negative rates of 'higher risk' (decile >= 5), by race."""
    rows = {}
    for race in ("African-American", "Caucasian"):
        g = df[df["race"] == race]
        higher = g["decile_score"] >= 5
        reoffended = g["two_year_recid"] == 1
        rows[race] = {
            "people": len(g),
            "FPR: no reoffence, higher risk": (higher & ~reoffended).sum() / (~reoffended).sum(),
            "FNR: reoffended, lower risk": (~higher & reoffended).sum() / reoffended.sum(),
        }
    return pd.DataFrame(rows).T


compas_pop = compas_raw[compas_raw["score_text"].isin(["Low", "Medium", "High"])]
rates_pop = compas_error_rates(compas_pop)
rates_filtered = compas_error_rates(compas)
pd.concat({"all 7,214 (ProPublica's tables)": rates_pop, "6,172 filtered": rates_filtered}).round(4)

# %%
PROPUBLICA = {("African-American", "FPR: no reoffence, higher risk"): 0.449,
              ("Caucasian", "FPR: no reoffence, higher risk"): 0.235,
              ("African-American", "FNR: reoffended, lower risk"): 0.280,
              ("Caucasian", "FNR: reoffended, lower risk"): 0.477}
for (race, rate), published in PROPUBLICA.items():
    ch.check(f"COMPAS {rate.split(':')[0]} {race}", rates_pop.loc[race, rate],
             {p: (published - 0.01, published + 0.01) for p in ("smoke", "fast", "full")})

# %% [markdown]
# All four match ProPublica's figures. Black defendants who did not reoffend were labelled
# higher risk almost twice as often as white defendants who did not; white defendants who did
# reoffend were labelled lower risk far more often. Note also how much the **row filter**
# matters: the same computation on the 6,172 filtered rows moves the rates by up to 2.5 points.
# An audit has to say which rows it counted.
#
# ### The other side: the score is calibrated
#
# Northpointe, the score's maker, answered that COMPAS means the same for both groups: at each
# score, the share who reoffend is about the same. That is **calibration**, and it holds too:

# %%
compas_bw = compas_pop[compas_pop["race"].isin(["African-American", "Caucasian"])]
calib = (compas_bw.groupby(["decile_score", "race"])["two_year_recid"].agg(["mean", "size"])
         .unstack("race"))
fig, ax = plt.subplots(figsize=(6, 3.6))
for race, colour in (("African-American", "tab:purple"), ("Caucasian", "tab:orange")):
    m, n = calib[("mean", race)], calib[("size", race)]
    se = np.sqrt(m * (1 - m) / n)
    ax.errorbar(m.index, m, yerr=1.96 * se, marker="o", capsize=3, color=colour, label=race)
ax.set_xlabel("COMPAS decile score")
ax.set_ylabel("reoffended within two years")
ax.set_title("calibration by race (95% intervals)")
ax.legend()
ax.grid(alpha=0.3)
plt.tight_layout()

# %%
sizes = calib["size"].sum(axis=1)
calibration_gap = float((calib[("mean", "African-American")] - calib[("mean", "Caucasian")]).abs()
                        .mul(sizes).sum() / sizes.sum())
print(f"mean absolute gap in reoffence rate at the same decile: {100 * calibration_gap:.1f} points")
ch.check("COMPAS calibration gap (mean |difference| per decile)", calibration_gap,
         {"smoke": (0.0, 0.06), "fast": (0.0, 0.06), "full": (0.0, 0.06)})

# %% [markdown]
# ### Both, and a theorem: why they cannot both be equal
#
# For any yes/no prediction, four numbers are tied together by an identity (Chouldechova
# 2017). With base rate $p$ (the share who reoffend), positive predictive value PPV (the share
# of "higher risk" who reoffend) and false negative rate FNR:
#
# $$\mathrm{FPR} = \frac{p}{1-p}\cdot\frac{1-\mathrm{PPV}}{\mathrm{PPV}}\cdot(1-\mathrm{FNR}).$$
#
# If two groups have **different base rates** and the same PPV (calibration of the label), they
# cannot also have the same FPR *and* the same FNR. Kleinberg, Mullainathan and Raghavan (2016)
# prove the same for calibrated scores. Check it with the measured numbers:

# %%
rows = {}
for race in ("African-American", "Caucasian"):
    g = compas_bw[compas_bw["race"] == race]
    higher, y = g["decile_score"] >= 5, g["two_year_recid"] == 1
    p, ppv = y.mean(), (higher & y).sum() / higher.sum()
    fnr, fpr = (~higher & y).sum() / y.sum(), (higher & ~y).sum() / (~y).sum()
    rows[race] = {"base rate": p, "PPV": ppv, "FNR": fnr, "FPR measured": fpr,
                  "FPR from identity": p / (1 - p) * (1 - ppv) / ppv * (1 - fnr)}
identity = pd.DataFrame(rows).T
assert np.allclose(identity["FPR measured"], identity["FPR from identity"])
identity.round(4)

# %% [markdown]
# Now ask for what a critic wants: give white defendants the *same* PPV and the *same* FNR as
# Black defendants. The identity then fixes their FPR, and it is not equal:

# %%
b, w = identity.loc["African-American"], identity.loc["Caucasian"]
fpr_forced = w["base rate"] / (1 - w["base rate"]) * (1 - b["PPV"]) / b["PPV"] * (1 - b["FNR"])
print(f"base rates: African-American {b['base rate']:.3f}, white {w['base rate']:.3f}")
print(f"with equal PPV ({b['PPV']:.3f}) and equal FNR ({b['FNR']:.3f}), the white FPR would be "
      f"{fpr_forced:.3f}, against {b['FPR measured']:.3f} for African-Americans")
ch.note("COMPAS base rate African-American", float(b["base rate"]))
ch.note("COMPAS base rate Caucasian", float(w["base rate"]))

# %%
fnr_grid = np.linspace(0, 1, 101)
fig, ax = plt.subplots(figsize=(5.5, 4))
for race, colour in (("African-American", "tab:purple"), ("Caucasian", "tab:orange")):
    p = identity.loc[race, "base rate"]
    ppv = b["PPV"]  # the same PPV for both groups
    ax.plot(fnr_grid, p / (1 - p) * (1 - ppv) / ppv * (1 - fnr_grid), color=colour,
            label=f"{race} (base rate {p:.2f})")
    ax.scatter(identity.loc[race, "FNR"], identity.loc[race, "FPR measured"], color=colour, zorder=3)
ax.set_xlabel("false negative rate")
ax.set_ylabel("false positive rate")
ax.set_title(f"all classifiers with PPV = {b['PPV']:.2f}\n(dots: COMPAS as used)", fontsize=10)
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.tight_layout()

# %% [markdown]
# At equal PPV the two groups live on different lines, and the lines meet only at FNR = 1,
# FPR = 0: flag nobody. (The white dot sits off its line because its PPV is a little lower; a
# perfect predictor, PPV = 1, or equal base rates would also escape.) So a score that is
# calibrated for both groups must give them different error rates. Which kind of equality to
# give up is not a statistical question.
#
# ## The audit report
#
# An audit is only useful if someone reads it. `write_audit_report` turns the measured numbers
# into a short model card in markdown; it refuses a NaN or an empty section.

# %%
from IPython.display import Markdown
from fmbook.ledger import results_dir

card_groups = mf_sex_race.by_group[["accuracy", "selection_rate", "tpr", "fpr", "count"]].astype({"count": int})
eg_row = results.loc["ExpGrad DemographicParity"]
report = AuditReport(
    model="Logistic regression (scikit-learn pipeline: scaled numbers, one-hot categories) "
          "predicting whether yearly income is above $50K. Features include sex and race.",
    data=f"UCI Adult (1994 US census extract): trained on {len(train):,} rows of adult.data, "
         f"evaluated on all {len(test):,} rows of adult.test. Sensitive attributes: sex, race.",
    intended_use="Teaching: an example of a fairness audit. Not for decisions about real people "
                 "(hiring, lending): the data are 30 years old and the label is a proxy.",
    overall={"test accuracy": acc_lr, "DP difference (sex)": dpd_lr,
             f"DP difference 95% CI low ({cfg.n_bootstrap} resamples)": dpd_lo,
             "DP difference 95% CI high": dpd_hi, "DP ratio (sex)": dpr_lr,
             "equalized odds difference (sex)": eod_lr,
             "DP difference (sex) without sex and race as features": dpd_blind},
    by_group=card_groups,
    mitigation="ExponentiatedGradient with a DemographicParity constraint (eps 0.01) on sex; a "
               "randomised mixture of logistic regressions. Chosen when equal selection rates are "
               "the goal; its effect on the equalized-odds gap is listed below.",
    mitigation_cost={"accuracy before": results.loc["baseline", "accuracy"],
                     "accuracy after": eg_row["accuracy"],
                     "DP difference before": dpd_lr, "DP difference after": eg_row["dp_difference"],
                     "equalized odds difference after": eg_row["eo_difference"]},
    caveats=["Small intersectional groups have wide confidence intervals (see the counts).",
             "The label (income above $50K in 1994) reflects past pay gaps; equal error rates "
             "with respect to it can still encode them.",
             "Only sex and race were audited; age, disability and others were not.",
             "The mitigated model is randomised: the same person can get different answers."],
)
card_path = results_dir() / "06_fairness_audit_report.md"
card_md = write_audit_report(report, card_path, title="Audit report: Adult income classifier")
print(f"written to {card_path}")
Markdown(card_md)

# %% [markdown]
# ## Society: which fairness, for which decision, chosen by whom
#
# The numbers of this chapter, measured above:

# %%
print(f"Adult: the baseline selects {results.loc['baseline', 'selection_rate_male']:.1%} of men and "
      f"{results.loc['baseline', 'selection_rate_female']:.1%} of women "
      f"(base rates {rep_sex.loc['Male', 'base rate']:.1%} and {rep_sex.loc['Female', 'base rate']:.1%}).")
print(f"Removing sex and race leaves a DP difference of {dpd_blind:.3f} (from {dpd_lr:.3f}); "
      f"sex is recoverable from the rest with AUC {auc_proxy:.2f}.")
print(f"Equal selection rates cost {100 * cost_eg:.2f} accuracy points and raise the equalized-odds "
      f"gap from {eod_lr:.3f} to {eg_row['eo_difference']:.3f}.")
print(f"COMPAS: false positive rates {rates_pop.iloc[0, 1]:.1%} vs {rates_pop.iloc[1, 1]:.1%}, "
      f"at a calibration gap of {100 * calibration_gap:.1f} points and base rates "
      f"{b['base rate']:.1%} vs {w['base rate']:.1%}.")

# %% [markdown]
# - **Hiring** is a selection: a firm whose screen invites men about three times as often as
#   women, as the baseline above would, faces demographic parity (and disparate-impact law, with
#   its four-fifths rule) even if the model is "accurate" with respect to past pay, because the
#   past is what is being questioned.
# - **Lending** is a prediction of repayment that the lender bears: equal error rates (equalized
#   odds) or calibration are natural, and parity at any cost would raise defaults in one group,
#   which is then blamed on it.
# - **Bail** puts liberty on one side: a false positive is a person held who would not have
#   reoffended. ProPublica chose equal false positive rates; Northpointe chose calibration. With
#   base rates that differ, the theorem says both cannot hold; choosing is a political decision,
#   and it should be made in the open by the people accountable for it, not by the default of a
#   library.
#
# **What this audit cannot see**: the label itself (an arrest, not a crime; pay, not worth);
# the people never in the data (never hired, never assessed); groups not recorded (the census
# has two sexes and five races); what happens after the decision (a detained person loses a job,
# which raises their "risk"); and whether the humans using the score follow it. Every number
# above is conditional on data that someone chose to collect.
#
# ## Exercises
#
# **Exercise 06.dp_difference**: given predictions `y_pred` (0/1) and a group label per row,
# return the demographic parity difference (the largest selection rate minus the smallest),
# without fairlearn. It must match `demographic_parity_difference`.

# %%
from fmbook.exercises import check, hint, show_solution


def dp_difference(y_pred, groups):
    raise NotImplementedError  # your code here


check("06.dp_difference", dp_difference);

# %% [markdown]
# **Exercise 06.false_positive_rate**: return the false positive rate of one group: among its
# members whose true label is 0, the share predicted 1.

# %%
def false_positive_rate_of(y_true, y_pred, groups, group):
    raise NotImplementedError  # your code here


check("06.false_positive_rate", false_positive_rate_of);

# %% [markdown]
# **Exercise 06.fpr_from_calibration**: derive Chouldechova's identity yourself. Given a base
# rate, a PPV and an FNR, return the FPR they force. (Start from the confusion matrix of $n$
# people.)

# %%
def fpr_from_calibration(base_rate, ppv, fnr):
    raise NotImplementedError  # your code here


check("06.fpr_from_calibration", fpr_from_calibration);

# %% [markdown]
# Stuck? `hint("06.dp_difference")`, `hint("06.dp_difference", 2)`, and
# `show_solution("06.dp_difference")` when you have tried.
#
# ## Results card

# %%
ch.finish()
