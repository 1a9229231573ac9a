"""Chapter 05 exercises: worked solutions pass, common mistakes get specific hints."""

import torch

from fmbook.exercises import check, solution_source


def _not_attempted(*args, **kwargs):
    raise NotImplementedError


def test_worked_solutions_pass_their_checkers():
    from fmbook.exercises import get

    for id in ("05.fgsm", "05.project", "05.pgd_step"):
        assert check(id, get(id).solution, quiet=True), id
        assert "def " in solution_source(id)


def test_unattempted_and_empty_answers_do_not_pass():
    for id in ("05.fgsm", "05.project", "05.pgd_step"):
        assert not check(id, _not_attempted, quiet=True)
        assert not check(id, lambda *a, **k: None, quiet=True)


def test_fgsm_with_the_raw_gradient_gets_a_specific_hint(capsys):
    def fgsm_without_sign(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        return (x + eps * x.grad).detach()

    assert not check("05.fgsm", fgsm_without_sign)
    assert "raw gradient" in capsys.readouterr().out


def test_fgsm_stepping_downhill_gets_a_specific_hint(capsys):
    def fgsm_downhill(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        return (x - eps * x.grad.sign()).clamp(0, 1).detach()

    assert not check("05.fgsm", fgsm_downhill)
    assert "downhill" in capsys.readouterr().out


def test_fgsm_without_clipping_gets_a_specific_hint(capsys):
    def fgsm_unclipped(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        return (x + eps * x.grad.sign()).detach()

    assert not check("05.fgsm", fgsm_unclipped)
    assert "[0, 1]" in capsys.readouterr().out


def test_projection_that_clips_the_images_to_eps_gets_a_specific_hint(capsys):
    assert not check("05.project", lambda x_adv, x, eps: x_adv.clamp(-eps, eps))
    assert "perturbation" in capsys.readouterr().out


def test_projection_without_the_ball_gets_a_specific_hint(capsys):
    assert not check("05.project", lambda x_adv, x, eps: x_adv.clamp(0, 1))
    assert "eps-ball around x is missing" in capsys.readouterr().out


def test_pgd_step_projected_around_the_iterate_gets_a_specific_hint(capsys):
    def wrong_centre(x_adv, x, grad, alpha, eps):
        step = x_adv + alpha * grad.sign()
        return torch.max(torch.min(step, x_adv + eps), x_adv - eps).clamp(0, 1)

    assert not check("05.pgd_step", wrong_centre)
    assert "centred on the clean image" in capsys.readouterr().out


def test_fgsm_on_a_model_left_in_training_mode_gets_the_eval_hint(capsys):
    def fgsm_in_training_mode(model, x, y, eps):
        x = x.clone().requires_grad_(True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        return (x + eps * x.grad.sign()).clamp(0, 1).detach()

    assert not check("05.fgsm", fgsm_in_training_mode)
    assert "model.eval()" in capsys.readouterr().out


def test_fmbook_robust_fgsm_passes_the_checker():
    from fmbook import robust

    assert check("05.fgsm", robust.fgsm, quiet=True)
