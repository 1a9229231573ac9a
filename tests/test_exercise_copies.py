"""Where an exercise's worked solution and a package or library function compute the same
thing, they agree on random inputs.

The notebooks teach the hand-written version and use the tested one from fmbook (or from
the library the chapter is about): if either changes, this table says so. Each row is
``(exercise id, reference, inputs)``: ``inputs(rng)`` draws the arguments of the solution,
``reference(*args)`` computes the same result another way.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest
import torch

from fmbook import bert, explain, fairness, robust, vision
from fmbook.exercises import get
from fmbook.models import accuracy as model_accuracy

SEEDS = (0, 1, 2, 3, 4)


class Copy(NamedTuple):
    exercise: str
    reference: object  # callable: the same result, computed another way
    inputs: object  # callable: numpy Generator -> tuple of the solution's arguments
    what: str


# --------------------------------------------------------------------------- input generators


def _labels_and_predictions(rng, n=200):
    return rng.integers(0, 2, n), rng.integers(0, 2, n)


def _groups(rng, n=200):
    return rng.choice(np.array(["a", "b", "c"]), n, p=[0.5, 0.3, 0.2])


def _schedule_point(rng):
    """(step, warmup_steps, total_steps), the step sometimes past the end."""
    total = int(rng.integers(5, 500))
    return int(rng.integers(0, total + 20)), int(rng.integers(0, total)), total


def _torch_seed(rng) -> int:
    return int(rng.integers(0, 2**31))


def _linear_mnist_model(rng):
    """A random linear model on 28x28 digits behind dropout (so eval mode matters)."""
    torch.manual_seed(_torch_seed(rng))
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(784, 10))


def _images(rng, n):
    return torch.from_numpy(rng.random((n, 1, 28, 28), dtype=np.float32))


# --------------------------------------------------------------------------- references


def _bce_gradient_by_autograd(w, b, X, y):
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.from_numpy(X) @ wt + bt, torch.from_numpy(y))
    loss.backward()
    return wt.grad.numpy(), float(bt.grad)


def _rates_by_sklearn(probs, y, thresholds):
    from sklearn.metrics import confusion_matrix

    out = []
    for t in thresholds:
        tn, fp, fn, tp = confusion_matrix(y, (probs >= t).astype(int), labels=[0, 1]).ravel()
        out.append((tp / (tp + fn), fp / (fp + tn)))
    return np.array(out)


def _conv_by_torch(height, width, channels, filters, kernel, stride=1):
    conv = torch.nn.Conv2d(channels, filters, kernel, stride=stride)
    out = conv(torch.zeros(1, channels, height, width))
    return (out.shape[2], out.shape[3], out.shape[1]), sum(p.numel() for p in conv.parameters())


def _pad_by_keras(sequences, max_len):
    from keras.utils import pad_sequences

    padded = pad_sequences(sequences, maxlen=max_len, padding="post", truncating="post", value=0)
    return padded, padded != 0


def _lstm_params_by_keras(input_dim, units):
    import keras

    layer = keras.layers.LSTM(units)
    layer.build((None, None, input_dim))
    return layer.count_params()


def _collate(seqs, pad_id=0):
    batch = bert.collate(seqs, pad_id=pad_id)
    return batch["input_ids"].numpy(), batch["attention_mask"].numpy()


def _cls_logits_by_torch(hidden, W, b):
    head = torch.nn.functional.linear(torch.from_numpy(hidden[:, 0, :]), torch.from_numpy(W), torch.from_numpy(b))
    return head.numpy()


def _targeted_fgsm_by_robust(model, x, target, eps):
    """Targeted FGSM from fmbook's input gradient and projection: one step down the target's loss."""
    was_training = model.training
    model.eval()
    _, grad = robust.input_gradient(model, x, target)
    model.train(was_training)
    return robust.project_linf(x - eps * grad.sign(), x, eps)


def _dp_difference_by_group_rates(y_pred, groups):
    rates = fairness.group_rates(np.zeros_like(y_pred), y_pred, groups)["selection_rate"]
    return float(rates.max() - rates.min())


def _fpr_by_group_rates(y_true, y_pred, groups, group):
    return float(fairness.group_rates(y_true, y_pred, groups).loc[group, "fpr"])


def _lime_fit_by_sklearn(Z, y, distances, kernel_width=0.75, alpha=1.0):
    from sklearn.linear_model import Ridge

    # what lime's LimeBase does: kernel sqrt(exp(-d**2 / width**2)), then Ridge(alpha=1) with sample weights
    fit = Ridge(alpha=alpha).fit(Z, y, sample_weight=np.sqrt(np.exp(-distances**2 / kernel_width**2)))
    return fit.intercept_, fit.coef_


def _shapley_model(X):
    X = np.asarray(X, dtype=float)
    return np.tanh(X[:, 0]) * X[:, 1] + X[:, 2] ** 2 - 0.5 * X[:, 3] * X[:, 0]


def _test_size_by_search(accuracy, margin):
    """The smallest n whose two standard errors of the accuracy are within the margin, by counting up."""
    n = 1
    while 2 * np.sqrt(accuracy * (1 - accuracy) / n) > margin:
        n += 1
    return n


def _accuracy_by_sklearn(y_true, y_pred):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y_true, y_pred)


def _thresholded_accuracy_by_sklearn(y_true, probs, threshold):
    from sklearn.metrics import accuracy_score

    return accuracy_score(y_true, (probs >= threshold).astype(int))


COPIES = [
    Copy("00.accuracy", _accuracy_by_sklearn,
         lambda rng: (rng.integers(0, 10, 100), rng.integers(0, 10, 100)), "sklearn.metrics.accuracy_score"),
    Copy("00.test_size", _test_size_by_search,
         lambda rng: (float(rng.uniform(0.5, 0.999)), float(rng.uniform(0.005, 0.1))), "a search counting up n"),
    Copy("01.gradient", _bce_gradient_by_autograd,
         lambda rng: (rng.normal(size=4), float(rng.normal()), rng.normal(size=(50, 4)),
                      rng.integers(0, 2, 50).astype(float)), "torch autograd of the mean BCE"),
    Copy("01.threshold_sweep", _rates_by_sklearn,
         lambda rng: (rng.random(80), rng.integers(0, 2, 80), np.sort(rng.random(7))), "sklearn confusion_matrix"),
    Copy("01.accuracy", _thresholded_accuracy_by_sklearn,
         lambda rng: (rng.integers(0, 2, 100), rng.random(100), float(rng.random())), "sklearn.metrics.accuracy_score"),
    Copy("02.conv_layer", _conv_by_torch,
         lambda rng: tuple(int(v) for v in (rng.integers(8, 30), rng.integers(8, 30), rng.integers(1, 5),
                                            rng.integers(1, 9), rng.integers(1, 6), rng.integers(1, 4))),
         "torch.nn.Conv2d"),
    Copy("02.evaluate", lambda model, images, labels, batch_size: model_accuracy(model, images, labels),
         lambda rng: (_linear_mnist_model(rng).train(), _images(rng, 300),
                      torch.from_numpy(rng.integers(0, 10, 300)), int(rng.integers(7, 100))),
         "fmbook.models.accuracy"),
    Copy("02.most_confident_mistakes", vision.confidently_wrong,
         lambda rng: (rng.dirichlet(np.ones(10), 60), rng.integers(0, 10, 60), int(rng.integers(1, 70))),
         "fmbook.vision.confidently_wrong"),
    Copy("03.pad_and_mask", _pad_by_keras,
         lambda rng: ([list(rng.integers(1, 50, rng.integers(1, 12))) for _ in range(6)], int(rng.integers(3, 10))),
         "keras.utils.pad_sequences, padding and truncating at the end"),
    Copy("03.lstm_params", _lstm_params_by_keras,
         lambda rng: (int(rng.integers(1, 40)), int(rng.integers(1, 40))), "keras.layers.LSTM.count_params"),
    Copy("04.pad_batch", _collate,
         lambda rng: ([list(rng.integers(1, 30000, rng.integers(1, 20))) for _ in range(5)], int(rng.integers(0, 5))),
         "fmbook.bert.collate"),
    Copy("04.warmup", bert.warmup_linear, _schedule_point, "fmbook.bert.warmup_linear"),
    Copy("04.cls_logits", _cls_logits_by_torch,
         lambda rng: (rng.normal(size=(4, 7, 6)), rng.normal(size=(3, 6)), rng.normal(size=3)),
         "torch.nn.functional.linear on position 0"),
    Copy("05.targeted_fgsm", _targeted_fgsm_by_robust,
         lambda rng: (_linear_mnist_model(rng).train(), _images(rng, 16), torch.from_numpy(rng.integers(0, 10, 16)),
                      float(rng.uniform(0.01, 0.3))),
         "fmbook.robust.input_gradient and project_linf"),
    Copy("05.dlr_loss", robust.dlr_loss,
         lambda rng: (torch.from_numpy(rng.normal(size=(20, 10)) * 3), torch.from_numpy(rng.integers(0, 10, 20))),
         "fmbook.robust.dlr_loss"),
    Copy("06.dp_difference", _dp_difference_by_group_rates,
         lambda rng: (rng.integers(0, 2, 200), _groups(rng)), "fmbook.fairness.group_rates"),
    Copy("06.false_positive_rate", _fpr_by_group_rates,
         lambda rng: (*_labels_and_predictions(rng), _groups(rng), str(rng.choice(["a", "b", "c"]))),
         "fmbook.fairness.group_rates"),
    Copy("07.exact_shapley", explain.exact_shapley,
         lambda rng: (_shapley_model, rng.normal(size=4), rng.normal(size=(9, 4))), "fmbook.explain.exact_shapley"),
    Copy("07.lime_fit", _lime_fit_by_sklearn,
         lambda rng: (rng.integers(0, 2, (120, 5)).astype(float), rng.normal(size=120), rng.random(120),
                      float(rng.uniform(0.3, 1.5)), float(rng.uniform(0.1, 3.0))),
         "sklearn Ridge with LIME's kernel weights"),
    Copy("07.topk_overlap", explain.topk_overlap,
         lambda rng: (rng.normal(size=12), rng.normal(size=12), int(rng.integers(1, 12))), "fmbook.explain.topk_overlap"),
]


def _as_comparable(value):
    if isinstance(value, torch.Tensor):
        return value.detach().double().numpy()
    if isinstance(value, tuple):
        return tuple(_as_comparable(v) for v in value)
    return np.asarray(value, dtype=float)


def _assert_same(got, want, what: str) -> None:
    got, want = _as_comparable(got), _as_comparable(want)
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), what
        for g, w in zip(got, want):
            _assert_same(g, w, what)
        return
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"the solution disagrees with {what}")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("copy", COPIES, ids=[c.exercise for c in COPIES])
def test_worked_solution_agrees_with_the_package(copy, seed):
    args = copy.inputs(np.random.default_rng(seed))
    want = copy.reference(*args)
    got = get(copy.exercise).solution(*args)
    _assert_same(got, want, copy.what)


@pytest.mark.parametrize("seed", SEEDS)
def test_fpr_from_calibration_is_the_fpr_that_group_rates_measures(seed):
    # Chouldechova's identity holds for any confusion matrix: the FPR computed from the base
    # rate, PPV and FNR of random predictions is the FPR counted on them
    rng = np.random.default_rng(seed)
    y_true, y_pred = _labels_and_predictions(rng, 300)
    row = fairness.group_rates(y_true, y_pred, np.zeros(300, dtype=int)).iloc[0]
    got = get("06.fpr_from_calibration").solution(float(y_true.mean()), float(row.ppv), float(row.fnr))
    _assert_same(got, row.fpr, "the FPR of fmbook.fairness.group_rates")


def test_every_row_names_a_registered_exercise_once():
    ids = [c.exercise for c in COPIES]
    assert len(ids) == len(set(ids))
    for exercise_id in ids:
        get(exercise_id)
