"""fmbook.robust.masking_audit: it fails a model whose gradients are masked and passes an adversarially trained one.

The models are small multilayer perceptrons trained on 2,000 MNIST digits (seconds on a CPU);
the audit runs on 120 held-out training digits.
"""

import pytest
import torch

from fmbook import robust
from fmbook.models import to_image_tensor

EPS = 0.1
AUDIT = {"sweep_eps": (0.1, 0.2, 0.3, 0.5), "steps": 10, "n_gradient_free": 60, "square_iter": 150, "seed": 0}


class Quantise(torch.nn.Module):
    """x -> round(k x) / k: its gradient is zero almost everywhere (no straight-through estimator)."""

    def __init__(self, levels: int):
        super().__init__()
        self.levels = levels

    def forward(self, x):
        return torch.round(x * self.levels) / self.levels


def _mlp():
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 10))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Small models train and attack faster on one thread than on several that wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    from fmbook.data import DataError, load_mnist

    try:
        (x_train, y_train), _ = load_mnist()
    except DataError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"MNIST not available here: {exc}")
    x, y = to_image_tensor(x_train[:2120]), torch.as_tensor(y_train[:2120], dtype=torch.long)
    return x[:2000], y[:2000], x[2000:], y[2000:]


@pytest.fixture(scope="module")
def standard(digits):
    x, y, _, _ = digits
    torch.manual_seed(0)
    model = _mlp()
    robust.adversarial_training(model, x, y, method="standard", epochs=3, batch_size=64, lr=2e-3, seed=0)
    return model.eval()


@pytest.fixture(scope="module")
def pgd_trained(digits):
    x, y, _, _ = digits
    torch.manual_seed(0)
    model = _mlp()
    robust.adversarial_training(model, x, y, method="pgd", eps=EPS, steps=5, epochs=10, batch_size=64,
                                lr=2e-3, ramp_epochs=3, cyclic=True, seed=0)
    return model.eval()


def test_the_audit_fails_a_model_behind_a_non_differentiable_quantisation(digits, standard):
    _, _, x, y = digits
    masked = torch.nn.Sequential(Quantise(32), standard).eval()
    audit = robust.masking_audit(masked, x, y, EPS, source_model=standard, **AUDIT)
    assert not audit.passed
    failed = " ".join(audit.failed)
    assert "gradient-free" in failed and "transfer" in failed
    assert audit.gradient_free < audit.white_box_on_subset


def test_the_audit_passes_a_pgd_trained_model(digits, standard, pgd_trained):
    _, _, x, y = digits
    audit = robust.masking_audit(pgd_trained, x, y, EPS, source_model=standard, **AUDIT)
    assert audit.passed, audit.failed
    assert audit.white_box > 0.5          # robust enough that the comparisons mean something
    assert audit.sweep[0.5] <= 0.1


def test_the_audit_flags_an_attack_budget_that_leaves_accuracy_at_large_eps(digits, standard):
    _, _, x, y = digits
    audit = robust.masking_audit(standard, x, y, EPS, **{**AUDIT, "n_gradient_free": 0},
                                 max_acc_at_large_eps=-1.0)
    assert any(f.startswith("large eps") for f in audit.failed)


def test_the_audit_needs_a_sweep_that_reaches_the_large_eps(digits, standard):
    _, _, x, y = digits
    with pytest.raises(ValueError, match="large_eps"):
        robust.masking_audit(standard, x, y, EPS, sweep_eps=(0.1, 0.3))


def test_margin_loss_is_positive_exactly_on_misclassified_examples():
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.5, 2.0, 0.0], [1.0, 1.0, 4.0]])
    y = torch.tensor([0, 0, 2])
    margin = robust.margin_loss(logits, y)
    assert torch.allclose(margin, torch.tensor([-2.0, 1.5, -3.0]))


def test_dlr_loss_does_not_change_when_the_logits_are_scaled():
    logits = torch.randn(16, 10, generator=torch.Generator().manual_seed(0))
    y = torch.arange(16) % 10
    assert torch.allclose(robust.dlr_loss(logits, y), robust.dlr_loss(100 * logits, y), atol=1e-5)


def test_pgd_rejects_an_unknown_loss(digits, standard):
    _, _, x, y = digits
    with pytest.raises(ValueError, match="unknown attack loss"):
        robust.pgd(standard, x[:4], y[:4], EPS, loss="hinge")


def test_square_attack_stays_in_the_eps_ball_and_the_pixel_range(digits, standard):
    _, _, x, y = digits
    x_adv = robust.square_attack(standard, x[:10], y[:10], EPS, max_iter=20, seed=0)
    assert float((x_adv - x[:10]).abs().max()) <= EPS + 1e-6
    assert float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1


@pytest.mark.parametrize("loss", ["margin", "dlr"])
def test_pgd_on_another_loss_stays_in_the_eps_ball_and_fools_the_standard_model(digits, standard, loss):
    _, _, x, y = digits
    x_adv = robust.pgd(standard, x, y, 0.3, steps=10, loss=loss, generator=torch.Generator().manual_seed(0))
    assert float((x_adv - x).abs().max()) <= 0.3 + 1e-6
    assert robust.robust_accuracy(standard, x_adv, y) < 0.1
