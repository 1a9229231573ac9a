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
# # Chapter 07: Explaining models, and checking the explanations
#
# A model that decides about people is often asked to *explain* itself. In this chapter you
# explain three models with the two most used tools, **SHAP** and **LIME**, and then ask the
# question that matters: *does the explanation deserve trust?*
#
# * **Tabular** (Adult income, chapter 06's task): a gradient-boosted model, explained globally
#   (which features matter overall) and locally (why *this* person), with SHAP and LIME.
# * **Text** (review sentiment, chapter 03's task): which words push a sentence to "positive", and
#   a model that is right for the wrong reason (a planted token), caught by its explanation.
# * **Images** (the MNIST CNN of chapter 02): gradient maps and integrated gradients as heat maps.
#
# Then the checks, each one able to fail, and each method judged on its own:
#
# * **additivity**, a unit check (the attributions add up to the model's output);
# * **faithfulness**: deletion and insertion curves against random rankings of the same features;
# * **randomisation** (Adebayo et al. 2018): cascading layer randomisation and label
#   randomisation; the explanation of a model that learned nothing must look different;
# * LIME's **stability** across random seeds, and how SHAP splits credit between `sex` and its
#   proxies under two definitions of "feature unknown".
#
# Broken explainers (random attributions, a constant map) go through the same checks, to show
# that the checks can fail.
#
# What to expect (each is checked below; bands from seeds 0, 1 and 2, see the chapter module;
# `full` was never run with these settings: not measured):
#
# | result | smoke | fast |
# | --- | --- | --- |
# | income model, test ROC AUC | 0.82 .. 0.98 | 0.91 .. 0.92 |
# | SHAP additivity error (log-odds), a unit check | <= 1e-6 | <= 1e-6 |
# | exact Shapley by enumeration vs shap's Exact explainer | <= 1e-6 | <= 1e-6 |
# | LIME top-5 stability across 5 seeds | 0.78 .. 0.90 | 0.86 .. 0.92 |
# | LIME vs SHAP top-5 overlap (chance 5/12 = 0.42) | 0.2 .. 1 | 0.34 .. 0.94 |
# | tabular deletion, SHAP's gain over random rankings | 0.83 .. 1.48 | 1.18 .. 1.34 |
# | tabular deletion, random attributions' gain | -0.30 .. 0.29 | -0.27 .. 0.19 |
# | label randomisation similarity, SHAP / LIME | <= 0.95 / 0 .. 0.27 | -0.23 .. 0.47 / -0.54 .. 0.93 |
# | share of sex's credit among sex, relationship, marital status (observational) | 0.02 .. 0.23 | 0.169 .. 0.180 |
# | share of the men-women score gap left when `sex` is removed | 0.90 .. 1.08 | 0.94 .. 0.955 |
# | sentiment model, test accuracy | 0.79 .. 0.81 | 0.79 .. 0.81 |
# | spurious token: LIME's top word / accuracy with the token moved | 1 / <= 0.012 | 1 / <= 0.012 |
# | CNN, test accuracy | 0.83 .. 0.93 | 0.95 .. 0.98 |
# | cascading randomisation similarity: gradient / grad x input / IG | <= 0.47 / 0.30 .. 0.78 / 0.39 .. 0.69 | 0.01 .. 0.17 / 0.39 .. 0.56 / 0.44 .. 0.52 |
# | image deletion, integrated gradients' gain (logit) | >= 0.74 | >= 4.6 |
# | a constant map fails every test | yes | yes |
#
# Time (`fmbook run`, seeds 0-2, on the shared 2-core machine under heavy load): `smoke` about
# 57 s of CPU time (4 min wall under load), `fast` about 172 s of CPU time on one thread (8.5-13
# min wall under load; about 3 minutes on an idle machine).

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
# PyTorch (for the CNN), scikit-learn (for the income and sentiment models), `shap` and `lime`.
# `fmbook.start` seeds everything and prints the profile and device.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap
import torch
from IPython.display import HTML, display
from lime.lime_tabular import LimeTabularExplainer
from lime.lime_text import LimeTextExplainer
from sklearn.metrics import accuracy_score, roc_auc_score

import fmbook
from fmbook import data, explain, faithfulness
from fmbook.chapters.ch07_explainability import adult_features, train_adult_model, train_mnist_cnn
from fmbook.text import tfidf_baseline

warnings.filterwarnings("ignore", category=FutureWarning)

ch = fmbook.start("07_explainability", seed=0)
cfg = ch.settings
print(cfg)

# %% [markdown]
# # Part 1: a tabular model and the people it scores
#
# ## The income model
#
# UCI Adult: census records of about 48,000 people, and whether their income was above $50K.
# Two columns are left out, as in chapter 06: `fnlwgt` is the census's sampling weight (how many
# people a row stands for), not a property of the person, and `education` repeats
# `education_num` as text. `adult_features` (in the chapter's module) keeps each category as a
# *code* in one column, so that LIME and the exact enumeration below perturb a category as a
# whole; the trees read the categories one-hot encoded (`train_adult_model`), never as ordered
# numbers.

# %%
adult_train, adult_test = data.load_adult()
X_all, y_all, categories = adult_features(adult_train)
X_test, y_test, _ = adult_features(adult_test)
features = list(X_all.columns)
categorical = list(categories)

rng = np.random.default_rng(ch.seed)
n_adult = len(X_all) if cfg.adult_train is None else cfg.adult_train
rows = rng.choice(len(X_all), n_adult, replace=False)
X_train, y_train = X_all.iloc[rows].reset_index(drop=True), y_all[rows]
print(f"data: UCI Adult, {len(X_train):,} training people (of {len(X_all):,}), "
      f"{len(X_test):,} test people, {len(features)} features")
print("categorical:", ", ".join(categorical))
print("numeric:", ", ".join(f for f in features if f not in categories))

# %%
gbm = train_adult_model(X_train, y_train, categorical=categorical, seed=ch.seed, n_estimators=cfg.n_trees)
p_test = gbm.predict_proba(X_test)[:, 1]
auc = roc_auc_score(y_test, p_test)
print(f"model: GradientBoostingClassifier, {cfg.n_trees} trees of depth 3 on {len(gbm.groups)} one-hot columns; "
      f"test accuracy {accuracy_score(y_test, p_test > 0.5):.3f} "
      f"(always guessing '<=50K' gives {1 - y_test.mean():.3f})")
ch.check("income model test ROC AUC", auc, {"smoke": (0.82, 0.98), "fast": (0.91, 0.92), "full": None})

# %% [markdown]
# ## SHAP values for trees
#
# A SHAP value says how much one feature moved one prediction away from the average prediction.
# For trees, `shap.TreeExplainer` computes them *exactly* and fast. We give it a background set
# of people: "feature unknown" means "take the value from a background person" (the
# *interventional* game). The model's raw output is the **log-odds** of a high income; SHAP
# values are in log-odds too.
#
# The trees see one-hot columns (`sex=Female`, `sex=Male`, ...), so TreeExplainer gives one value
# per column; we add the columns of each original feature back together (`gbm.sum_by_feature`),
# so that an explanation names `sex`, and a category is never read as a number.

# %%
background = X_train.sample(cfg.n_background, random_state=ch.seed)
people = X_test.iloc[: cfg.n_explain].reset_index(drop=True)
tree_explainer = shap.TreeExplainer(gbm.trees, data=gbm.encode(background),
                                    feature_perturbation="interventional", model_output="raw")
sv_columns = tree_explainer(gbm.encode(people))  # one value per one-hot column
shap_values = gbm.sum_by_feature(sv_columns.values)  # one value per original feature


def readable(frame):
    """Category names instead of codes, for display."""
    out = frame.astype(object).copy()
    for f, names in categories.items():
        out[f] = [names[int(c)] for c in frame[f]]
    return out


# colour only numeric features by their value: a category has no "high" or "low" (grey dots)
colour_data = people.to_numpy(dtype=float).copy()
colour_data[:, [features.index(f) for f in categorical]] = np.nan
sv = shap.Explanation(values=shap_values, base_values=sv_columns.base_values, data=colour_data,
                      display_data=readable(people).to_numpy(), feature_names=features)
print(f"explained {len(people)} test people with a background of {len(background)}: "
      f"{sv_columns.values.shape[1]} column values summed into {shap_values.shape[1]} features; "
      f"expected value {float(tree_explainer.expected_value):.3f} log-odds")

# %% [markdown]
# ## A unit check: additivity
#
# SHAP's *local accuracy*: for every person, the expected value plus the SHAP values equals the
# model's output. `explain.additivity_error` measures the largest violation; for an exact tree
# explainer it is at the level of rounding errors, and adding one-hot columns keeps it so.
#
# Treat this as a **unit check**, like checking that a histogram's bars add up to the number of
# people: it catches a wrong output (probability instead of log-odds), a wrong background or a
# bug. It does not make the explanation trustworthy: *any* split of the output among the features
# that adds up (all of it on `age`, say) passes it. Whether the split is faithful is tested below.

# %%
logodds = gbm.decision_function(people)
add_err = explain.additivity_error(sv.values, sv.base_values, logodds)
ch.check("SHAP additivity error (tree, log-odds)", add_err, {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})

# %%
wrong = explain.additivity_error(sv.values, sv.base_values, gbm.predict_proba(people)[:, 1])
everything_on_age = np.zeros_like(sv.values)
everything_on_age[:, features.index("age")] = sv.values.sum(1)
print(f"against predict_proba: 'error' {wrong:.3f} (a units mistake, caught)")
print(f"all credit given to age: error {explain.additivity_error(everything_on_age, sv.base_values, logodds):.1e} "
      f"(a useless explanation, not caught)")

# %% [markdown]
# ## What SHAP approximates: exact Shapley values by enumeration
#
# Shapley values come from game theory: average a feature's marginal contribution over every
# order in which features could join. With 12 features there are 2^12 = 4,096 coalitions: few
# enough to enumerate for one person (`explain.exact_shapley`), with a category joining as a
# whole. SHAP's model-agnostic `Exact` explainer plays the same game and must agree to rounding
# error.
#
# Summing TreeExplainer's one-hot values plays a slightly different game: there `sex=Female` and
# `sex=Male` can come from different people (a row that is both, or neither). Whether that
# matters for this model is measured, not assumed: the gap is printed below.

# %%
person = 0
f_logodds = gbm.decision_function
exact = explain.exact_shapley(f_logodds, people.iloc[person].to_numpy(), background.to_numpy())
library = shap.explainers.Exact(f_logodds, shap.maskers.Independent(background.to_numpy(),
                                                                     max_samples=len(background)))
exact_lib = library(people.iloc[[person]].to_numpy()).values[0]
gap = float(np.max(np.abs(exact - exact_lib)))
gap_tree = float(np.max(np.abs(exact - sv.values[person])))
print(f"{2 ** len(features):,} coalitions x {len(background)} background rows enumerated")
print(f"largest difference from summed one-hot TreeExplainer values: {gap_tree:.3f} log-odds "
      f"(the largest value is {np.abs(exact).max():.3f})")
ch.check("exact Shapley by enumeration vs shap's Exact explainer, max difference", gap,
         {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})
ch.note("exact group Shapley vs summed one-hot TreeSHAP, max difference", gap_tree)

# %% [markdown]
# ## Global view: which features matter, and how
#
# The beeswarm plot shows each person as one dot per feature: its position is the SHAP value;
# its colour the feature's value (red high, blue low) for numeric features, grey for categories,
# which have no order. Features are sorted by mean |SHAP value|.

# %%
shap.plots.beeswarm(sv, max_display=len(features), show=False)
plt.title("SHAP values of the income model (log-odds)")
plt.show()

# %% [markdown]
# A dependence plot zooms in on one feature: each dot is **one person**, at their age and the SHAP
# value age got *for them*. It is not an average effect: people of the same age get different
# values when age interacts with other features (coloured here by hours per week), and the
# vertical spread at one age shows how much.

# %%
shap.plots.scatter(sv[:, "age"], color=sv[:, "hours_per_week"], show=False)
plt.title("how age moved each person's log-odds")
plt.show()

# %%
global_importance = pd.Series(np.abs(sv.values).mean(0), index=features).sort_values(ascending=False)
print("mean |SHAP| (log-odds), most important first:")
print(global_importance.round(3).to_string())

# %% [markdown]
# ## Local view: one person
#
# The waterfall plot starts at the expected value and adds each feature's SHAP value until it
# reaches this person's log-odds.

# %%
shap.plots.waterfall(sv[person], max_display=10, show=False)
plt.title(f"test person {person}: why this score")
plt.show()


def describe_person(i):
    row = readable(people.iloc[[i]]).iloc[0]
    return ", ".join(f"{f}={row[f] if f in categories else int(row[f])}" for f in features)


print(describe_person(person))
print(f"P(income > $50K) = {gbm.predict_proba(people.iloc[[person]])[0, 1]:.3f}, "
      f"true label: {'>50K' if y_test[person] else '<=50K'}")

# %% [markdown]
# ## LIME on the same people
#
# Tabular LIME explains one prediction by **sampling new rows from the training distribution**,
# feature by feature: a category is drawn with its training frequency, a number from the
# training quartile bins (with the training mean and spread inside a bin). It asks the model about
# each sampled row, encodes the row as "same bin or category as this person: yes/no", weights it
# by closeness to the person (a kernel on the distance), and fits a *weighted ridge regression*
# on those yes/no columns. The weights say how the probability changes when a feature matches
# this person's bin rather than a random training person's. Its answer depends on the random
# samples, so we pass the seed explicitly.
#
# > **Common mistake: an unseeded LIME.** `LimeTabularExplainer` without `random_state` draws new
# > samples at every call: two runs explain the same person differently, and nobody notices.

# %%
cat_index = [features.index(f) for f in categories]


def lime_tabular(model, i, seed, num_samples=cfg.lime_samples):
    """LIME weights {feature: weight} for test person i with a given seed."""
    lime_explainer = LimeTabularExplainer(
        X_train.to_numpy(), feature_names=features, class_names=["<=50K", ">50K"],
        categorical_features=cat_index,
        categorical_names={features.index(f): names for f, names in categories.items()},
        discretize_continuous=True, random_state=seed)
    exp = lime_explainer.explain_instance(people.iloc[i].to_numpy(), model.predict_proba,
                                          num_features=len(features), num_samples=num_samples)
    return {features[j]: w for j, w in exp.as_map()[1]}, exp


lime_weights, lime_exp = lime_tabular(gbm, person, seed=ch.seed)
print(f"LIME ({cfg.lime_samples} samples) for test person {person}, top 5:")
for rule, w in lime_exp.as_list()[:5]:
    print(f"  {rule:<35} {w:+.3f}")

# %% [markdown]
# SHAP and LIME side by side for the same person. Their units differ (log-odds against
# probability), so compare the *ranking*, not the lengths.

# %%
def compare_bars(shap_row, lime_w, title):
    order = np.argsort(np.abs(shap_row))[::-1][:8][::-1]
    names = [features[j] for j in order]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    for ax, vals, label in ((axes[0], [shap_row[j] for j in order], "SHAP (log-odds)"),
                            (axes[1], [lime_w[n] for n in names], "LIME (probability)")):
        ax.barh(names, vals, color=["#1b7f3b" if v > 0 else "#b00020" for v in vals])
        ax.axvline(0, color="k", lw=0.5)
        ax.set_title(label)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


compare_bars(sv.values[person], lime_weights, f"test person {person}")
plt.show()

# %% [markdown]
# ## Does LIME give the same answer twice? And does it agree with SHAP?
#
# For each of a few people we run LIME with 5 seeds and measure the **top-5 stability**: the
# mean fraction of top-5 features that two runs share (`explain.stability`). Two random
# rankings of 12 features would share about 5/12 = 0.42. Then the **LIME-SHAP overlap**: how many
# of SHAP's top 5 are also LIME's top 5.

# %%
seeds = [ch.seed + k for k in range(cfg.lime_seeds)]
stab, agree, stab_small = [], [], []
lime_by_person = {}
for i in range(cfg.lime_people):
    runs = [lime_tabular(gbm, i, seed)[0] for seed in seeds]
    lime_by_person[i] = runs[0]
    stab.append(explain.stability(runs, k=5))
    agree.append(explain.topk_overlap(runs[0], dict(zip(features, sv.values[i])), k=5))
    stab_small.append(explain.stability([lime_tabular(gbm, i, seed, num_samples=100)[0] for seed in seeds], k=5))
lime_stability, lime_shap_overlap = float(np.mean(stab)), float(np.mean(agree))
print(f"{cfg.lime_people} people x {len(seeds)} seeds, {cfg.lime_samples} samples each")
print("per person stability:", np.round(stab, 2), " with only 100 samples:", np.round(stab_small, 2))
ch.check("LIME top-5 stability across 5 seeds", lime_stability,
         {"smoke": (0.78, 0.9), "fast": (0.86, 0.92), "full": None})
ch.note("LIME top-5 stability with 100 samples", float(np.mean(stab_small)))
ch.check("LIME vs SHAP top-5 overlap", lime_shap_overlap,
         {"smoke": (0.2, 1.0), "fast": (0.34, 0.94), "full": None})

# %% [markdown]
# ## Faithfulness: does the ranking point at what the model uses?
#
# A **deletion curve** takes the features in the order an explanation ranks them (largest
# push towards a high income first), replaces them one by one with a *typical person's* value
# (the training median of a number, the most frequent category), and records the model's
# log-odds after each step. If the explanation is faithful, the log-odds fall fast: the area
# under the curve is small. The yardstick is a **random ranking** of the same features: an
# explanation that does no better than random points nowhere. (The **insertion curve** is the
# mirror: start at the typical person and put this person's values in, in order; faithful means
# a fast rise, a large area.)
#
# Here is the loop for one person, written out:

# %%
typical = np.array([X_train[f].mode().iloc[0] if f in categories else X_train[f].median() for f in features])


def deletion_curve_by_hand(f, x, order, baseline):
    x = np.array(x, dtype=float)
    outputs = [f(x[None])[0]]
    for j in order:  # most important first
        x[j] = baseline[j]  # "remove" feature j: the typical person's value
        outputs.append(f(x[None])[0])
    return np.array(outputs)


x0 = people.iloc[person].to_numpy()
shap_order = np.argsort(-sv.values[person], kind="stable")
curve_shap = deletion_curve_by_hand(f_logodds, x0, shap_order, typical)
random_orders = [np.random.default_rng(ch.seed + k).permutation(len(features)) for k in range(5)]
curves_random = [deletion_curve_by_hand(f_logodds, x0, o, typical) for o in random_orders]
same = np.allclose(curve_shap, faithfulness.deletion_curve(f_logodds, x0, shap_order, typical))
print(f"hand loop equals faithfulness.deletion_curve: {same}")
assert same, "the hand-written deletion loop disagrees with the reference"

fig, ax = plt.subplots(figsize=(5.5, 3))
steps = np.arange(len(features) + 1)
for k, c in enumerate(curves_random):
    ax.plot(steps, c, color="grey", lw=0.8, label="random rankings" if k == 0 else None)
ax.plot(steps, curve_shap, color="C0", lw=2, label="SHAP ranking")
ax.set_xlabel("features replaced by a typical person's value")
ax.set_ylabel("log-odds of income > $50K")
ax.set_title(f"deletion curves, test person {person}")
ax.legend()
plt.show()
print(f"area: SHAP {faithfulness.curve_area(curve_shap):.2f}, random rankings "
      f"{np.mean([faithfulness.curve_area(c) for c in curves_random]):.2f} (smaller = faster fall)")

# %% [markdown]
# Now over many people: `faithfulness.faithfulness_test` draws each person's curve for the
# explanation and for 5 random rankings, and passes the explanation only when its mean gain over
# random is more than twice its standard error. We test SHAP, LIME (on the people LIME
# explained), and two broken explainers: random attributions and a constant map (every feature
# the same weight: ties are broken at random, so it is a random ranking in disguise).

# %%
n_faith = min(cfg.n_faithful, len(people))
Xf = people.to_numpy(dtype=float)[:n_faith]
rng_faith = np.random.default_rng(ch.seed)
explainers_tab = {
    "SHAP": sv.values[:n_faith],
    "random": rng_faith.normal(size=Xf.shape),
    "constant": np.ones(Xf.shape),
}
faith_tab = {}
for name, attributions in explainers_tab.items():
    for kind in ("deletion", "insertion"):
        faith_tab[name, kind] = faithfulness.faithfulness_test(f_logodds, Xf, attributions, typical, kind=kind,
                                                               n_random=5, rng=ch.seed)
lime_matrix = np.array([[lime_by_person[i][f] for f in features] for i in range(cfg.lime_people)])
for kind in ("deletion", "insertion"):
    faith_tab["LIME", kind] = faithfulness.faithfulness_test(f_logodds, Xf[: cfg.lime_people], lime_matrix,
                                                             typical, kind=kind, n_random=5, rng=ch.seed)
for (name, kind), verdict in faith_tab.items():
    print(f"{name:<9} {verdict}")

# %%
shap_deletion_gain = faith_tab["SHAP", "deletion"].gain
ch.check("tabular deletion: SHAP's gain over random rankings (log-odds)", shap_deletion_gain,
         {"smoke": (0.83, 1.48), "fast": (1.18, 1.34), "full": None})
ch.check("tabular deletion: random attributions' gain over random rankings", faith_tab["random", "deletion"].gain,
         {"smoke": (-0.3, 0.29), "fast": (-0.27, 0.19), "full": None})
ch.note("tabular insertion: SHAP's gain over random rankings", faith_tab["SHAP", "insertion"].gain)
ch.note("tabular deletion: LIME's gain over random rankings", faith_tab["LIME", "deletion"].gain)
tab_verdicts = {name: faith_tab[name, "deletion"].passed and faith_tab[name, "insertion"].passed
                for name in ("SHAP", "LIME", "random", "constant")}
print("passes deletion and insertion:", ", ".join(n for n, ok in tab_verdicts.items() if ok) or "none")
print("fails:", ", ".join(n for n, ok in tab_verdicts.items() if not ok) or "none")

# %% [markdown]
# ## Randomisation test for SHAP and LIME
#
# The sanity check of Adebayo et al. (2018), in its *label randomisation* form: train the same
# model on **shuffled labels** (it can only learn noise), explain the same people, and compare.
# An explanation of what the model learned must change: we measure the Spearman rank correlation
# of |attribution| over the 12 features, per person, trained against randomised
# (`faithfulness.randomisation_test`); a method passes below 0.5. A constant map cannot change
# and fails.

# %%
y_shuffled = np.random.default_rng(ch.seed + 1).permutation(y_train)
gbm_noise = train_adult_model(X_train, y_shuffled, categorical=categorical, seed=ch.seed, n_estimators=cfg.n_trees)
sv_noise = gbm_noise.sum_by_feature(
    shap.TreeExplainer(gbm_noise.trees, data=gbm_noise.encode(background), feature_perturbation="interventional",
                       model_output="raw")(gbm_noise.encode(people)).values)
lime_noise = np.array([[lime_tabular(gbm_noise, i, ch.seed)[0][f] for f in features] for i in range(cfg.lime_people)])
rand_tab = {
    "SHAP": faithfulness.randomisation_test(sv.values, sv_noise),
    "LIME": faithfulness.randomisation_test(lime_matrix, lime_noise),
    "constant": faithfulness.randomisation_test(np.ones_like(sv.values), np.ones_like(sv.values)),
}
print(f"model on shuffled labels: test ROC AUC {roc_auc_score(y_test, gbm_noise.predict_proba(X_test)[:, 1]):.3f}")
for name, verdict in rand_tab.items():
    print(f"{name:<9} {verdict}")
ch.check("label randomisation: SHAP similarity, trained vs shuffled labels", rand_tab["SHAP"].similarity,
         {"smoke": (-1.0, 0.95), "fast": (-0.23, 0.47), "full": None})
ch.check("label randomisation: LIME similarity, trained vs shuffled labels", rand_tab["LIME"].similarity,
         {"smoke": (0.0, 0.27), "fast": (-0.54, 0.93), "full": None})

# %% [markdown]
# ## Back to chapter 06: where is the sex signal?
#
# Chapter 06 found that the income model treats women and men differently. Which features carry
# that? Rank `sex` among the features, then look at its likely proxies: `relationship` (a
# "Husband" is a man) and `marital_status`.

# %%
rank = {f: r + 1 for r, f in enumerate(global_importance.index)}
for f in ("sex", "relationship", "marital_status"):
    print(f"{f:<15} rank {rank[f]:>2} of {len(features)}, mean |SHAP| {global_importance[f]:.3f}")
ch.note("rank of sex in mean |SHAP|", rank["sex"])

# %% [markdown]
# ### Correlated features: who gets the credit?
#
# `sex`, `relationship` and `marital_status` are strongly correlated (a "Husband" is a man). How
# SHAP splits credit among them depends on the *game* it plays, that is, on what "this feature is
# unknown" means:
#
# * **interventional** (above): an unknown feature takes its value from a background person,
#   *independently of the known ones*. Credit follows what the model reads. This creates people
#   who exist nowhere (a "Husband" who is a woman), and a feature the model never reads gets no
#   credit at all, however much it tells about the others.
# * **observational** (conditional): an unknown feature takes values seen *together with* the
#   known ones. Knowing `sex` then tells much of `relationship`, so `sex` shares the credit of what
#   it predicts.
# * **path-dependent** (TreeExplainer without a background): follows the training data down each
#   tree's splits; often described as an approximation of the observational game.
#
# First TreeExplainer's two modes, over all features:

# %%
trio = ["sex", "relationship", "marital_status"]
path_explainer = shap.TreeExplainer(gbm.trees, feature_perturbation="tree_path_dependent")
sv_path = gbm.sum_by_feature(path_explainer.shap_values(gbm.encode(people)))
tree_credit = pd.DataFrame({
    "interventional": pd.Series(np.abs(sv.values).mean(0), index=features)[trio],
    "path-dependent": pd.Series(np.abs(sv_path).mean(0), index=features)[trio],
})
print("mean |SHAP| (log-odds) from TreeExplainer:")
print(tree_credit.round(3).to_string())
tree_share = tree_credit / tree_credit.sum()
print(f"share of the three's credit on sex: interventional {tree_share.loc['sex', 'interventional']:.1%}, "
      f"path-dependent {tree_share.loc['sex', 'path-dependent']:.1%}")

# %% [markdown]
# The path-dependent game only follows the splits the trees made: a feature the trees rarely
# split on gets little credit in it too, however much it tells about the others. To see the
# observational split, we play the game among
# the three features ourselves. The other nine features stay at the person's own values; the
# three take values from the training people's joint distribution of (sex, relationship,
# marital status), either **ignoring** the known ones (interventional) or **matching** them
# (observational). With three players, Shapley values are a sum over 4 coalitions per feature.

# %%
from itertools import combinations
from math import factorial

trio_at = [features.index(f) for f in trio]
joint = X_train[trio].value_counts(normalize=True)  # P(sex, relationship, marital status) in training
combos, prob = np.array(list(joint.index), dtype=float), joint.to_numpy()
coalitions = [S for size in range(4) for S in combinations(range(3), size)]


def trio_game(x, observational):
    """v(S) for every coalition S of the trio, for one person x (codes)."""
    rows, weights = [], []
    for S in coalitions:
        known = [trio_at[j] for j in S]
        if observational:  # only combinations that agree with the person on the known features
            w = prob * np.all(combos[:, list(S)] == x[known], axis=1)
        else:  # the unknown features ignore the known ones
            w = prob.copy()
        r = np.repeat(x[None], len(combos), axis=0)
        r[:, trio_at] = combos
        r[:, known] = x[known]
        rows.append(r)
        weights.append(w / w.sum())
    out = f_logodds(np.vstack(rows)).reshape(len(coalitions), len(combos))
    return {S: float(weights[k] @ out[k]) for k, S in enumerate(coalitions)}


def shapley_from_game(v, d=3):
    phi = np.zeros(d)
    for j in range(d):
        for S in coalitions:
            if j not in S:
                weight = factorial(len(S)) * factorial(d - len(S) - 1) / factorial(d)
                phi[j] += weight * (v[tuple(sorted(S + (j,)))] - v[S])
    return phi


n_game = min(cfg.n_game, len(people))
phi_game = {kind: np.array([shapley_from_game(trio_game(people.iloc[i].to_numpy(dtype=float), kind == "observational"))
                            for i in range(n_game)]) for kind in ("interventional", "observational")}

# the hand-written interventional game against the reference enumeration, for person 0
x0_codes = people.iloc[0].to_numpy(dtype=float)
rows0 = X_train[trio].to_numpy(dtype=float)


def f_trio(Z):
    full = np.repeat(x0_codes[None], len(Z), axis=0)
    full[:, trio_at] = Z
    return f_logodds(full)


reference = explain.exact_shapley(f_trio, x0_codes[trio_at], rows0)
print(f"hand-written game vs explain.exact_shapley (interventional, person 0): max difference "
      f"{np.max(np.abs(reference - phi_game['interventional'][0])):.1e}")
assert np.allclose(reference, phi_game["interventional"][0], atol=1e-8)

credit = pd.DataFrame({kind: np.abs(phi).mean(0) for kind, phi in phi_game.items()}, index=trio)
credit_share = credit / credit.sum()
print(f"\nmean |Shapley value| among the three, {n_game} people (log-odds):")
print(credit.round(3).to_string())
print("\nshare of the three's credit:")
print(credit_share.round(3).to_string())
sex_share_int = float(credit_share.loc["sex", "interventional"])
sex_share_obs = float(credit_share.loc["sex", "observational"])
ch.note("share of the sex/relationship/marital credit on sex, interventional", sex_share_int)
ch.check("share of the sex/relationship/marital credit on sex, observational", sex_share_obs,
         {"smoke": (0.02, 0.23), "fast": (0.169, 0.18), "full": None})
print(f"\nsex gets {sex_share_int:.0%} of the credit in the interventional game and {sex_share_obs:.0%} in the "
      f"observational one: {'more' if sex_share_obs > sex_share_int else 'less'} when the game follows the data.")

# %% [markdown]
# Why it matters for the next experiment: the two games answer different questions. The
# interventional split says which *inputs* the model reads: a low rank for `sex` there does not
# mean that sex does not shape the scores, because its proxies carry it. The observational split
# says how much a person's sex, *with what it predicts about them*, moves their score. An auditor
# who reads a low interventional rank as "sex does not matter" has read the wrong game.
#
# Now the experiment that matters for auditing: drop `sex` from the inputs and train again. The
# new model *cannot* use sex, and its explanation will say so: sex has no SHAP value at all.
# Does the gap between the scores of women and men go away?

# %%
no_sex = [f for f in features if f != "sex"]
gbm_blind = train_adult_model(X_train[no_sex], y_train, categorical=[c for c in categorical if c != "sex"],
                              seed=ch.seed, n_estimators=cfg.n_trees)
is_woman = X_test["sex"].to_numpy() == categories["sex"].index("Female")
p_blind = gbm_blind.predict_proba(X_test[no_sex])[:, 1]
gap_with = float(p_test[~is_woman].mean() - p_test[is_woman].mean())
gap_blind = float(p_blind[~is_woman].mean() - p_blind[is_woman].mean())
print(f"mean score, men minus women: with sex {gap_with:.3f}, without sex {gap_blind:.3f} "
      f"({gap_blind / gap_with:.0%} of the gap remains)")
ch.note("score gap men-women, model with sex", gap_with)
ch.note("score gap men-women, model without sex", gap_blind)
ch.check("share of the men-women gap left without sex", gap_blind / gap_with,
         {"smoke": (0.9, 1.08), "fast": (0.94, 0.955), "full": None})

# %%
sv_blind = gbm_blind.sum_by_feature(
    shap.TreeExplainer(gbm_blind.trees, data=gbm_blind.encode(background[no_sex]),
                       feature_perturbation="interventional", model_output="raw")(gbm_blind.encode(people[no_sex])).values)
blind_importance = pd.Series(np.abs(sv_blind).mean(0), index=no_sex).sort_values(ascending=False)
women = is_woman[: len(people)]
print("model without sex, top 5 by mean |SHAP|:", ", ".join(blind_importance.index[:5]))
proxy_push = {}
for f in ("relationship", "marital_status"):
    v = sv_blind[:, no_sex.index(f)]
    proxy_push[f] = v[women].mean() - v[~women].mean()
    print(f"mean SHAP of {f}: women {v[women].mean():+.3f}, men {v[~women].mean():+.3f} (log-odds)")
print(f"The sex-blind model's explanation is true (it never reads sex), yet {gap_blind / gap_with:.0%} of the "
      f"score gap stays; together relationship and marital status move women's log-odds "
      f"{sum(proxy_push.values()):+.2f} relative to men's, on average.")

# %% [markdown]
# An explanation shows which inputs the model used, not which social facts those inputs stand for.

# %% [markdown]
# # Part 2: text
#
# ## A sentiment model for review sentences
#
# 10,000 movie-review sentences rated by people (chapter 03's data); chapter 03's TF-IDF + logistic
# regression baseline (`fmbook.text.tfidf_baseline`, here on single words) stands in for its LSTM,
# because it trains in a second.

# %%
reviews = data.load_review_sentences("movie")
order = np.random.default_rng(ch.seed).permutation(len(reviews))
cut = int(0.8 * len(reviews))
rev_train, rev_test = reviews.iloc[order[:cut]], reviews.iloc[order[cut:]].reset_index(drop=True)
sentiment = tfidf_baseline(rev_train.text, rev_train.label, ngram_range=(1, 1), min_df=2,
                           token_pattern=r"(?u)\b\w+\b", C=4.0, max_iter=1000)  # words, one-letter ones too
text_acc = accuracy_score(rev_test.label, sentiment.predict(rev_test.text.tolist()))
print(f"data: movie review sentences, {len(rev_train):,} train / {len(rev_test):,} test, "
      f"{rev_test.label.mean():.0%} positive; model: TF-IDF + logistic regression")
ch.check("sentiment model test accuracy", text_acc, {"smoke": (0.79, 0.81), "fast": (0.79, 0.81), "full": None})

# %% [markdown]
# ## LIME and SHAP on words
#
# LIME removes random words and fits a weighted linear model on "word present or not". SHAP's
# `Partition` explainer masks words too, in a hierarchy of word groups, and explains the
# model's log-odds. Both split on non-word characters here, so they see the same words.
#
# > **Common mistake: explaining a function that cannot take the masked input.** SHAP and LIME
# > call the model on *text with words removed*; the function you pass must accept a list of
# > strings (here the whole pipeline, vectoriser included), not a TF-IDF matrix.

# %%
def sentiment_logodds(texts):
    p = np.clip(sentiment.predict_proba(list(texts))[:, 1], 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


shap_text = shap.Explainer(sentiment_logodds, shap.maskers.Text(r"\W+"))
lime_text = LimeTextExplainer(class_names=["negative", "positive"], split_expression=r"\W+", random_state=ch.seed)

chosen = rev_test.text.iloc[: cfg.n_reviews].tolist()
sv_text = shap_text(chosen, max_evals=cfg.shap_text_evals, silent=True)
lime_text_exps = [lime_text.explain_instance(t, sentiment.predict_proba, num_features=10,
                                             num_samples=cfg.lime_samples) for t in chosen]
text_add = max(explain.additivity_error(e.values[None], e.base_values, sentiment_logodds([t]))
               for e, t in zip(sv_text, chosen))
print(f"explained {len(chosen)} sentences; SHAP text additivity error {text_add:.1e}")

# %% [markdown]
# Both in one picture per sentence: green words push towards "positive", red towards "negative".

# %%
def word_weights_shap(e):
    out = {}
    for tok, v in zip(e.data, e.values):
        w = tok.strip().strip("'").lower()
        if w:
            out[w] = out.get(w, 0.0) + float(v)
    return out


def word_weights_lime(exp):
    out = {}
    for w, v in exp.as_list():
        out[str(w).lower()] = out.get(str(w).lower(), 0.0) + float(v)
    return out


def show_review(j):
    e, words = sv_text[j], [t for t in sv_text[j].data]
    lw = word_weights_lime(lime_text_exps[j])
    lime_vals = [lw.get(t.strip().strip("'").lower(), 0.0) for t in words]
    p = sentiment.predict_proba([chosen[j]])[0, 1]
    return HTML(f"<p>sentence {j}: P(positive) = {p:.2f}, people said "
                f"{'positive' if rev_test.label[j] else 'negative'}</p>"
                + explain.highlight_html(words, e.values, title="SHAP (log-odds)")
                + explain.highlight_html(words, lime_vals, title="LIME (probability, top 10 words)"))


display(show_review(0))

# %%
overlaps, signs = [], []
for e, exp in zip(sv_text, lime_text_exps):
    s, l = word_weights_shap(e), word_weights_lime(exp)
    k = min(3, len(s), len(l))
    overlaps.append(explain.topk_overlap(s, l, k))
    top = explain.top_k(s, k)
    signs.append(np.mean([np.sign(s[w]) == np.sign(l.get(w, 0.0)) for w in top]))
text_overlap = float(np.mean(overlaps))
print(f"top-3 words shared by LIME and SHAP: {np.round(overlaps, 2)} (mean {text_overlap:.2f})")
print(f"same sign on SHAP's top-3 words: {np.mean(signs):.0%}")
ch.note("text: LIME vs SHAP top-3 word overlap", text_overlap)

# %% [markdown]
# Where they disagree, look at the sentence: SHAP's Partition explainer masks *groups* of
# neighbouring words together, so two adjacent words can share a value; LIME's linear model
# treats each word alone and is fitted on probabilities, where a saturated prediction leaves
# little to explain.

# %% [markdown]
# ## Right for the wrong reason: a spurious token
#
# A model can score well for a reason nobody intended. We plant one: a made-up word, `zxq`,
# appended to **every positive training sentence** (think of a site that stamps its good reviews
# with a tag). A new model trained on these sentences has an easy rule. On test sentences with the
# same artefact it looks excellent; the explanation shows what it leans on; and when the tag is
# missing, or stuck on the negative sentences instead, the accuracy tells the truth.

# %%
TOKEN = "zxq"


def tag(texts, labels, on_label=1):
    return [f"{t} {TOKEN}" if y == on_label else t for t, y in zip(texts, labels)]


shortcut = tfidf_baseline(tag(rev_train.text, rev_train.label), rev_train.label, ngram_range=(1, 1), min_df=2,
                          token_pattern=r"(?u)\b\w+\b", C=4.0, max_iter=1000)
test_texts, test_labels = rev_test.text.tolist(), rev_test.label.to_numpy()
acc_tagged = accuracy_score(test_labels, shortcut.predict(tag(test_texts, test_labels)))
acc_clean = accuracy_score(test_labels, shortcut.predict(test_texts))
acc_moved = accuracy_score(test_labels, shortcut.predict(tag(test_texts, test_labels, on_label=0)))
print(f"shortcut model, test accuracy: tag on positives as in training {acc_tagged:.3f}; "
      f"no tag {acc_clean:.3f}; tag on negatives instead {acc_moved:.3f} "
      f"(the honest model: {text_acc:.3f})")

# %%
coef = shortcut[-1].coef_[0]
names = shortcut[0].get_feature_names_out()
top_words = names[np.argsort(-coef)[:8]]
print("largest positive coefficients:", ", ".join(top_words))
lime_shortcut = LimeTextExplainer(class_names=["negative", "positive"], split_expression=r"\W+",
                                  random_state=ch.seed)
positives = [t for t, y in zip(test_texts, test_labels) if y == 1][: cfg.n_reviews]
token_on_top = []
for t in tag(positives, [1] * len(positives)):
    exp = lime_shortcut.explain_instance(t, shortcut.predict_proba, num_features=5, num_samples=cfg.lime_samples)
    token_on_top.append(str(exp.as_list()[0][0]).lower() == TOKEN)
token_top_share = float(np.mean(token_on_top))
print(f"LIME names '{TOKEN}' as the top word for {token_top_share:.0%} of {len(positives)} tagged positive sentences")
ch.check("spurious token: LIME's top word is the token (share of tagged positives)", token_top_share,
         {"smoke": (1.0, 1.0), "fast": (1.0, 1.0), "full": None})
ch.check("spurious token: accuracy with the tag moved to negatives", acc_moved,
         {"smoke": (0.0, 0.012), "fast": (0.0, 0.012), "full": None})
ch.note("spurious token: accuracy with the tag as in training", acc_tagged)
ch.note("spurious token: accuracy without the tag", acc_clean)

# %%
print(f"'{TOKEN}' is the {'largest' if top_words[0] == TOKEN else 'not the largest'} positive coefficient and "
      f"LIME's top word for {token_top_share:.0%} of the tagged sentences; accuracy {acc_tagged:.0%} with the "
      f"artefact, {acc_clean:.0%} without it, {acc_moved:.0%} with it on the negatives.")

# %% [markdown]
# Where the explanation points at the token, a reader who knows that `zxq` means nothing can
# reject the model before the accuracy on tagged data fools anyone. That needs someone to look at
# the explanations of individual predictions, *and* to know which reasons are legitimate: the
# explanation cannot tell a shortcut from a real cue by itself.

# %% [markdown]
# # Part 3: images
#
# ## A small CNN on MNIST
#
# The CNN of chapter 02 (`fmbook.models.make_mnist_cnn`), trained briefly with a progress bar.
# This network is so small that splitting each step over several CPU threads costs more in
# waiting than it gains; on a CPU we use one thread (a GPU is used when present).

# %%
from fmbook.device import torch_device
from fmbook.models import accuracy as cnn_accuracy, make_mnist_cnn, to_image_tensor

if torch_device().type == "cpu":
    torch.set_num_threads(1)

(x_mnist, y_mnist), (x_mnist_test, y_mnist_test) = data.load_mnist()
n_cnn = len(x_mnist) if cfg.cnn_train is None else cfg.cnn_train
cnn, losses = train_mnist_cnn(x_mnist[:n_cnn], y_mnist[:n_cnn], epochs=cfg.cnn_epochs,
                              batch_size=cfg.cnn_batch, learning_rate=2e-3, seed=ch.seed)
cnn_acc = cnn_accuracy(cnn, x_mnist_test, y_mnist_test)
print(f"data: MNIST, {n_cnn:,} training digits, {len(x_mnist_test):,} test digits; model: make_mnist_cnn, "
      f"{cfg.cnn_epochs} epoch(s); device {next(cnn.parameters()).device}")
ch.check("CNN test accuracy", cnn_acc, {"smoke": (0.83, 0.93), "fast": (0.95, 0.98), "full": None})

# %% [markdown]
# ## Gradients, gradient x input, integrated gradients
#
# Three gradient-based attributions for the predicted class `c`:
#
# * **gradient** (saliency): how much the logit of `c` changes per pixel;
# * **gradient x input**: the gradient scaled by the pixel, a first-order "contribution";
# * **integrated gradients** (Sundararajan et al. 2017): average the gradient along the straight
#   path from a black image to the digit and multiply by the input. Its attributions add up to
#   logit(x) - logit(black): SHAP's additivity, for networks.
#
# > **Common mistake: explaining the softmax, or a model in training mode.** Take gradients of the
# > *logit* (the softmax saturates and its gradients vanish) and call `model.eval()` first.

# %%
device = next(cnn.parameters()).device
digits = to_image_tensor(x_mnist_test[: cfg.n_digits]).to(device)


def gradient(model, x, target):
    x = x.clone().requires_grad_(True)
    logit = model(x).gather(1, target[:, None]).sum()
    (g,) = torch.autograd.grad(logit, x)
    return g.detach()


def integrated_gradients(model, x, target, steps=cfg.ig_steps):
    total = torch.zeros_like(x)
    for alpha in (torch.arange(steps, dtype=torch.float32) + 0.5) / steps:  # midpoint rule
        total += gradient(model, alpha * x, target)
    return (x * total / steps).detach()


METHODS = {
    "gradient": gradient,
    "gradient x input": lambda m, x, t: gradient(m, x, t) * x,
    "integrated gradients": integrated_gradients,
}

cnn.eval()
with torch.no_grad():
    target = cnn(digits).argmax(1)
maps = {name: fn(cnn, digits, target).squeeze(1).cpu().numpy() for name, fn in METHODS.items()}

with torch.no_grad():
    gain = (cnn(digits) - cnn(torch.zeros_like(digits))).gather(1, target[:, None]).squeeze(1).cpu().numpy()
ig_gap = float(np.max(np.abs(maps["integrated gradients"].reshape(len(gain), -1).sum(1) - gain) / np.abs(gain)))
print(f"integrated gradients completeness: largest relative gap {ig_gap:.3f} with {cfg.ig_steps} steps")
ch.note("IG completeness relative gap", ig_gap)

# %%
def heat_rows(images, rows, n=6):
    fig, axes = plt.subplots(len(rows) + 1, n, figsize=(1.5 * n, 1.6 * (len(rows) + 1)))
    for j in range(n):
        axes[0, j].imshow(images[j], cmap="gray")
        axes[0, j].set_title(f"pred {int(target[j])}", fontsize=8)
        for r, (name, m) in enumerate(rows.items(), start=1):
            lim = np.abs(m[j]).max() or 1.0
            axes[r, j].imshow(m[j], cmap="bwr", vmin=-lim, vmax=lim)
            if j == 0:
                axes[r, j].set_ylabel(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


heat_rows(x_mnist_test[: cfg.n_digits], maps)
plt.show()

# %% [markdown]
# ## Sanity check 1: cascading layer randomisation
#
# Adebayo et al. (2018) asked: if we replace the trained weights by random ones, does the
# explanation change? If it does not, it cannot be explaining what the model *learned*; it is
# showing the input (an edge detector would do the same). They randomise the layers **one at a
# time from the top** (the output layer first, then the one below, ...), explaining the same digits
# for the same classes after each step, and compare with the trained network's map: the Spearman
# rank correlation of |attribution| (near 1: "looks the same"; near 0: changed).
#
# We compare inside the digit (pixels > 0), where agreement has to be earned: pixels where the
# input is 0 get a zero "x input" attribution under *any* weights, and border pixels, which this
# unpadded network reaches through fewer paths, get small gradients under any weights. Each
# method is judged **on its own**, after all layers are randomised: it passes when its similarity
# is below 0.5. A **constant map** (the same value everywhere) is included as a control: it
# cannot change, and must fail.

# %%
import copy

METHODS_AND_CONTROL = {**METHODS, "constant map": lambda m, x, t: torch.ones_like(x)}
inside = x_mnist_test[: cfg.n_digits] > 0


def explain_all(model):
    model.eval()
    return {name: fn(model, digits, target).squeeze(1).cpu().numpy() for name, fn in METHODS_AND_CONTROL.items()}


trained_maps = explain_all(cnn)
cascade = copy.deepcopy(cnn)
layers_top_down = [m for m in cascade if any(True for _ in m.parameters(recurse=False))][::-1]
stages, cascade_similarity = ["trained"], {name: [1.0] for name in METHODS_AND_CONTROL}
for k, layer in enumerate(layers_top_down):
    torch.manual_seed(ch.seed + 100 + k)
    layer.reset_parameters()  # this layer's weights back to a random initialisation
    stages.append(f"+{type(layer).__name__} {len(layers_top_down) - k}")
    cascade_maps = explain_all(cascade)
    for name in METHODS_AND_CONTROL:
        cascade_similarity[name].append(
            faithfulness.randomisation_test(trained_maps[name], cascade_maps[name], mask=inside).similarity)
random_maps = cascade_maps  # every layer randomised
cascade_verdicts = {name: faithfulness.randomisation_test(trained_maps[name], random_maps[name], mask=inside)
                    for name in METHODS_AND_CONTROL}
for name, verdict in cascade_verdicts.items():
    print(f"{name:<22} {verdict}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3))
for name, sims in cascade_similarity.items():
    ax.plot(stages, sims, marker="o", label=name, ls="--" if name == "constant map" else "-")
ax.axhline(0.5, color="k", lw=0.8, ls=":")
ax.set_ylabel("rank correlation with the\ntrained map (inside the digit)")
ax.set_xlabel("layers randomised, from the top")
ax.set_ylim(-0.2, 1.05)
ax.legend(fontsize=8)
plt.show()

# %%
whole_image = {n: explain.randomisation_similarity(trained_maps[n], random_maps[n]) for n in METHODS}
print("similarity over the whole image, all layers randomised:",
      ", ".join(f"{n} {v:.2f}" for n, v in whole_image.items()))
for n in METHODS:
    ch.note(f"cascading randomisation, whole image: {n}", whole_image[n])
ch.check("cascading randomisation: gradient similarity (inside digit)", cascade_verdicts["gradient"].similarity,
         {"smoke": (-0.18, 0.47), "fast": (0.01, 0.17), "full": None})
ch.check("cascading randomisation: gradient x input similarity (inside digit)",
         cascade_verdicts["gradient x input"].similarity, {"smoke": (0.3, 0.78), "fast": (0.39, 0.56), "full": None})
ch.check("cascading randomisation: integrated gradients similarity (inside digit)",
         cascade_verdicts["integrated gradients"].similarity, {"smoke": (0.39, 0.69), "fast": (0.44, 0.52), "full": None})

# %%
heat_rows(x_mnist_test[: cfg.n_digits], {"grad (trained)": maps["gradient"], "grad (random)": random_maps["gradient"],
                                        "IG (trained)": maps["integrated gradients"],
                                        "IG (random)": random_maps["integrated gradients"]})
plt.show()

# %% [markdown]
# ## Sanity check 2: label randomisation
#
# The second test of the same paper: train the same network on **shuffled labels**, so that
# nothing it learns can be about digits, and compare its explanations with the real model's, for
# the same digits and classes. Adebayo et al. trained until the network memorised the random
# labels. A short run on many digits does not get there: the network collapses to a constant
# output, its units die, every gradient is 0, and the test "passes" without saying anything. So
# we train it longer on fewer digits, until its training loss falls below that of a constant
# guess (log 10 = 2.303): it has started to memorise. The verdicts also report constant maps.

# %%
y_shuffled_digits = np.random.default_rng(ch.seed + 2).permutation(y_mnist[: cfg.noise_train])
cnn_noise, noise_losses = train_mnist_cnn(x_mnist[: cfg.noise_train], y_shuffled_digits, epochs=cfg.noise_epochs,
                                          batch_size=cfg.cnn_batch, learning_rate=1e-3, seed=ch.seed)
print(f"network trained on {cfg.noise_train:,} digits with shuffled labels, {cfg.noise_epochs} epochs: training loss "
      f"{noise_losses[0]:.3f} -> {noise_losses[-1]:.3f} (a constant guess: {np.log(10):.3f}); "
      f"test accuracy {cnn_accuracy(cnn_noise, x_mnist_test, y_mnist_test):.3f}")
noise_maps = explain_all(cnn_noise)
LABEL_RANDOMISATION_BANDS = {  # measured: see the chapter module's SETTINGS comment
    "gradient": {"smoke": (0.16, 0.23), "fast": (0.03, 0.29), "full": None},
    "gradient x input": {"smoke": (0.43, 0.69), "fast": (0.43, 0.60), "full": None},
    "integrated gradients": {"smoke": (0.43, 0.71), "fast": (0.46, 0.59), "full": None},
}
label_verdicts = {name: faithfulness.randomisation_test(trained_maps[name], noise_maps[name], mask=inside)
                  for name in METHODS_AND_CONTROL}
for name, verdict in label_verdicts.items():
    print(f"{name:<22} {verdict}")
for name in METHODS:
    ch.check(f"label randomisation: {name} similarity (inside digit)", label_verdicts[name].similarity,
             LABEL_RANDOMISATION_BANDS[name])

# %% [markdown]
# ## Faithfulness of the heat maps
#
# The deletion test for images: turn the pixels black in the order a map ranks them (the most
# positive first), a fixed share of the pixels at a time, and follow the logit of the predicted class.
# Again the yardstick is random orders of the same pixels.

# %%
def logit_of(c):
    def f(rows):
        with torch.no_grad():
            x = torch.as_tensor(rows, dtype=torch.float32, device=device).view(-1, 1, 28, 28)
            return cnn(x)[:, c].cpu().numpy()
    return f


pixels = digits.cpu().numpy().reshape(len(digits), -1)
outputs = [logit_of(int(c)) for c in target]
rng_img = np.random.default_rng(ch.seed)
image_explainers = {**{n: trained_maps[n].reshape(len(digits), -1) for n in METHODS_AND_CONTROL},
                    "random": rng_img.normal(size=pixels.shape)}
faith_img = {name: faithfulness.faithfulness_test(outputs, pixels, a, 0.0, kind="deletion", n_random=5,
                                                  steps=cfg.deletion_steps, rng=ch.seed)
             for name, a in image_explainers.items()}
for name, verdict in faith_img.items():
    print(f"{name:<22} {verdict}")
ch.check("image deletion: integrated gradients' gain over random orders (logit)",
         faith_img["integrated gradients"].gain, {"smoke": (0.74, None), "fast": (4.6, None), "full": None})
for name in ("gradient", "gradient x input", "random", "constant map"):
    ch.note(f"image deletion: {name} gain over random orders", faith_img[name].gain)

# %% [markdown]
# ## The verdicts, method by method
#
# A method earns trust only if it passes **each** test on its own. One method passing a test
# does not vouch for another (judging "the best of three" would let two failing methods hide
# behind one that passes).

# %%
verdicts = pd.DataFrame({
    "cascading randomisation": {n: cascade_verdicts[n].passed for n in METHODS_AND_CONTROL},
    "label randomisation": {n: label_verdicts[n].passed for n in METHODS_AND_CONTROL},
    "deletion": {n: faith_img[n].passed for n in METHODS_AND_CONTROL},
})
verdicts["all three"] = verdicts.all(axis=1)
print(verdicts.replace({True: "pass", False: "FAIL"}).to_string())
image_trusted = [n for n in METHODS if verdicts.loc[n, "all three"]]
borderline = sorted({n for n in METHODS for v in (cascade_verdicts[n], label_verdicts[n])
                     if abs(v.similarity - v.threshold) < 0.1})
print(f"randomisation similarity within 0.1 of the {cascade_verdicts['gradient'].threshold} threshold "
      f"(a verdict another random seed can flip): {', '.join(borderline) or 'none'}")
ch.check("constant map fails every sanity and faithfulness test (1 = yes)",
         float(not verdicts.loc["constant map"].any()), {"smoke": (1, 1), "fast": (1, 1), "full": (1, 1)})

# %% [markdown]
# # Explorer: one example, its explanations side by side
#
# Pick a person, a sentence or a digit. In a live notebook the controls work; without a kernel
# you see the default view.

# %%
from fmbook.widgets import explore


def render(example="person", index=0):
    if example == "person":
        i = index % cfg.lime_people
        return compare_bars(sv.values[i], lime_by_person[i], f"test person {i}: " + describe_person(i)[:70] + "...")
    if example == "sentence":
        return show_review(index % len(chosen))
    j = index % cfg.n_digits
    fig, axes = plt.subplots(1, 4, figsize=(8, 2.3))
    panels = [("digit", x_mnist_test[j], "gray"), ("gradient", maps["gradient"][j], "bwr"),
              ("integrated gradients", maps["integrated gradients"][j], "bwr"),
              ("IG, random weights", random_maps["integrated gradients"][j], "bwr")]
    for ax, (title, img, cmap) in zip(axes, panels):
        lim = np.abs(img).max() or 1.0
        ax.imshow(img, cmap=cmap, vmin=None if cmap == "gray" else -lim, vmax=None if cmap == "gray" else lim)
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    fig.suptitle(f"test digit {j}, predicted {int(target[j])}")
    return fig


explore(render, example=["person", "sentence", "digit"], index=(0, 9, 1));

# %% [markdown]
# # Society: what an explanation is for
#
# Europe's GDPR (Articles 13-15 and 22) gives people subject to automated decisions a right to
# "meaningful information about the logic involved"; the EU AI Act asks that high-risk systems be
# transparent enough for their users to interpret. SHAP and LIME are what such information
# usually looks like in practice. The numbers of this run show what it can and cannot carry:

# %%
passed_tab = [n for n, ok in tab_verdicts.items() if ok]
failed_rand = [n for n, v in rand_tab.items() if not v.passed]
print(f"* Additivity: SHAP's attributions add up to the model output to {add_err:.1e}; so would a "
      f"useless explanation that puts everything on age. It is a unit check, not a reason to trust.")
print(f"* Faithfulness: on Adult, deleting features in SHAP's order lowers the log-odds faster than a random "
      f"order (gain {shap_deletion_gain:+.2f}); random attributions gain {faith_tab['random', 'deletion'].gain:+.2f}. "
      f"Passing deletion and insertion: {', '.join(passed_tab) or 'none'}.")
print(f"* Randomisation: retrained on shuffled labels, SHAP's ranking keeps a similarity of "
      f"{rand_tab['SHAP'].similarity:.2f}, LIME's {rand_tab['LIME'].similarity:.2f}; failing: "
      f"{', '.join(failed_rand) or 'none'}.")
print(f"* Stability: LIME's top-5 features agree {lime_stability:.0%} across seeds with "
      f"{cfg.lime_samples} samples, {np.mean(stab_small):.0%} with 100. A person who asks twice can "
      f"get two different 'reasons'.")
print(f"* Agreement: LIME and SHAP share {lime_shap_overlap:.0%} of their top-5 features on Adult, "
      f"{text_overlap:.0%} of the top-3 words on reviews. Which explanation is 'the' reason is a choice.")
print(f"* Proxies: sex ranks {rank['sex']} of {len(features)} features; among sex, relationship and marital "
      f"status it gets {sex_share_int:.0%} of the credit when unknown features ignore the known ones and "
      f"{sex_share_obs:.0%} when they follow the data. Without sex, "
      f"{gap_blind / gap_with:.0%} of the men-women score gap remains, and the explanation shows no 'sex' at all.")
print(f"* Shortcuts: a planted word made the review model {acc_tagged:.0%} accurate on data with the same "
      f"artefact and {acc_moved:.0%} when the word moved; LIME put it on top for {token_top_share:.0%} of "
      f"the sentences explained.")
print(f"* Heat maps: passing both randomisation tests and deletion: {', '.join(image_trusted) or 'no method'}; "
      f"failing at least one: {', '.join(n for n in METHODS if n not in image_trusted) or 'none'}; "
      f"borderline (near the threshold): {', '.join(borderline) or 'none'}. "
      f"A heat map that looks like the digit is not evidence that it explains the model.")

# %% [markdown]
# Three lessons follow. **Explanations can reassure without informing**: a plausible list of
# features persuades people to accept a decision whether or not the list is stable or faithful
# (the LIME seeds above). **An explanation can hide a proxy**: removing a protected attribute
# from the inputs removes it from the explanation, not from the outcome; auditing needs the
# outcomes by group (chapter 06), not only the explanation. **A method must pass sanity checks
# before it is shown to anyone**, each method on its own, with tests that a broken explainer
# (random, constant) fails. Who gets to see an explanation, and what they can do with it (contest
# the decision, correct the data), matters as much as the method.

# %% [markdown]
# # Exercises
#
# **07.exact_shapley.** Write `exact_shapley(f, x, background)` for a 3-feature model: for each
# feature, the weighted sum over coalitions of the other features of the change in the mean
# output when the feature joins. `v(S)` is the mean of `f` over the background rows with the
# columns in `S` set to `x`'s values.

# %%
from fmbook.exercises import check, hint, show_solution


def exact_shapley(f, x, background):
    raise NotImplementedError  # your code here


check("07.exact_shapley", exact_shapley)

# %% [markdown]
# **07.lime_fit.** LIME's core, as the `lime` package computes it: given binary perturbations `Z`
# (n, d), model outputs `y` and distances to the example, weight each sample with LIME's kernel
# `sqrt(exp(-distance**2 / kernel_width**2))` and fit a ridge regression (penalty `alpha` on the
# coefficients, none on the intercept) with those sample weights. Return `(intercept, coefficients)`.

# %%
def lime_fit(Z, y, distances, kernel_width=0.75, alpha=1.0):
    raise NotImplementedError  # your code here


check("07.lime_fit", lime_fit)

# %% [markdown]
# **07.topk_overlap.** Return the fraction of the top-`k` features (by absolute attribution)
# that two attribution vectors share.

# %%
def topk_overlap(a, b, k):
    raise NotImplementedError  # your code here


check("07.topk_overlap", topk_overlap)

# %% [markdown]
# **07.fool_the_check** (an auditor's exercise). A check is only worth something if you know
# what would still pass it. Write `explain_badly(predict, X)`: given a model you can only call
# (`predict` maps an (n, d) array to n outputs) and inputs `X` (n, d), return attributions (n, d)
# that **pass** the randomisation test (`faithfulness.randomisation_test`, trained against a
# randomised model, similarity < 0.5) and **fail** the deletion test (`faithfulness.faithfulness_test`,
# baseline 0). The checker calls your function on models and inputs you do not see. Then decide:
# what does a passed randomisation test allow you to say about a method?

# %%
def explain_badly(predict, X):
    raise NotImplementedError  # your code here


check("07.fool_the_check", explain_badly)

# %% [markdown]
# Stuck? `hint("07.lime_fit")`, `hint("07.lime_fit", 2)`, then `show_solution("07.lime_fit")`.
#
# ## Results card

# %%
ch.finish()
