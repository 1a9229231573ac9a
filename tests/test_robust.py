"""fmbook.robust: attack invariants, determinism, strength, input checks, cross-checks, training."""

import math

import numpy as np
import pytest
import torch

from fmbook import robust
from fmbook.models import accuracy, make_mnist_cnn, to_image_tensor

EPS = 0.3


@pytest.fixture(scope="module")
def mnist_small():
    from fmbook.data import DataError, load_mnist

    try:
        (x_train, y_train), (x_test, y_test) = load_mnist()
    except DataError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"MNIST not available here: {exc}")
    return (to_image_tensor(x_train[:1500]), torch.as_tensor(y_train[:1500], dtype=torch.long),
            to_image_tensor(x_test[:200]), torch.as_tensor(y_test[:200], dtype=torch.long))


@pytest.fixture(scope="module")
def trained(mnist_small):
    """A CNN trained for one epoch on 1,500 digits (a few seconds): accurate enough to attack."""
    x_train, y_train, x_test, y_test = mnist_small
    torch.manual_seed(0)
    model = make_mnist_cnn()
    robust.adversarial_training(model, x_train, y_train, method="standard", epochs=1, batch_size=64,
                                lr=2e-3, seed=0)
    return model, x_test, y_test


@pytest.fixture
def toy():
    """An untrained CNN and random images with some pixels exactly 0 and 1."""
    torch.manual_seed(1)
    model = make_mnist_cnn().eval()
    x = torch.rand(8, 1, 28, 28)
    x[:, :, :5] = 0.0
    x[:, :, -5:] = 1.0
    y = torch.arange(8) % 10
    return model, x, y


def _inside(x_adv, x, eps):
    return float((x_adv - x).abs().max()) <= eps + 1e-6 and float(x_adv.min()) >= 0 and float(x_adv.max()) <= 1


def test_fgsm_stays_in_the_eps_ball_and_the_pixel_range(toy):
    model, x, y = toy
    assert _inside(robust.fgsm(model, x, y, EPS), x, EPS)


def test_pgd_with_restarts_stays_in_the_eps_ball_and_the_pixel_range(toy):
    model, x, y = toy
    gen = torch.Generator().manual_seed(0)
    x_adv = robust.pgd(model, x, y, EPS, alpha=0.1, steps=5, restarts=3, generator=gen)
    assert _inside(x_adv, x, EPS)


def test_fgsm_moves_every_unclipped_pixel_by_exactly_eps(toy):
    model, x, y = toy
    delta = (robust.fgsm(model, x, y, 0.05) - x).abs()
    interior = (x > 0.05) & (x < 0.95)
    moved = delta[interior]
    assert torch.allclose(moved[moved > 0], torch.full_like(moved[moved > 0], 0.05), atol=1e-6)
    assert float((moved > 0).float().mean()) > 0.9


def test_project_linf_clips_to_the_ball_then_to_the_pixel_range():
    x = torch.tensor([0.0, 0.5, 1.0, 0.9])
    x_adv = torch.tensor([-0.5, 0.95, 1.4, 0.2])
    got = robust.project_linf(x_adv, x, 0.2)
    assert torch.allclose(got, torch.tensor([0.0, 0.7, 1.0, 0.7]))


def test_pgd_is_repeatable_with_a_seeded_generator(toy):
    model, x, y = toy
    a = robust.pgd(model, x, y, EPS, steps=3, generator=torch.Generator().manual_seed(42))
    b = robust.pgd(model, x, y, EPS, steps=3, generator=torch.Generator().manual_seed(42))
    c = robust.pgd(model, x, y, EPS, steps=3, generator=torch.Generator().manual_seed(43))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_attacks_leave_the_model_parameters_and_mode_unchanged(toy):
    model, x, y = toy
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    robust.fgsm(model, x, y, EPS)
    robust.pgd(model, x, y, EPS, steps=2)
    assert model.training
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(a, p) for a, p in zip(before, model.parameters()))


def test_pgd_is_at_least_as_strong_as_fgsm_on_a_trained_model(trained):
    model, x, y = trained
    clean = robust.robust_accuracy(model, x, y)
    acc_fgsm = robust.robust_accuracy(model, x, y, robust.fgsm, eps=0.1)
    acc_pgd = robust.robust_accuracy(model, x, y, robust.pgd, eps=0.1, alpha=0.02, steps=10,
                                     generator=torch.Generator().manual_seed(0))
    assert clean > 0.7
    assert acc_pgd <= acc_fgsm < clean


def test_pgd_loss_rises_over_the_steps(trained):
    model, x, y = trained
    _, history = robust.pgd(model, x, y, 0.1, alpha=0.02, steps=8, random_start=False, return_losses=True)
    assert history.shape == (1, 9)
    assert history[0, -1] > 2 * history[0, 0]
    assert np.all(np.diff(history[0]) > -0.05)


def test_more_restarts_never_weaken_pgd(trained):
    model, x, y = trained
    kwargs = dict(eps=0.08, alpha=0.02, steps=5)
    one = robust.robust_accuracy(model, x, y, robust.pgd, restarts=1,
                                 generator=torch.Generator().manual_seed(3), **kwargs)
    three = robust.robust_accuracy(model, x, y, robust.pgd, restarts=3,
                                   generator=torch.Generator().manual_seed(3), **kwargs)
    assert three <= one


def test_fgsm_equals_one_step_pgd_from_the_clean_image(toy):
    model, x, y = toy
    one_step = robust.pgd(model, x, y, 0.1, alpha=0.1, steps=1, random_start=False)
    assert torch.allclose(robust.fgsm(model, x, y, 0.1), one_step)


def test_fgsm_matches_an_independent_torch_func_formulation(toy):
    model, x, y = toy
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(inputs):
        logits = torch.func.functional_call(model, params, (inputs,))
        return torch.nn.functional.cross_entropy(logits, y, reduction="sum")

    grad = torch.func.grad(loss)(x)
    expected = torch.clamp(x + 0.1 * torch.sign(grad), 0, 1)
    assert torch.allclose(robust.fgsm(model, x, y, 0.1), expected, atol=1e-6)


def _art_classifier(model):
    pytest.importorskip("art", reason="adversarial-robustness-toolbox is not installed")
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(model=model, loss=torch.nn.CrossEntropyLoss(), input_shape=(1, 28, 28),
                             nb_classes=10, clip_values=(0.0, 1.0), device_type="cpu")


def test_fgsm_matches_the_adversarial_robustness_toolbox(trained):
    model, x, y = trained
    clf = _art_classifier(model)
    from art.attacks.evasion import FastGradientMethod

    theirs = FastGradientMethod(clf, norm=np.inf, eps=0.1, batch_size=len(x)).generate(x.numpy(), y=y.numpy())
    ours = robust.fgsm(model, x, y, 0.1).numpy()
    assert np.mean(np.abs(theirs - ours) > 1e-5) < 1e-3


def test_pgd_matches_the_adversarial_robustness_toolbox(trained):
    model, x, y = trained
    clf = _art_classifier(model)
    from art.attacks.evasion import ProjectedGradientDescent

    attack = ProjectedGradientDescent(clf, norm=np.inf, eps=0.1, eps_step=0.02, max_iter=5,
                                      num_random_init=0, batch_size=len(x), verbose=False)
    theirs = attack.generate(x.numpy(), y=y.numpy())
    ours = robust.pgd(model, x, y, 0.1, alpha=0.02, steps=5, random_start=False).numpy()
    assert np.mean(np.abs(theirs - ours) > 1e-5) < 1e-3


def test_robust_accuracy_without_an_attack_is_the_clean_accuracy(trained):
    model, x, y = trained
    assert math.isclose(robust.robust_accuracy(model, x, y), accuracy(model, x.numpy(), y.numpy()))


def test_robust_accuracy_rejects_an_attack_that_leaves_the_ball(toy):
    model, x, y = toy

    def cheat(model, x, y, eps):
        return torch.clamp(x + 2 * eps, 0, 1)

    with pytest.raises(ValueError, match="left the eps-ball"):
        robust.robust_accuracy(model, x, y, cheat, eps=0.1)


@pytest.mark.parametrize("eps", [-0.1, 1.5, float("nan"), "big"])
def test_bad_eps_is_rejected_clearly(toy, eps):
    model, x, y = toy
    with pytest.raises(ValueError, match="eps must"):
        robust.fgsm(model, x, y, eps)


def test_images_without_a_channel_axis_are_rejected_clearly(toy):
    model, x, y = toy
    with pytest.raises(ValueError, match=r"shape \(N, C, H, W\)"):
        robust.pgd(model, x[:, 0], y, EPS)


def test_labels_of_the_wrong_length_are_rejected_clearly(toy):
    model, x, y = toy
    with pytest.raises(ValueError, match="y must have shape"):
        robust.fgsm(model, x, y[:3], EPS)


def test_uint8_images_are_rejected_clearly(toy):
    model, x, y = toy
    with pytest.raises(TypeError, match="float tensor"):
        robust.fgsm(model, (x * 255).to(torch.uint8), y, EPS)


def test_pixels_outside_the_unit_range_are_rejected_clearly(toy):
    model, x, y = toy
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        robust.fgsm(model, x * 255, y, EPS)


def test_restarts_without_random_start_are_rejected(toy):
    model, x, y = toy
    with pytest.raises(ValueError, match="random_start"):
        robust.pgd(model, x, y, EPS, restarts=3, random_start=False)


def test_unknown_training_method_is_rejected(toy):
    model, x, y = toy
    with pytest.raises(ValueError, match="unknown training method"):
        robust.adversarial_training(model, x, y, method="magic")


def test_fgsm_rs_training_inputs_stay_in_the_eps_ball(toy):
    model, x, y = toy
    gen = torch.Generator().manual_seed(0)
    for method in robust.TRAINING_METHODS:
        x_train = robust.adversarial_example_for_training(model, x, y, method, EPS, steps=2, generator=gen)
        assert _inside(x_train, x, EPS), method


def test_adversarial_training_raises_robust_accuracy(mnist_small):
    x_train, y_train, x_test, y_test = mnist_small
    results = {}
    for method in ("standard", "fgsm_rs"):
        torch.manual_seed(0)
        model = make_mnist_cnn()
        robust.adversarial_training(model, x_train, y_train, method=method, eps=0.2, epochs=1,
                                    batch_size=64, lr=2e-3, ramp_epochs=0.5, seed=0)
        results[method] = robust.robust_accuracy(model, x_test, y_test, robust.pgd, eps=0.2, alpha=0.05,
                                                 steps=5, generator=torch.Generator().manual_seed(0))
    assert results["fgsm_rs"] > results["standard"] + 0.1
