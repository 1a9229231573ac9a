"""Chapter 05's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _fgsm_like(step):
    """An FGSM variant: the model put in eval mode, then ``step(x, grad, eps)`` returns the images."""
    def attack(model, x, y, eps):
        model.eval()
        x = x.clone().requires_grad_(True)
        F.cross_entropy(model(x), y).backward()
        return step(x, x.grad, eps).detach()
    return attack


def test_fgsm_with_the_raw_gradient_gets_a_specific_hint(hint_of):
    assert "raw gradient" in hint_of("05.fgsm", _fgsm_like(lambda x, g, eps: x + eps * g))


def test_fgsm_stepping_downhill_gets_a_specific_hint(hint_of):
    assert "downhill" in hint_of("05.fgsm", _fgsm_like(lambda x, g, eps: (x - eps * g.sign()).clamp(0, 1)))


def test_fgsm_without_clipping_gets_a_specific_hint(hint_of):
    assert "[0, 1]" in hint_of("05.fgsm", _fgsm_like(lambda x, g, eps: x + eps * g.sign()))


def test_fgsm_on_a_model_left_in_training_mode_gets_the_eval_hint(hint_of):
    def without_eval(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        F.cross_entropy(model(x), y).backward()
        return (x + eps * x.grad.sign()).clamp(0, 1).detach()

    assert "model.eval()" in hint_of("05.fgsm", without_eval)


def test_projection_that_clips_the_images_to_eps_gets_a_specific_hint(hint_of):
    assert "perturbation" in hint_of("05.project", lambda x_adv, x, eps: x_adv.clamp(-eps, eps))


def test_projection_without_the_ball_gets_a_specific_hint(hint_of):
    assert "eps-ball around x is missing" in hint_of("05.project", lambda x_adv, x, eps: x_adv.clamp(0, 1))


def test_pgd_step_projected_around_the_iterate_gets_a_specific_hint(hint_of):
    def wrong_centre(x_adv, x, grad, alpha, eps):
        step = x_adv + alpha * grad.sign()
        return torch.max(torch.min(step, x_adv + eps), x_adv - eps).clamp(0, 1)

    assert "centred on the clean image" in hint_of("05.pgd_step", wrong_centre)
