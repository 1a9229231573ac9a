"""Chapter 02: a CNN on MNIST.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import functools

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
# n_train: images drawn from the 60,000 (10% of them held out for validation); epochs: every
# convnet of the improvement ladder; curve_points: validation points per epoch on the learning
# curves; n_shift: test digits per shift level; mlp_*: the multi-layer perceptron written out;
# es_*: the over-fitting setting on which early stopping is shown (a small training subset,
# patience in epochs).
#
# Bands: only `fast` seed 0 was run (seeds 1 and 2 not yet: the bands are provisional, not set
# from a 3-seed spread). fast seed 0: MLP test 0.974 (band 0.955..1); best convnet test 0.988
# ('+ LR schedule', band 0.985..1); validation errors removed by the best step 34.9 per 100
# (band 5..100); PyTorch baseline test 0.982 (band 0.975..1); shifted: rotated 45 deg 0.545
# (band 0.40..0.90), translated 2 px 0.801 (band 0.50..0.99), inverted 0.328 (band 0..0.5);
# backprop hand vs autograd 2.8e-17 (band 0..1e-6); early stopping fired at epoch 9 of 40.
# fast seed 0 time: 36 min wall, 625 s CPU (user+sys) with one thread, heavily contended.
# Since that run the train/validation split shuffles only the first 58,000 training digits (the
# last 2,000 are exercise 02.small_net's unseen digits), so the seed-0 values above come from a
# split that differs by 2,000 digits: they still need re-measuring, with seeds 1 and 2.
# smoke seed 0 (an earlier version): 330 s wall contended, 85 s CPU; removed 42 per 100.
SETTINGS: dict[str, dict] = {
    "smoke": {"n_train": 2400, "n_test": 1000, "epochs": 2, "batch_size": 64, "curve_points": 4,
              "n_shift": 200, "torch_epochs": 2, "mlp_hidden": 128, "mlp_epochs": 3,
              "es_n_train": 300, "es_max_epochs": 40, "es_patience": 4},
    "fast": {"n_train": None, "n_test": None, "epochs": 2, "batch_size": 128, "curve_points": 6,
             "n_shift": 1000, "torch_epochs": 2, "mlp_hidden": 128, "mlp_epochs": 4,
             "es_n_train": 500, "es_max_epochs": 40, "es_patience": 4},
    "full": {"n_train": None, "n_test": None, "epochs": 8, "batch_size": 128, "curve_points": 4,
             "n_shift": None, "torch_epochs": 8, "mlp_hidden": 128, "mlp_epochs": 10,
             "es_n_train": 500, "es_max_epochs": 60, "es_patience": 5},
}


def _conv_layer(height: int, width: int, channels: int, filters: int, kernel: int,
                stride: int = 1) -> tuple[tuple[int, int, int], int]:
    out_h = (height - kernel) // stride + 1
    out_w = (width - kernel) // stride + 1
    n_params = (kernel * kernel * channels + 1) * filters
    return (out_h, out_w, filters), n_params


@exercise("02.conv_layer", "output shape and parameter count of a convolution", solution=_conv_layer,
          hints=("Without padding a k x k kernel fits (H - k) // stride + 1 times along the height.",
                 "Each filter has k * k * channels weights plus one bias."))
def _check_conv_layer(fn) -> None:
    got = fn(13, 13, 32, 64, 3)
    if not isinstance(got, tuple) or len(got) != 2:
        raise Hint("return a pair: (out_height, out_width, filters), n_parameters")
    shape, n = got
    shape = tuple(int(v) for v in shape)
    if len(shape) != 3:
        raise Hint(f"the shape has three entries (height, width, filters); yours is {shape}")
    if shape[:2] == (13, 13):
        raise Hint("a 3x3 kernel without padding cannot be centred on the border pixels: "
                   "the output is smaller than the input")
    if shape[:2] == (10, 10):
        raise Hint("off by one: the kernel fits (13 - 3) + 1 = 11 times")
    if shape != (11, 11, 64):
        raise Hint(f"(13, 13, 32) with 64 3x3 filters gives (11, 11, 64); you have {shape}")
    if int(n) == 3 * 3 * 32 * 64:
        raise Hint("you forgot the biases: one per filter")
    if int(n) == (3 * 3 + 1) * 64:
        raise Hint("each kernel spans all input channels: k * k * channels weights per filter")
    if int(n) != 18_496:
        raise Hint(f"expected 18,496 parameters for the baseline convnet's second layer, got {n}")
    if tuple(int(v) for v in fn(28, 28, 1, 32, 3)[0]) != (26, 26, 32) or int(fn(28, 28, 1, 32, 3)[1]) != 320:
        raise Hint("the first layer, (28, 28, 1) with 32 3x3 filters, should give ((26, 26, 32), 320)")
    shape2 = tuple(int(v) for v in fn(28, 28, 1, 8, 4, stride=2)[0])
    if shape2 != (13, 13, 8):
        raise Hint(f"with stride 2, a 4x4 kernel on 28x28 fits (28 - 4) // 2 + 1 = 13 times; "
                   f"you have {shape2[:2]}")


def _evaluate_accuracy(model, images, labels, batch_size: int = 256) -> float:
    import torch

    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            logits = model(images[i:i + batch_size])
            correct += (logits.argmax(1) == labels[i:i + batch_size]).sum().item()
    return correct / len(images)


@exercise("02.evaluate", "the PyTorch evaluation loop", solution=_evaluate_accuracy,
          hints=("Call model.eval(), then loop over slices images[i:i + batch_size] inside "
                 "`with torch.no_grad():`.",
                 "Count logits.argmax(1) == labels per batch, add them up, divide by len(images) "
                 "at the end (not by the number of batches)."))
def _check_evaluate(fn) -> None:
    import torch
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10), nn.Dropout(0.9))
    images = torch.rand(250, 1, 28, 28)
    with torch.no_grad():
        model.eval()
        labels = model(images).argmax(1)
    labels[:50] = (labels[:50] + 1) % 10  # 200 of 250 right: accuracy 0.8
    model.train()
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    got = fn(model, images, labels, batch_size=64)
    if got is None:
        raise Hint("your function returned None: return the accuracy")
    if max(calls, default=0) > 64:
        raise Hint(f"work in batches of batch_size: the model saw {max(calls)} images at once")
    if not np.isclose(float(got), 0.8, atol=1e-6):
        if model.training:
            raise Hint(f"got {float(got):.3f} instead of 0.800: the model is still in training mode, "
                       "so dropout is on; call model.eval() first")
        if np.isclose(float(got), 200 / 64 / 4, atol=0.05) or float(got) > 1:
            raise Hint("divide the number correct by the number of images, not of batches")
        raise Hint(f"expected accuracy 0.800 on this small case, got {float(got):.3f}")
    if isinstance(got, torch.Tensor):
        raise Hint("return a Python float (use .item()), not a tensor")
    out = torch.zeros(3, 1, 28, 28, requires_grad=True)
    grads = []

    class Probe(nn.Module):
        def forward(self, x):
            grads.append(torch.is_grad_enabled())
            return model(x)

    fn(Probe(), out, torch.zeros(3, dtype=torch.long), batch_size=64)
    if any(grads):
        raise Hint("right answer, but gradients were recorded: wrap the loop in `with torch.no_grad():`")


def _most_confident_mistakes(probs, labels, k: int = 5):
    probs, labels = np.asarray(probs), np.asarray(labels)
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != labels)
    order = np.argsort(-probs[wrong, pred[wrong]], kind="stable")
    return wrong[order][:k]


@exercise("02.most_confident_mistakes", "the most confidently wrong predictions",
          solution=_most_confident_mistakes,
          hints=("First the wrong ones: np.flatnonzero(probs.argmax(1) != labels).",
                 "Their confidence is the probability of the predicted class; sort it in "
                 "decreasing order with np.argsort(-confidence) and keep k."))
def _check_mistakes(fn) -> None:
    probs = np.array([
        [0.9, 0.1, 0.0],   # 0 predicted 0, label 0: right
        [0.2, 0.7, 0.1],   # 1 predicted 1, label 0: wrong, 0.7
        [0.05, 0.05, 0.9],  # 2 predicted 2, label 1: wrong, 0.9
        [0.4, 0.35, 0.25],  # 3 predicted 0, label 2: wrong, 0.4
        [0.1, 0.8, 0.1],   # 4 predicted 1, label 1: right
        [0.01, 0.98, 0.01],  # 5 predicted 1, label 1: right, very confident
    ])
    labels = np.array([0, 0, 1, 2, 1, 1])
    got = fn(probs, labels, k=2)
    if got is None:
        raise Hint("your function returned None: return the indices")
    got = [int(v) for v in np.asarray(got).reshape(-1)]
    if 5 in got:
        raise Hint("index 5 is a right prediction: keep only the wrong ones first")
    if got == [3, 1]:
        raise Hint("that is the least confident first: sort in decreasing order")
    if got != [2, 1]:
        raise Hint(f"expected indices [2, 1] (wrong with 0.9, then 0.7), got {got}")
    allw = [int(v) for v in np.asarray(fn(probs, labels, k=10)).reshape(-1)]
    if allw != [2, 1, 3]:
        raise Hint(f"with k larger than the number of mistakes return all of them, most confident "
                   f"first: [2, 1, 3]; got {allw}")


SMALL_NET_BUDGET = 20_000
"""At most this many parameters for exercise 02.small_net (the baseline convnet has 121,930)."""
SMALL_NET_TARGET = 0.85
"""Accuracy the checker asks of the trained network on its held-out digits.

Measured (one epoch on the checker's 3,000 training digits, batches of 32, Adam 3e-3, 1 CPU
thread, torch seeds 0 / 1): the solution's convnet (14,410 parameters) 0.913 / 0.908 in about
2 s; a dense 784-24-10 network 0.89; an untrained network about 0.1."""
SMALL_NET_HELD_OUT = 2_000
"""The last this many of MNIST's 60,000 training digits: the whole chapter leaves them out (its
training/validation split permutes the first 58,000 only) and 02.small_net scores on them."""
SMALL_NET_N_TRAIN = 3_000
"""Training digits the checker hands to the learner's function, from the chapter's 58,000."""


def _small_net(images, labels):
    import torch
    from torch import nn

    # 80 + 1,168 + 12,832 + 330 = 14,410 parameters: convolutions share their weights across
    # positions, and two poolings shrink the map to 5 x 5 x 16 = 400 before the only dense layer.
    net = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 32), nn.ReLU(), nn.Linear(32, 10),
    )
    # Count before training: sum(p.numel() for p in net.parameters()) <= 20,000.
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()  # takes logits: no softmax at the end of the network
    net.train()
    for batch in torch.randperm(len(images)).split(32):  # one epoch: a couple of seconds on a CPU
        optimizer.zero_grad()
        loss_fn(net(images[batch]), labels[batch]).backward()
        optimizer.step()
    return net


@functools.lru_cache(maxsize=1)
def _small_net_data():
    """(training images, training labels, held-out images, held-out labels) of 02.small_net.

    Training: ``SMALL_NET_N_TRAIN`` digits drawn (fixed seed) from the chapter's first 58,000
    training digits, as a float tensor (N, 1, 28, 28) in [0, 1] and int64 labels. Held out: the
    last ``SMALL_NET_HELD_OUT`` training digits, uint8, which no cell of the notebook uses or
    shows (and not the test digits the chapter reports on). Loaded once per process: the check
    itself then takes well under a second besides the learner's own training.
    """
    import torch

    from ..data import load_mnist
    from ..models import to_image_tensor

    (x_train, y_train), _ = load_mnist()
    n_pool = len(x_train) - SMALL_NET_HELD_OUT
    idx = np.sort(np.random.default_rng(2).choice(n_pool, SMALL_NET_N_TRAIN, replace=False))
    images = to_image_tensor(x_train[idx])
    labels = torch.as_tensor(y_train[idx].astype(np.int64))
    return images, labels, x_train[n_pool:], y_train[n_pool:]


@exercise("02.small_net", "a network under 20,000 parameters, trained to 85% on unseen digits",
          solution=_small_net,
          hints=("Count before you train: sum(p.numel() for p in net.parameters()). In a dense layer "
                 "the weights are in_features x out_features, so the layer after Flatten is where "
                 "the parameters go: pool (or stride) until the map is small before flattening.",
                 "Two 3x3 convolutions with 8 and 16 filters, each followed by ReLU and 2x2 "
                 "max-pooling, then Flatten, Linear(400, 32), ReLU, Linear(32, 10) fits the budget. "
                 "Train it as in the PyTorch part: Adam (learning rate 3e-3), CrossEntropyLoss, "
                 "one pass over the digits in batches of 32.",
                 "Return the trained network and logits (no softmax at the end): CrossEntropyLoss "
                 "applies the softmax itself."))
def _check_small_net(fn) -> None:
    import torch
    from torch import nn

    from ..models import accuracy, count_parameters

    images, labels, x_held, y_held = _small_net_data()
    torch.manual_seed(0)
    model = fn(images.clone(), labels.clone())
    if model is None:
        raise Hint("your function returned None: return the trained torch.nn.Module")
    if not isinstance(model, nn.Module):
        raise Hint(f"return the trained torch.nn.Module, not a {type(model).__name__}")
    n = count_parameters(model)
    if n > SMALL_NET_BUDGET:
        raise Hint(f"{n:,} parameters: over the budget of {SMALL_NET_BUDGET:,}. Most of them sit in the "
                   "first dense layer (in_features x out_features): pool more or use fewer filters "
                   "before Flatten, or a smaller hidden layer")
    model.eval()
    with torch.no_grad():
        out = model(images[:5])
    if tuple(out.shape) != (5, 10):
        raise Hint(f"for 5 images of shape (1, 28, 28) the network should return (5, 10) logits; "
                   f"yours returns {tuple(out.shape)}")
    if bool((out >= 0).all()) and torch.allclose(out.sum(1), torch.ones(5), atol=1e-4):
        raise Hint("the outputs sum to 1: drop the softmax at the end; return logits, as "
                   "CrossEntropyLoss expects")
    acc = accuracy(model, x_held, y_held)
    if acc < SMALL_NET_TARGET:
        if acc < 0.2:
            raise Hint(f"{acc:.3f} on the checker's held-out digits, about chance (0.1): the network has "
                       "not learned. Train it before returning it (zero_grad, loss, backward, step over "
                       "batches of the images and labels you are given), and return that same network")
        if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
            raise Hint(f"{acc:.3f} on the checker's held-out digits, below {SMALL_NET_TARGET}: a dense "
                       "network under this budget has few hidden units. Convolutions reuse the same few "
                       "weights at every position: try two small convolution + pooling blocks")
        raise Hint(f"{acc:.3f} on the checker's held-out digits, below {SMALL_NET_TARGET}: train for a "
                   "full pass over the digits in small batches (32) with Adam at 3e-3, check every block "
                   "has a ReLU, and give the convolutions more filters within the budget")
