"""Chapter 05's exercises: typical wrong answers get their specific hints."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fmbook.chapters import ch05_adversarial as ch05


def _targeted_like(step, labels="target", evaluate=True):
    """A targeted-FGSM variant: the gradient of the cross-entropy with ``labels``, then ``step(x, grad, eps)``."""
    def attack(model, x, target, eps):
        if evaluate:
            model.eval()
        x = x.clone().requires_grad_(True)
        y = target if labels == "target" else torch.tensor([0, 1, 2, 0, 1, 2])
        F.cross_entropy(model(x), y).backward()
        return step(x, x.grad, eps).detach()
    return attack


def test_targeted_fgsm_that_climbs_the_target_loss_gets_a_specific_hint(hint_of):
    assert "*away* from the target" in hint_of("05.targeted_fgsm",
                                             _targeted_like(lambda x, g, eps: (x + eps * g.sign()).clamp(0, 1)))


def test_targeted_fgsm_with_the_true_labels_gets_a_specific_hint(hint_of):
    answer = _targeted_like(lambda x, g, eps: (x + eps * g.sign()).clamp(0, 1), labels="true")
    assert "true labels" in hint_of("05.targeted_fgsm", answer)


def test_targeted_fgsm_with_the_raw_gradient_gets_a_specific_hint(hint_of):
    assert "raw gradient" in hint_of("05.targeted_fgsm", _targeted_like(lambda x, g, eps: x - eps * g))


def test_targeted_fgsm_without_clipping_gets_a_specific_hint(hint_of):
    assert "[0, 1]" in hint_of("05.targeted_fgsm", _targeted_like(lambda x, g, eps: x - eps * g.sign()))


def test_targeted_fgsm_on_a_model_left_in_training_mode_gets_the_eval_hint(hint_of):
    answer = _targeted_like(lambda x, g, eps: (x - eps * g.sign()).clamp(0, 1), evaluate=False)
    assert "model.eval()" in hint_of("05.targeted_fgsm", answer)


def test_dlr_without_the_denominator_gets_a_specific_hint(hint_of):
    assert "without the denominator" in hint_of("05.dlr_loss", lambda z, y: ch05._dlr_loss(z, y) * 0 + _margin(z, y))


def test_dlr_with_the_wrong_sign_gets_a_specific_hint(hint_of):
    assert "wrong sign" in hint_of("05.dlr_loss", lambda z, y: -ch05._dlr_loss(z, y))


def test_dlr_divided_by_the_second_largest_gap_gets_a_specific_hint(hint_of):
    def second(z, y):
        top = z.sort(1, descending=True).values
        return _margin(z, y) / (top[:, 0] - top[:, 1] + 1e-12)

    assert "*third* largest" in hint_of("05.dlr_loss", second)


def _margin(z, y):
    true = z.gather(1, y[:, None]).squeeze(1)
    return z.masked_fill(F.one_hot(y, z.shape[1]).bool(), -float("inf")).max(1).values - true


def test_masking_decision_that_ignores_the_gradient_free_attack_gets_a_specific_hint(hint_of):
    def no_square(row):
        return ch05._shows_masking({**row, "square": 1.0})

    assert "Square" in hint_of("05.masking", no_square)


def test_masking_decision_without_a_tolerance_calls_noise_masking(hint_of):
    def strict(row):
        white_box = min(row["pgd"], row["margin_pgd"])
        return bool(ch05._shows_masking(row) or row["transfer"] < white_box or row["square"] < white_box)

    assert "noise" in hint_of("05.masking", strict)


def test_masking_decision_must_be_a_boolean(hint_of):
    assert "True or False" in hint_of("05.masking", lambda row: "masked")


def test_masking_solution_flags_each_sign_alone():
    flagged = [masked for _, masked, _ in ch05._MASKING_CASES]
    assert flagged.count(True) == 5 and flagged.count(False) == 3
