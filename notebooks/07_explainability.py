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
# * **Text** (review sentiment, chapter 03's task): which words push a sentence to "positive".
# * **Images** (the MNIST CNN of chapter 02): gradient maps and integrated gradients as heat maps.
#
# Then three checks: SHAP's **additivity** (the attributions must add up to the model's output),
# LIME's **stability** (the same person, explained with five random seeds, should get the same
# top features), and the **model-randomisation test** of Adebayo et al. (2018): an explanation of
# a network with *random* weights should look different from that of the trained network.
#
# What to expect (each is checked below; a model that learns nothing fails):
#
# | result | smoke | fast | full |
# | --- | --- | --- | --- |
# | income model, test ROC AUC | 0.85 .. 1 | 0.90 .. 1 | 0.90 .. 1 |
# | SHAP additivity error (log-odds) | <= 1e-6 | <= 1e-6 | <= 1e-6 |
# | exact Shapley (enumeration) vs TreeExplainer, max difference | <= 1e-6 | <= 1e-6 | <= 1e-6 |
# | LIME top-5 stability across 5 seeds | 0.6 .. 1 | 0.7 .. 1 | 0.75 .. 1 |
# | LIME vs SHAP top-5 overlap (chance is 5/13 = 0.38) | 0.45 .. 1 | 0.45 .. 1 | 0.45 .. 1 |
# | share of the men-women score gap left when `sex` is removed | 0.5 .. 1.5 | 0.5 .. 1.5 | 0.5 .. 1.5 |
# | sentiment model, test accuracy | 0.72 .. 0.95 | 0.74 .. 0.95 | 0.74 .. 0.95 |
# | CNN, test accuracy | 0.75 .. 1 | 0.95 .. 1 | 0.98 .. 1 |
# | most randomisation-sensitive method: similarity trained vs random (inside the digit) | <= 0.5 | <= 0.5 | <= 0.5 |
#
# Time on a 2-core CPU: `smoke` about a minute, `fast` about 3 minutes (measured on a busy
# machine: about 25 s and 65 s of CPU time). `full` needs no GPU but runs longer (all of MNIST,
# more people, digits and LIME samples).

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
from fmbook import data, explain
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
# We train a gradient-boosted tree model, as in chapter 06. `adult_features` (in the chapter's module) turns each
# category into an integer code, so that every feature stays *one* column and an explanation
# can name it ("sex", not "sex_Male").

# %%
adult_train, adult_test = data.load_adult()
X_all, y_all, categories = adult_features(adult_train)
X_test, y_test, _ = adult_features(adult_test)
features = list(X_all.columns)

rng = np.random.default_rng(ch.seed)
n_adult = len(X_all) if cfg.adult_train is None else cfg.adult_train
rows = rng.choice(len(X_all), n_adult, replace=False)
X_train, y_train = X_all.iloc[rows].reset_index(drop=True), y_all[rows]
print(f"data: UCI Adult, {len(X_train):,} training people (of {len(X_all):,}), "
      f"{len(X_test):,} test people, {len(features)} features")
print("features:", ", ".join(features))

# %%
gbm = train_adult_model(X_train.to_numpy(), y_train, seed=ch.seed, n_estimators=cfg.n_trees)
p_test = gbm.predict_proba(X_test.to_numpy())[:, 1]
auc = roc_auc_score(y_test, p_test)
print(f"model: GradientBoostingClassifier, {cfg.n_trees} trees of depth 3; "
      f"test accuracy {accuracy_score(y_test, p_test > 0.5):.3f} "
      f"(always guessing '<=50K' gives {1 - y_test.mean():.3f})")
ch.check("income model test ROC AUC", auc, {"smoke": (0.85, 1.0), "fast": (0.90, 1.0), "full": (0.90, 1.0)})

# %% [markdown]
# ## SHAP values for trees
#
# A SHAP value says how much one feature moved one prediction away from the average prediction.
# For trees, `shap.TreeExplainer` computes them *exactly* and fast. We give it a background set
# of people: "feature unknown" means "take the value from a background person" (the
# *interventional* game). The model's raw output is the **log-odds** of a high income;
# SHAP values are in log-odds too.

# %%
background = X_train.sample(cfg.n_background, random_state=ch.seed)
people = X_test.iloc[: cfg.n_explain]
tree_explainer = shap.TreeExplainer(gbm, data=background.to_numpy(),
                                    feature_perturbation="interventional", model_output="raw")
sv = tree_explainer(people)  # a shap.Explanation: .values, .base_values, .data
print(f"explained {len(people)} test people with a background of {len(background)}: "
      f"SHAP values {sv.values.shape}, expected value {float(tree_explainer.expected_value):.3f} log-odds")

# %% [markdown]
# ## Check 1: additivity
#
# SHAP's promise is *local accuracy*: for every person, the expected value plus the SHAP values
# equals the model's output. `explain.additivity_error` measures the largest violation. For an
# exact tree explainer it should be at the level of rounding errors.

# %%
logodds = gbm.decision_function(people.to_numpy())
add_err = explain.additivity_error(sv.values, sv.base_values, logodds)
ch.check("SHAP additivity error (tree, log-odds)", add_err, {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})

# %% [markdown]
# > **Common mistake: comparing with the probability.** `predict_proba` is the sigmoid of the
# > log-odds. The SHAP values of the raw output do not add up to the probability, and the
# > "error" you then measure says nothing about SHAP:

# %%
wrong = explain.additivity_error(sv.values, sv.base_values, gbm.predict_proba(people.to_numpy())[:, 1])
print(f"additivity 'error' against predict_proba: {wrong:.3f} (a units mistake, not a SHAP failure)")

# %% [markdown]
# ## What SHAP approximates: exact Shapley values by enumeration
#
# Shapley values come from game theory: average a feature's marginal contribution over every
# order in which features could join. With 13 features there are 2^13 = 8,192 coalitions:
# few enough to enumerate for one person (`explain.exact_shapley`). TreeExplainer should agree
# to rounding error: here it computes the same quantity, just smarter.

# %%
exact = explain.exact_shapley(gbm.decision_function, people.iloc[0].to_numpy(), background.to_numpy())
gap = float(np.max(np.abs(exact - sv.values[0])))
print(f"{2 ** len(features):,} coalitions x {len(background)} background rows enumerated")
ch.check("exact Shapley vs TreeExplainer, max difference", gap,
         {"smoke": (0, 1e-6), "fast": (0, 1e-6), "full": (0, 1e-6)})

# %% [markdown]
# ## Global view: which features matter, and how
#
# The beeswarm plot shows each person as a dot per feature: its position is the SHAP value, its
# colour the feature's value (red high, blue low; for a category, its code). Features are
# sorted by mean |SHAP value|.

# %%
shap.plots.beeswarm(sv, max_display=13, show=False)
plt.title("SHAP values of the income model (log-odds)")
plt.show()

# %% [markdown]
# A dependence plot zooms in on one feature: how the SHAP value of `age` changes with age. The
# curve is the model's learned effect of age, averaged over the other features.

# %%
shap.plots.scatter(sv[:, "age"], color=sv[:, "hours_per_week"], show=False)
plt.title("how age moves the log-odds")
plt.show()

# %%
global_importance = pd.Series(np.abs(sv.values).mean(0), index=features).sort_values(ascending=False)
print("mean |SHAP| (log-odds), most important first:")
print(global_importance.round(3).to_string())

# %% [markdown]
# ## Local view: one person
#
# The waterfall plot starts at the expected value and adds each feature's SHAP value until it
# reaches this person's log-odds. Categories are shown as codes; the list below names them.

# %%
person = 0
shap.plots.waterfall(sv[person], max_display=10, show=False)
plt.title(f"test person {person}: why this score")
plt.show()


def describe_person(i):
    row = people.iloc[i]
    return ", ".join(f"{f}={categories[f][int(row[f])] if f in categories else int(row[f])}" for f in features)


print(describe_person(person))
print(f"P(income > $50K) = {gbm.predict_proba(people.iloc[[person]].to_numpy())[0, 1]:.3f}, "
      f"true label: {'>50K' if y_test[person] else '<=50K'}")

# %% [markdown]
# ## LIME on the same people
#
# LIME explains one prediction by sampling perturbed copies of the person, asking the model, and
# fitting a *weighted linear model* around the person (closer samples weigh more). Its answer
# depends on the random samples, so we pass the seed explicitly.
#
# > **Common mistake: an unseeded LIME.** `LimeTabularExplainer` without `random_state` draws new
# > samples at every call: two runs explain the same person differently, and nobody notices.

# %%
cat_index = [features.index(f) for f in categories]


def lime_tabular(i, seed, num_samples=cfg.lime_samples):
    """LIME weights {feature: weight} for test person i with a given seed."""
    lime_explainer = LimeTabularExplainer(
        X_train.to_numpy(), feature_names=features, class_names=["<=50K", ">50K"],
        categorical_features=cat_index,
        categorical_names={features.index(f): names for f, names in categories.items()},
        discretize_continuous=True, random_state=seed)
    exp = lime_explainer.explain_instance(people.iloc[i].to_numpy(), gbm.predict_proba,
                                          num_features=len(features), num_samples=num_samples)
    return {features[j]: w for j, w in exp.as_map()[1]}, exp


lime_weights, lime_exp = lime_tabular(person, seed=ch.seed)
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
# ## Check 2: does LIME give the same answer twice? And does it agree with SHAP?
#
# For each of a few people we run LIME with 5 seeds and measure the **top-5 stability**: the
# mean fraction of top-5 features that two runs share (`explain.stability`). Two random
# rankings of 13 features would share about 5/13 = 0.38. Then the **LIME-SHAP overlap**: how many
# of SHAP's top 5 are also LIME's top 5.

# %%
seeds = [ch.seed + k for k in range(cfg.lime_seeds)]
stab, agree, stab_small = [], [], []
lime_by_person = {}
for i in range(cfg.lime_people):
    runs = [lime_tabular(i, seed)[0] for seed in seeds]
    lime_by_person[i] = runs[0]
    stab.append(explain.stability(runs, k=5))
    agree.append(explain.topk_overlap(runs[0], dict(zip(features, sv.values[i])), k=5))
    stab_small.append(explain.stability([lime_tabular(i, seed, num_samples=100)[0] for seed in seeds], k=5))
lime_stability, lime_shap_overlap = float(np.mean(stab)), float(np.mean(agree))
print(f"{cfg.lime_people} people x {len(seeds)} seeds, {cfg.lime_samples} samples each")
print("per person stability:", np.round(stab, 2), " with only 100 samples:", np.round(stab_small, 2))
ch.check("LIME top-5 stability across 5 seeds", lime_stability,
         {"smoke": (0.6, 1.0), "fast": (0.7, 1.0), "full": (0.75, 1.0)})
ch.note("LIME top-5 stability with 100 samples", float(np.mean(stab_small)))
ch.check("LIME vs SHAP top-5 overlap", lime_shap_overlap,
         {"smoke": (0.45, 1.0), "fast": (0.45, 1.0), "full": (0.45, 1.0)})

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
# Now the experiment that matters for auditing: drop `sex` from the inputs and train again. The
# new model *cannot* use sex, and its explanation will say so: sex has no SHAP value at all.
# Does the gap between the scores of women and men go away?

# %%
no_sex = [f for f in features if f != "sex"]
gbm_blind = train_adult_model(X_train[no_sex].to_numpy(), y_train, seed=ch.seed, n_estimators=cfg.n_trees)
is_woman = X_test["sex"].to_numpy() == categories["sex"].index("Female")
p_blind = gbm_blind.predict_proba(X_test[no_sex].to_numpy())[:, 1]
gap_with = float(p_test[~is_woman].mean() - p_test[is_woman].mean())
gap_blind = float(p_blind[~is_woman].mean() - p_blind[is_woman].mean())
print(f"mean score, men minus women: with sex {gap_with:.3f}, without sex {gap_blind:.3f} "
      f"({gap_blind / gap_with:.0%} of the gap remains)")
ch.note("score gap men-women, model with sex", gap_with)
ch.note("score gap men-women, model without sex", gap_blind)
ch.check("share of the men-women gap left without sex", gap_blind / gap_with,
         {"smoke": (0.5, 1.5), "fast": (0.5, 1.5), "full": (0.5, 1.5)})

# %%
sv_blind = shap.TreeExplainer(gbm_blind, data=background[no_sex].to_numpy(),
                              feature_perturbation="interventional")(people[no_sex])
blind_importance = pd.Series(np.abs(sv_blind.values).mean(0), index=no_sex).sort_values(ascending=False)
women = is_woman[: len(people)]
rel = sv_blind[:, "relationship"].values
print("model without sex, top 5 by mean |SHAP|:", ", ".join(blind_importance.index[:5]))
print(f"mean SHAP of relationship: women {rel[women].mean():+.3f}, men {rel[~women].mean():+.3f} (log-odds)")

# %% [markdown]
# The "sex-blind" model's explanation is *true* (it never reads `sex`) and reassuring, yet most
# of the gap stays: `relationship` and `marital_status` carry the signal. An explanation shows
# which inputs the model used, not which social facts those inputs stand for.

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
ch.check("sentiment model test accuracy", text_acc, {"smoke": (0.72, 0.95), "fast": (0.74, 0.95), "full": (0.74, 0.95)})

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
ch.check("CNN test accuracy", cnn_acc, {"smoke": (0.75, 1.0), "fast": (0.95, 1.0), "full": (0.98, 1.0)})

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
# ## Check 3: the model-randomisation test
#
# Adebayo et al. (2018) asked: if we replace the trained weights by random ones, does the
# explanation change? If it does not, it cannot be explaining what the model *learned*; it is
# showing the input (an edge detector would do the same). We re-initialise the same
# architecture with random weights, explain the same digits for the same classes, and measure
# the Spearman rank correlation of |attribution| between the trained and the random network
# (`explain.randomisation_similarity`): near 1 means "looks the same", the method **fails**;
# near 0 means it **passes**.
#
# Two views. **Whole image** is what a viewer sees: a method whose whole-image map stays almost
# the same (similarity >= 0.9) under random weights *fails*. But over the whole image much of the
# agreement is free: pixels where the input is 0 get a zero "x input" attribution under *any*
# weights, and border pixels, which this unpadded architecture reaches through fewer paths, get
# small gradients under any weights too. So the headline check uses the pixels **inside the
# digit** (pixels > 0), where agreement has to be earned: the most weight-sensitive method must
# fall to 0.5 or below there. Each map's similarity to the input itself is shown as well.

# %%
torch.manual_seed(ch.seed + 1)
random_cnn = make_mnist_cnn().to(device).eval()
random_maps = {name: fn(random_cnn, digits, target).squeeze(1).cpu().numpy() for name, fn in METHODS.items()}
inside = x_mnist_test[: cfg.n_digits] > 0

similarity = pd.DataFrame({
    "whole image": {n: explain.randomisation_similarity(maps[n], random_maps[n]) for n in METHODS},
    "inside the digit": {n: explain.randomisation_similarity(maps[n], random_maps[n], mask=inside)
                         for n in METHODS},
    "map vs the input itself": {n: explain.randomisation_similarity(maps[n], x_mnist_test[: cfg.n_digits] / 255.0)
                                for n in METHODS},
})
print(similarity.round(3).to_string())

# %%
fig, ax = plt.subplots(figsize=(6, 2.8))
similarity[["whole image", "inside the digit"]].plot.barh(ax=ax)
ax.axvline(0.5, color="k", ls="--", lw=0.8)
ax.set_xlabel("rank correlation of |attribution|, trained vs random weights\n(lower = changes more = passes)")
ax.set_xlim(-0.2, 1.05)
plt.show()

# %%
best_method = similarity["inside the digit"].idxmin()
best_similarity = float(similarity["inside the digit"].min())
failing = [n for n in METHODS if similarity.loc[n, "whole image"] >= 0.9]
print(f"most sensitive to the weights: {best_method} (similarity inside the digit {best_similarity:.2f})")
print(f"whole-image map almost unchanged by random weights (>= 0.9, fail the test): {', '.join(failing) or 'none'}")
ch.check("randomisation similarity of the most sensitive method", best_similarity,
         {"smoke": (-1.0, 0.5), "fast": (-1.0, 0.5), "full": (-1.0, 0.5)})
for n in METHODS:
    ch.note(f"randomisation similarity inside digit: {n}", float(similarity.loc[n, "inside the digit"]))
    ch.note(f"randomisation similarity whole image: {n}", float(similarity.loc[n, "whole image"]))

# %%
heat_rows(x_mnist_test[: cfg.n_digits], {"grad (trained)": maps["gradient"], "grad (random)": random_maps["gradient"],
                                        "IG (trained)": maps["integrated gradients"],
                                        "IG (random)": random_maps["integrated gradients"]})
plt.show()

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
print(f"* Additivity: SHAP's attributions add up to the model output to {add_err:.1e}. Exactness "
      f"is about the *model*, not the world: a faithful account of a biased model is still biased.")
print(f"* Stability: LIME's top-5 features agree {lime_stability:.0%} across seeds with "
      f"{cfg.lime_samples} samples, {np.mean(stab_small):.0%} with 100. A person who asks twice can "
      f"get two different 'reasons'.")
print(f"* Agreement: LIME and SHAP share {lime_shap_overlap:.0%} of their top-5 features on Adult, "
      f"{text_overlap:.0%} of the top-3 words on reviews. Which explanation is 'the' reason is a choice.")
print(f"* Proxies: sex ranks {rank['sex']} of {len(features)} features. Without sex, {gap_blind / gap_with:.0%} "
      f"of the men-women score gap remains, and the explanation shows no 'sex' at all.")
print(f"* Sanity: with random weights, {' and '.join(failing) or 'no method'} still "
      f"{'give' if len(failing) > 1 else 'gives'} almost the same "
      f"maps as the trained model (whole-image rank correlation >= 0.9); {best_method} changes most "
      f"({best_similarity:.2f} inside the digit). A heat map that looks like the digit is not evidence "
      f"that it explains the model.")

# %% [markdown]
# Three lessons follow. **Explanations can reassure without informing**: a plausible list of
# features persuades people to accept a decision whether or not the list is stable or faithful
# (the LIME seeds above). **An explanation can hide a proxy**: removing a protected attribute
# from the inputs removes it from the explanation, not from the outcome; auditing needs the
# outcomes by group (chapter 06), not only the explanation. **A method must pass sanity checks
# before it is shown to anyone**: some popular heat maps are largely independent of the model.
# Who gets to see an explanation, and what they can do with it (contest the decision, correct
# the data), matters as much as the method.

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
# **07.lime_fit.** LIME's core: given binary perturbations `Z` (n, d), model outputs `y` and
# distances to the example, weight each sample by `exp(-distance**2 / kernel_width**2)` and
# return `(intercept, coefficients)` of the weighted least-squares fit.

# %%
def lime_fit(Z, y, distances, kernel_width=0.75):
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
# Stuck? `hint("07.lime_fit")`, `hint("07.lime_fit", 2)`, then `show_solution("07.lime_fit")`.
#
# ## Results card

# %%
ch.finish()
