"""Chapter 02: a CNN on MNIST.

The chapter's settings per profile (``SETTINGS``) and its exercises."""

from __future__ import annotations

import numpy as np

from ..exercises import Hint, exercise

# Settings per profile. ``None`` as a size means "all of it".
SETTINGS: dict[str, dict] = {
    # n_train: images drawn from the 60,000 (10% of them held out for validation);
    # epochs: every model of the chapter; n_shift: test digits per shift level.
    "smoke": {"n_train": 2400, "n_test": 1000, "epochs": 2, "batch_size": 64,
              "n_shift": 200, "torch_epochs": 2},
    "fast": {"n_train": None, "n_test": None, "epochs": 2, "batch_size": 128,
             "n_shift": 1000, "torch_epochs": 2},
    "full": {"n_train": None, "n_test": None, "epochs": 8, "batch_size": 128,
             "n_shift": None, "torch_epochs": 8},
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
