"""Chapter 02: a CNN on MNIST.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
# n_train: images drawn from the 60,000 (10% of them held out for validation); epochs: every
# convnet of the improvement ladder; curve_points: validation points per epoch on the learning
# curves; n_shift: test digits per shift level; mlp_*: the multi-layer perceptron written out;
# es_*: the over-fitting setting on which early stopping is shown (a small training subset,
# patience in epochs).
#
# Bands, fast seeds 0/1/2 (fmbook run --seed N, one thread; 539 / 553 / 551 s CPU, 20-22 min wall
# beside the CI run), split from the first 58,000 training digits:
#   MLP test 0.974 / 0.973 / 0.971 -> band >= 0.965 (twice the spread 0.003 below the worst run);
#   best Keras model test 0.9889 / 0.9882 / 0.9880 ('+ augmentation' / '+ LR schedule' / '+ LR
#   schedule', chosen on validation) -> band >= 0.985 (the issue's target; the spread rule gives 0.986);
#   validation errors removed by the best step 21.5 / 26.7 / 20.2 per 100 -> band >= 7;
#   PyTorch baseline convnet 0.9828 / 0.9818 / 0.9816 -> band >= 0.979;
#   shifted: rotated 45 deg 0.528 / 0.466 / 0.507 -> 0.34 .. 0.65; translated 2 px 0.949 / 0.823 /
#   0.799 -> 0.50 .. 0.99; inverted 0.217 / 0.378 / 0.504 -> 0 .. 0.75. The inverted band was 0 .. 0.5
#   from seed 0 alone and seed 2 failed it at 0.504; with a spread of 0.29 over three seeds no band
#   from the spread can have an upper end, so it is set to what the chapter claims: inverted digits
#   break the model, far below its clean accuracy (0.985 to 0.99).
#   Seed 2 was run again, whole, with these bands: it passed (same values, 539 s CPU).
#   backprop hand vs autograd 2.8e-17 / 2.8e-17 / 5.6e-17 (band 0..1e-6); early stopping fired at
#   epoch 11 / 12 / 11 of 40.
# Time on 2 idle cores (fmbook run --profile fast --seed 0, default threads, nothing else running,
# 2026-11-27): 7 min 47 s wall (limit 8 min), 573 s user CPU; all checks pass (best '+ augmentation'
# 0.9883, MLP 0.974, PyTorch baseline 0.9826, removed 25 per 100).
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
SMALL_NET_TARGET = 0.965
"""Accuracy the checker asks of the trained network on digits the notebook never uses.

Measured on the checker's digits (torch random seeds 0/1/2, one thread, 4-6 s CPU each): the
solution 0.984/0.977/0.984; the same without batch norm 0.975/0.974/0.971 (3 epochs); a dense
784-24-10 network (19,090 parameters) 0.949/0.944 after 3 epochs and 0.952/0.948 after 8."""
SMALL_NET_N_TRAIN = 5_000
"""How many training digits the checker hands to the learner's function."""
EXERCISE_HELD_OUT = 2_000
"""The last this many images of MNIST's training set are kept for the checker of 02.small_net:
the notebook draws its training and validation images from the others and never shows them."""


def _train_small_net(images, labels):
    import torch
    from torch import nn

    # 160 + 32 + 4,640 + 64 + 8,010 = 12,906 parameters: convolutions share their weights across
    # positions, two poolings shrink the map to 32 x 5 x 5, and no hidden dense layer follows.
    # Batch norm lets Adam take large steps from the first batch.
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 5 * 5, 10),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()  # takes logits: no softmax at the end of the network
    model.train()
    for _ in range(3):
        for batch in torch.randperm(len(images)).split(64):
            optimizer.zero_grad()
            loss_fn(model(images[batch]), labels[batch]).backward()
            optimizer.step()
    return model


def _small_net_data():
    """The checker's digits: ``SMALL_NET_N_TRAIN`` training digits (drawn with a fixed random seed
    from the images the notebook may use) and the ``EXERCISE_HELD_OUT`` digits it scores on."""
    import torch

    from ..data import load_mnist
    from ..models import to_image_tensor

    (x, y), _ = load_mnist()
    pool = len(x) - EXERCISE_HELD_OUT
    idx = np.random.default_rng(2024).choice(pool, SMALL_NET_N_TRAIN, replace=False)
    train = (to_image_tensor(x[idx]), torch.as_tensor(y[idx].astype(np.int64)))
    held_out = (to_image_tensor(x[pool:]), torch.as_tensor(y[pool:].astype(np.int64)))
    return train, held_out


@exercise("02.small_net", "build and train a network under 20,000 parameters that reaches 96.5%",
          solution=_train_small_net,
          hints=("Count before you train: sum(p.numel() for p in net.parameters()). In a dense layer "
                 "the weights are in_features x out_features, so the layer after Flatten is where "
                 "the parameters go: pool (or stride) until the map is small before flattening.",
                 "A dense network this small has too few hidden units. Two 3x3 convolutions with 16 "
                 "and 32 filters, each followed by BatchNorm2d, ReLU and 2x2 max-pooling, then "
                 "Flatten and Linear(800, 10), fits the budget; Adam with learning rate 3e-3, "
                 "batches of 64 and 3 epochs train it in a few seconds.",
                 "The network returns logits (no softmax at the end): CrossEntropyLoss applies the "
                 "softmax itself. Return the trained model, not the training loss or the optimiser."))
def _check_small_net(fn) -> None:
    import torch
    from torch import nn

    from ..models import count_parameters

    (x_train, y_train), (x_held, y_held) = _small_net_data()
    torch.manual_seed(0)
    model = fn(x_train.clone(), y_train.clone())
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
        out = torch.cat([model(b) for b in x_held.split(500)])
    if tuple(out.shape) != (len(x_held), 10):
        raise Hint(f"for {len(x_held)} images of shape (1, 28, 28) the network should return "
                   f"({len(x_held)}, 10) scores; yours returns {tuple(out.shape)}")
    acc = float((out.argmax(1) == y_held).float().mean())
    if acc >= SMALL_NET_TARGET:
        return
    if acc < 0.2:
        raise Hint(f"{acc:.3f} on the checker's held-out digits: chance level. Did your function train "
                   "the network it returns (optimizer.step() in a loop over batches of the images it "
                   "was given), and return that same network?")
    if bool((out >= 0).all()) and torch.allclose(out.sum(1), torch.ones(len(out)), atol=1e-4):
        raise Hint(f"{acc:.3f} on the checker's held-out digits, below {SMALL_NET_TARGET}, and the "
                   "network ends in a softmax: CrossEntropyLoss applies a softmax itself, so a second "
                   "one flattens the gradients. Drop it and train on the logits")
    if not any(isinstance(m, nn.Conv2d) for m in model.modules()):
        raise Hint(f"{acc:.3f} on the checker's held-out digits, below {SMALL_NET_TARGET}: a dense "
                   "network under this budget has too few hidden units. Convolutions reuse the same "
                   "few weights at every position: try two small convolution + pooling blocks")
    raise Hint(f"{acc:.3f} on the checker's held-out digits, below {SMALL_NET_TARGET}: train longer "
               f"(a few epochs over the {SMALL_NET_N_TRAIN:,} digits), try Adam with a learning rate "
               "near 3e-3, give the convolutions more filters within the budget, and check every "
               "block has a ReLU")
