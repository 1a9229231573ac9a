"""Chapter 07: explanations, by hand.

The chapter's settings per profile (``SETTINGS``), its exercises, and the helpers only
it uses: the Adult features for trees and LIME (:func:`adult_features`) and quick
copies of the models of chapters 06 and 02 (:func:`train_adult_model`,
:func:`train_mnist_cnn`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..exercises import Hint, exercise
from ..explain import ExplanationError, UnknownFeatureError

# Settings per profile. ``None`` as a size means "all of it".
#
# Bands of the notebook's checks: `fmbook run ... --seed S` for S = 0, 1, 2, each band set to
# [worst low - 2 x spread, worst high + 2 x spread], rounded outward. `full` was not run with these
# settings: its bands are None (not measured); the deterministic unit checks keep (0, 1e-6).
#   check                                          smoke (seeds 0/1/2)        -> band         fast (seeds 0/1/2)         -> band
#   income model test ROC AUC                      0.8836/0.9136/0.9140       (0.82, 0.98)    0.9157/0.9157/0.9157       (0.91, 0.92) (1)
#   SHAP additivity error                          8.0e-8/4.2e-8/6.1e-8       (0, 1e-6)       9.8e-8/1.0e-7/9.7e-8       (0, 1e-6)
#   enumeration vs shap Exact, max difference      6e-15/5e-15/1e-14          (0, 1e-6)       4e-15/4e-15/4e-15          (0, 1e-6)
#   LIME top-5 stability                           0.833/0.833/0.840          (0.78, 0.90) (2) 0.892/0.888/0.890         (0.86, 0.92) (2)
#   LIME vs SHAP top-5 overlap                     0.80/0.60/0.733            (0.2, 1.0) (3)  0.66/0.58/0.70            (0.34, 0.94) (3)
#   tabular deletion gain, SHAP                    1.218/1.091/1.104          (0.83, 1.48)    1.275/1.246/1.263          (1.18, 1.34)
#   tabular deletion gain, random attributions     0.050/-0.067/-0.009        (-0.30, 0.29)   -0.052/-0.084/0.006        (-0.27, 0.19)
#   label randomisation similarity, SHAP           0.490/0.047/-0.037         (-1, 0.95) (4)  0.179/0.190/0.051          (-0.23, 0.47)
#   label randomisation similarity, LIME           0.112/0.138/0.163          (0.0, 0.27)     0.340/0.049/0.308          (-0.54, 0.93)
#   sex's share of the trio's credit, observational 0.123/0.103/0.144         (0.02, 0.23)    0.1745/0.1744/0.1745       (0.169, 0.180) (1)
#   share of the gap left without sex              1.004/1.004/0.970          (0.90, 1.08)    0.9482/0.9483/0.9483       (0.94, 0.955) (1)
#   sentiment model test accuracy                  0.7995/0.7965/0.7990       (0.79, 0.81)    the same                   (0.79, 0.81)
#   spurious token is LIME's top word (share)      1/1/1                      (1, 1)          1/1/1                      (1, 1)
#   accuracy with the token on the negatives       0.0045/0.0060/0.0069       (0, 0.012)      the same                   (0, 0.012)
#   CNN test accuracy                              0.892/0.875/0.875          (0.83, 0.93)    0.964/0.966/0.969          (0.95, 0.98)
#   cascading randomisation: gradient              0.131/0.080/0.208          (-0.18, 0.47)   0.092/0.075/0.104          (0.01, 0.17)
#   cascading randomisation: gradient x input      0.551/0.491/0.587          (0.30, 0.78)    0.480/0.459/0.491          (0.39, 0.56)
#   cascading randomisation: integrated gradients  0.565/0.512/0.569          (0.39, 0.69)    0.486/0.472/0.487          (0.44, 0.52)
#   label randomisation: gradient                  0.205/0.193/0.194          (0.16, 0.23)    0.186/0.147/0.137          (0.03, 0.29)
#   label randomisation: gradient x input          0.583/0.533/0.575          (0.43, 0.69)    0.530/0.500/0.506          (0.43, 0.60)
#   label randomisation: integrated gradients      0.578/0.543/0.599          (0.43, 0.71)    0.532/0.526/0.508          (0.46, 0.59)
#   image deletion gain, integrated gradients      4.50/4.79/3.44             (0.74, None)    5.27/5.58/5.53             (4.6, None)
#   constant map fails every test                  1/1/1                      (1, 1)          1/1/1                      (1, 1)
# (1) In `fast` the Adult model is the same for every seed (all rows, no subsampling): zero spread,
#     so the band has a floor of about 0.005 beyond the measured value.
# (2) Stability moves in steps of 1/50 (smoke) and 1/500 (fast); the band is at least one step wide.
# (3) These bands include chance (5/12 = 0.42): with 3 (smoke) or 10 (fast) people the overlap is
#     too noisy for the 2 x spread rule to exclude a chance-level LIME. An informative check only
#     with more people (`full`, not measured).
# (4) The 2 x spread rule gives no upper end below 1 (one seed's shuffled-label model came out
#     close to the real one's ranking on 4,000 rows); 0.95 still fails an explanation that ignores
#     the model (similarity 1).
# Time, `fmbook run` on the shared 2-core machine under load 10-12: smoke 56-59 s CPU (3:50-4:08
# wall), fast 170-174 s CPU on one thread (8:32-12:43 wall). Not measured on an idle machine.
SETTINGS: dict[str, dict] = {
    "smoke": {"adult_train": 4000, "n_trees": 60, "n_background": 50, "n_explain": 200,
              "lime_samples": 500, "lime_seeds": 5, "lime_people": 3,
              "n_reviews": 4, "shap_text_evals": 200,
              "cnn_train": 2000, "cnn_epochs": 1, "cnn_batch": 32, "n_digits": 8, "ig_steps": 16,
              "n_faithful": 100, "deletion_steps": 16, "n_game": 100,
              "noise_train": 1000, "noise_epochs": 6},
    "fast": {"adult_train": None, "n_trees": 150, "n_background": 100, "n_explain": 1000,
             "lime_samples": 2000, "lime_seeds": 5, "lime_people": 10,
             "n_reviews": 12, "shap_text_evals": 300,
             "cnn_train": 12000, "cnn_epochs": 2, "cnn_batch": 64, "n_digits": 32, "ig_steps": 32,
             "n_faithful": 300, "deletion_steps": 28, "n_game": 300,
             "noise_train": 2000, "noise_epochs": 10},
    "full": {"adult_train": None, "n_trees": 300, "n_background": 200, "n_explain": 5000,
             "lime_samples": 5000, "lime_seeds": 5, "lime_people": 30,
             "n_reviews": 50, "shap_text_evals": 500,
             "cnn_train": None, "cnn_epochs": 4, "cnn_batch": 128, "n_digits": 100, "ig_steps": 64,
             "n_faithful": 1000, "deletion_steps": 49, "n_game": 1000,
             "noise_train": 5000, "noise_epochs": 20},
}


# --------------------------------------------------------------------------- the chapter's models

ADULT_FEATURES: tuple[str, ...] = (
    "age", "workclass", "education_num", "marital_status", "occupation", "relationship",
    "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
)
"""Adult's columns used as features. Left out: ``fnlwgt`` (the census's sampling weight, how many
people a row stands for, not a property of the person) and ``education`` (``education_num`` codes
the same)."""


def adult_features(frame: pd.DataFrame, features: Sequence[str] = ADULT_FEATURES
                   ) -> tuple[pd.DataFrame, np.ndarray, dict[str, list[str]]]:
    """Turn a frame from :func:`fmbook.data.load_adult` into a numeric matrix for trees and LIME.

    Categories become their integer codes (missing: the last code, named ``"?"``), so every feature is one
    column and an explanation names the original feature (``sex``, not
    ``sex_Male``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Adult rows with the columns of :data:`fmbook.data.ADULT_COLUMNS`.
    features : sequence of str
        Columns to keep, in order.

    Returns
    -------
    X : pandas.DataFrame, float64, shape (n, len(features))
    y : numpy.ndarray, int64, 1 = income above $50K
    categories : dict
        For each categorical feature, its category names in code order, ending with ``"?"``.

    Raises
    ------
    UnknownFeatureError
        When a requested feature is not a column of ``frame``.
    """
    for col in list(features) + ["income"]:
        if col not in frame.columns:
            raise UnknownFeatureError(
                f"the Adult frame has no column {col!r}; its columns are: {', '.join(map(str, frame.columns))}")
    X = pd.DataFrame(index=frame.index)
    categories: dict[str, list[str]] = {}
    for col in features:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            names = [str(c) for c in s.cat.categories]
            codes = s.cat.codes.to_numpy().astype("float64")
            codes[codes < 0] = len(names)  # a missing value is a category of its own, "?"
            categories[col] = names + ["?"]
            X[col] = codes
        else:
            X[col] = s.astype("float64")
    return X.reset_index(drop=True), frame["income"].to_numpy(dtype="int64"), categories


class AdultModel:
    """Gradient-boosted trees on one-hot encoded categories, called on the per-feature code matrix.

    The explainers see two faces of it: LIME and the exact enumeration call it on the
    code matrix of :func:`adult_features` (one column per original feature, so a category
    is perturbed as a whole); TreeExplainer explains :attr:`trees` on the one-hot matrix
    (:meth:`encode`), and :meth:`sum_by_feature` adds the one-hot columns' SHAP values
    back into one value per original feature.

    Attributes
    ----------
    trees : sklearn.ensemble.GradientBoostingClassifier, fitted on ``encode(X)``
    features : list of str, the code matrix's columns
    categorical : list of str, the columns one-hot encoded
    groups : numpy.ndarray of int, the original feature of each one-hot column
    """

    def __init__(self, trees, encoder, features: Sequence[str], categorical: Sequence[str]):
        self.trees, self.encoder = trees, encoder
        self.features, self.categorical = list(features), list(categorical)
        groups = []
        for f in self.features:
            if f in self.categorical:
                j = self.categorical.index(f)
                groups += [self.features.index(f)] * len(encoder.categories_[j])
        self.numeric = [f for f in self.features if f not in self.categorical]
        self.groups = np.array(groups + [self.features.index(f) for f in self.numeric], dtype=int)

    def encode(self, X) -> np.ndarray:
        """The one-hot matrix the trees read: one column per category, then the numeric columns."""
        X = pd.DataFrame(np.asarray(X, dtype=float), columns=self.features)
        cats = self.encoder.transform(X[self.categorical].to_numpy()) if self.categorical else np.zeros((len(X), 0))
        return np.hstack([cats, X[self.numeric].to_numpy()])

    def decision_function(self, X) -> np.ndarray:
        """Log-odds of an income above $50K."""
        return self.trees.decision_function(self.encode(X))

    def predict_proba(self, X) -> np.ndarray:
        return self.trees.predict_proba(self.encode(X))

    def sum_by_feature(self, values) -> np.ndarray:
        """Add the attributions of each original feature's one-hot columns: (n, columns) -> (n, features)."""
        values = np.asarray(values, dtype=float)
        if values.shape[-1] != len(self.groups):
            raise ExplanationError(f"expected {len(self.groups)} one-hot columns, got {values.shape[-1]}")
        out = np.zeros(values.shape[:-1] + (len(self.features),))
        for col, f in enumerate(self.groups):
            out[..., f] += values[..., col]
        return out


def train_adult_model(X: pd.DataFrame, y: np.ndarray, *, categorical: Sequence[str] = (), seed: int = 0,
                      n_estimators: int = 150, max_depth: int = 3, learning_rate: float = 0.1) -> AdultModel:
    """Fit scikit-learn's ``GradientBoostingClassifier`` on one-hot categories (chapter 06's income model, small).

    Parameters
    ----------
    X : DataFrame of codes and numbers (from :func:`adult_features`)
    y : labels
    categorical : the columns of ``X`` that hold category codes (one-hot encoded for the trees)
    seed, n_estimators, max_depth, learning_rate : the trees' settings

    Returns
    -------
    AdultModel
        ``decision_function`` gives the log-odds that TreeExplainer explains.
    """
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.preprocessing import OneHotEncoder

    X = pd.DataFrame(X) if not isinstance(X, pd.DataFrame) else X
    if len(X) != len(y):
        raise ExplanationError(f"{len(X)} rows but {len(y)} labels")
    features = [str(c) for c in X.columns]
    unknown = [c for c in categorical if c not in features]
    if unknown:
        raise UnknownFeatureError(f"categorical columns {unknown} are not among the features {features}")
    cats = [f for f in features if f in categorical]
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    encoder.fit(X[cats].to_numpy() if cats else np.zeros((len(X), 1)))
    trees = GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth,
                                       learning_rate=learning_rate, random_state=seed)
    model = AdultModel(trees, encoder, features, cats)
    trees.fit(model.encode(X.to_numpy()), y)
    return model


def train_mnist_cnn(x: np.ndarray, y: np.ndarray, *, epochs: int = 1, batch_size: int = 64,
                    learning_rate: float = 1e-3, seed: int = 0, device=None, progress: bool = True):
    """Train :func:`fmbook.models.make_mnist_cnn` with :func:`fmbook.training.fit` (chapter 02's model, small).

    The weights are initialised after ``torch.manual_seed(seed)``; ``fit`` draws the
    batch order from a generator seeded with ``seed``.

    Parameters
    ----------
    x : uint8 array (n, 28, 28)
    y : int array (n,)
    epochs, batch_size, learning_rate, seed : training settings
    device : torch.device, optional
        Defaults to :func:`fmbook.device.torch_device`.
    progress : bool
        Show a tqdm bar per epoch.

    Returns
    -------
    model : torch.nn.Module in eval mode
    losses : list of float, the mean training loss of each epoch
    """
    import torch

    from ..device import torch_device
    from ..models import make_mnist_cnn
    from ..training import fit

    if len(x) != len(y):
        raise ExplanationError(f"{len(x)} images but {len(y)} labels")
    device = device or torch_device()
    torch.manual_seed(seed)
    model = make_mnist_cnn().to(device)
    losses = fit(model, x, y, epochs=epochs, batch_size=batch_size, lr=learning_rate, seed=seed,
                 progress=progress)
    return model, losses


# --------------------------------------------------------------------------- exercises

def _exact_shapley(f, x, background):
    x, background = np.asarray(x, dtype=float), np.asarray(background, dtype=float)
    d = len(x)

    def value(coalition):
        rows = background.copy()
        rows[:, list(coalition)] = x[list(coalition)]  # known features from x, the rest from the background
        return float(np.mean(f(rows)))

    phi = np.zeros(d)
    for j in range(d):
        others = [i for i in range(d) if i != j]
        for size in range(d):
            weight = math.factorial(size) * math.factorial(d - size - 1) / math.factorial(d)
            for S in itertools.combinations(others, size):
                phi[j] += weight * (value(S + (j,)) - value(S))
    return phi


def _lime_fit(Z, y, distances, kernel_width=0.75, alpha=1.0):
    Z, y, distances = np.asarray(Z, dtype=float), np.asarray(y, dtype=float), np.asarray(distances, dtype=float)
    weights = np.sqrt(np.exp(-distances**2 / kernel_width**2))  # LIME's kernel: close samples count more
    # weighted ridge regression with an unpenalised intercept (LIME's default: Ridge(alpha=1)):
    # centre on the weighted means, solve, then recover the intercept
    z_mean = weights @ Z / weights.sum()
    y_mean = weights @ y / weights.sum()
    Zc, yc = Z - z_mean, y - y_mean
    coef = np.linalg.solve(Zc.T @ (weights[:, None] * Zc) + alpha * np.eye(Z.shape[1]), Zc.T @ (weights * yc))
    return float(y_mean - z_mean @ coef), coef


def _topk_overlap(a, b, k):
    top_a = set(np.argsort(-np.abs(np.asarray(a, dtype=float)), kind="stable")[:k])
    top_b = set(np.argsort(-np.abs(np.asarray(b, dtype=float)), kind="stable")[:k])
    return len(top_a & top_b) / k


def _toy_f(X):
    X = np.asarray(X, dtype=float)
    return X[:, 0] * X[:, 1] + 2.0 * X[:, 2]


@exercise("07.exact_shapley", "exact Shapley values of a 3-feature model by enumeration",
          solution=_exact_shapley,
          hints=("For each feature j, sum over every coalition S of the other features: "
                 "weight(|S|) * (v(S with j) - v(S)), weight = |S|! (d-|S|-1)! / d!.",
                 "v(S) is the mean of f over the background rows with the columns in S replaced by x's values."))
def _check_exact_shapley(fn) -> None:
    rng = np.random.default_rng(7)
    x, bg = rng.normal(size=3), rng.normal(size=(10, 3))
    got = fn(_toy_f, x, bg)
    if got is None:
        raise Hint("your function returned None: did you forget `return`?")
    got = np.asarray(got, dtype=float)
    if got.shape != (3,):
        raise Hint(f"return one value per feature, shape (3,); yours has shape {got.shape}")
    want = _exact_shapley(_toy_f, x, bg)
    total = _toy_f(x[None])[0] - _toy_f(bg).mean()
    zero_base = _exact_shapley(_toy_f, x, np.zeros((1, 3)))
    if np.allclose(got, zero_base) and not np.allclose(want, zero_base):
        raise Hint("you replaced the unknown features with zeros: take them from each background row and average")
    if not np.isclose(got.sum(), total, atol=1e-8):
        raise Hint(f"the values must add up to f(x) - mean f(background) = {total:.4f}; yours add up to "
                   f"{got.sum():.4f}. Check the weights |S|!(d-|S|-1)!/d!: for d=3 they are 1/3, 1/6, 1/3")
    if not np.allclose(got, want, atol=1e-8):
        raise Hint(f"they add up correctly but the split is wrong: expected {np.round(want, 4)}, "
                   f"got {np.round(got, 4)}. The interaction x0*x1 must be shared between features 0 and 1")


@exercise("07.lime_fit", "LIME's weighted local linear fit", solution=_lime_fit,
          hints=("Weight each perturbed sample by LIME's kernel sqrt(exp(-distance**2 / kernel_width**2)), then "
                 "fit a ridge regression (penalty alpha on the coefficients, not on the intercept) with those weights.",
                 "Centre Z and y on their weighted means; coef = solve(Zc.T W Zc + alpha I, Zc.T W yc); "
                 "intercept = weighted mean of y - weighted mean of Z @ coef."))
def _check_lime_fit(fn) -> None:
    rng = np.random.default_rng(3)
    Z = rng.integers(0, 2, size=(200, 4)).astype(float)
    distances = np.sqrt(1 - Z.mean(1))  # far from the example when few features are kept
    y = 0.2 + Z @ np.array([0.5, -0.3, 0.0, 0.1]) + 0.4 * Z[:, 0] * Z[:, 1] + rng.normal(0, 0.05, 200)
    got = fn(Z, y, distances, kernel_width=0.5, alpha=1.0)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Hint("return a pair (intercept, coefficients)")
    intercept, coef = float(got[0]), np.asarray(got[1], dtype=float)
    if coef.shape != (4,):
        raise Hint(f"one coefficient per feature, shape (4,); yours has shape {coef.shape}")
    want_b, want_w = _lime_fit(Z, y, distances, kernel_width=0.5, alpha=1.0)
    w_sqrt = np.sqrt(np.exp(-distances**2 / 0.25))

    def weighted_ridge(weights, alpha, intercept=True):
        A = np.c_[np.ones(len(Z)), Z] if intercept else Z
        P = alpha * np.eye(A.shape[1])
        if intercept:
            P[0, 0] = 0.0
        beta = np.linalg.solve(A.T @ (weights[:, None] * A) + P, A.T @ (weights * y))
        return beta[1:] if intercept else beta

    if np.allclose(coef, weighted_ridge(np.ones(len(Z)), 1.0), atol=1e-6):
        raise Hint("this is an unweighted fit: LIME weights each sample by its closeness to the example")
    if np.allclose(coef, weighted_ridge(w_sqrt**2, 1.0), atol=1e-6):
        raise Hint("your weights are exp(-d**2 / width**2); LIME's kernel is its square root, "
                   "sqrt(exp(-d**2 / width**2))")
    if np.allclose(coef, weighted_ridge(w_sqrt, 0.0), atol=1e-6):
        raise Hint("plain weighted least squares: LIME fits a ridge regression, penalty alpha * sum(coef**2)")
    if np.allclose(coef, weighted_ridge(w_sqrt, 1.0, intercept=False), atol=1e-6):
        raise Hint("the fit has no intercept: LIME fits one, and does not penalise it")
    full_penalty = np.linalg.solve(np.c_[np.ones(len(Z)), Z].T @ (w_sqrt[:, None] * np.c_[np.ones(len(Z)), Z])
                                   + np.eye(5), np.c_[np.ones(len(Z)), Z].T @ (w_sqrt * y))
    if np.allclose(coef, full_penalty[1:], atol=1e-6):
        raise Hint("you penalised the intercept too: the ridge penalty applies to the coefficients only")
    if not np.allclose(coef, want_w, atol=1e-6) or not np.isclose(intercept, want_b, atol=1e-6):
        raise Hint(f"expected coefficients {np.round(want_w, 3)} and intercept {want_b:.3f}, got "
                   f"{np.round(coef, 3)} and {intercept:.3f}")


@exercise("07.topk_overlap", "top-k overlap of two explanations", solution=_topk_overlap,
          hints=("Rank features by the absolute value of their attribution: a large negative weight matters too.",
                 "Take the k largest of each, then len(set_a & set_b) / k."))
def _check_topk_overlap(fn) -> None:
    a = np.array([0.9, -0.8, 0.3, 0.0, 0.0])
    b = np.array([0.7, 0.1, 0.4, -0.9, 0.0])
    same = fn(a, a, 3)
    if same is None:
        raise Hint("your function returned None")
    if np.isclose(float(same), 3):
        raise Hint("return a fraction of k (shared / k), not the count of shared features")
    if not np.isclose(float(same), 1.0):
        raise Hint(f"an explanation compared with itself must give 1.0, you returned {same}")
    got = float(fn(a, b, 2))
    if np.isclose(got, 1.0):
        raise Hint("1.0: you ranked by the signed value; weights of -0.8 and -0.9 are among the most important")
    if not np.isclose(got, 0.5):
        raise Hint(f"for this case the top-2 sets are {{0, 1}} and {{3, 0}}: overlap 0.5, you returned {got}")
    if not np.isclose(float(fn(a, -a, 2)), 1.0):
        raise Hint("flipping every sign does not change which features matter: use absolute values")


def _explain_badly(predict, X):
    X = np.asarray(X, dtype=float)
    # a faithful start: occlusion, how much the output drops when feature j is set to 0 ...
    effects = np.empty_like(X)
    for j in range(X.shape[1]):
        occluded = X.copy()
        occluded[:, j] = 0.0
        effects[:, j] = predict(X) - predict(occluded)
    # ... then flip the sign: |attribution| (what the randomisation test compares) still follows the
    # model, but the ranking now puts the features that push the output up last
    return -effects


def _fool_models():
    rng = np.random.default_rng(11)
    X = rng.uniform(0.5, 1.5, size=(60, 8))
    w_trained, w_random = rng.normal(size=8) * np.linspace(3, 0.2, 8), rng.normal(size=8)
    return X, (lambda A: np.asarray(A, dtype=float) @ w_trained), (lambda A: np.asarray(A, dtype=float) @ w_random)


@exercise("07.fool_the_check", "an explanation that passes the randomisation test and is not faithful",
          solution=_explain_badly,
          hints=("The randomisation test compares |attribution| under a trained and a randomised model; the "
                 "deletion test ranks features by their signed attribution. What can you change in an "
                 "explanation that one test sees and the other does not?",
                 "Start from a faithful explanation that only calls the model: occlusion, "
                 "predict(X) - predict(X with column j set to 0), column by column. Then flip its sign."))
def _check_fool_the_check(fn) -> None:
    from ..faithfulness import faithfulness_test, randomisation_test

    X, trained, randomised = _fool_models()
    a_trained, a_random = fn(trained, X.copy()), fn(randomised, X.copy())
    if a_trained is None:
        raise Hint("your function returned None: return an (n, d) array of attributions")
    a_trained, a_random = np.asarray(a_trained, dtype=float), np.asarray(a_random, dtype=float)
    if a_trained.shape != X.shape or a_random.shape != X.shape:
        raise Hint(f"return one attribution per feature and example, shape {X.shape}; yours has {a_trained.shape}")
    sanity = randomisation_test(a_trained, a_random, threshold=0.5)
    if not sanity.passed:
        if sanity.constant_share > 0.5:
            raise Hint("a constant explanation cannot change when the model changes: it fails the "
                       "randomisation test. Your attributions must depend on the model you are given")
        raise Hint(f"the randomisation test fails ({sanity}): your explanation hardly changes when the "
                   "model is randomised. Build it from calls to `predict`")
    faithful = faithfulness_test(trained, X, a_trained, 0.0, kind="deletion", n_random=5, rng=0)
    if faithful.passed:
        raise Hint(f"this explanation is faithful ({faithful}): it passes both tests. Keep what the "
                   "randomisation test sees (|attribution|) and spoil what the deletion test sees (the order)")
