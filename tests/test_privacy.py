"""fmbook.privacy: membership-inference metrics, LiRA, DP-SGD references, accounting, FedAvg plumbing."""

import math
import warnings

import numpy as np
import pytest
import torch

from fmbook import privacy
from fmbook.privacy import EmptyClientError, PrivacyInputError, UnsupportedModelError

# --------------------------------------------------------------------------- ROC and TPR at low FPR


def test_perfect_attack_has_tpr_one_at_any_fpr():
    assert privacy.tpr_at_fpr([5, 6, 7], np.arange(1000) / 1000, 0.001) == 1.0


def test_tpr_at_fpr_does_not_interpolate():
    # 1000 non-members at 0..999; 5 members above them all, 5 tied with the non-member at 995
    non = np.arange(1000.0)
    members = np.r_[np.full(5, 1000.0), np.full(5, 995.0)]
    assert privacy.tpr_at_fpr(members, non, 0.001) == 0.5
    # the ROC jumps from (0.004, 0.5) to (0.005, 1.0); interpolating at 0.0045 would give 0.75
    assert privacy.tpr_at_fpr(members, non, 0.0045) == 0.5
    assert privacy.tpr_at_fpr(members, non, 0.005) == 1.0


def test_random_scores_give_tpr_near_the_fpr():
    rng = np.random.default_rng(0)
    tpr = privacy.tpr_at_fpr(rng.normal(size=20000), rng.normal(size=20000), 0.01)
    assert 0.005 < tpr < 0.02


def test_tpr_at_fpr_refuses_too_few_non_members():
    with pytest.raises(PrivacyInputError, match="at least 1000 non-members"):
        privacy.tpr_at_fpr([1, 2], np.arange(500), 0.001)


@pytest.mark.parametrize("fpr", [0, 1, -0.1])
def test_tpr_at_fpr_refuses_an_fpr_outside_0_1(fpr):
    with pytest.raises(PrivacyInputError, match="fpr"):
        privacy.tpr_at_fpr([1], [0] * 100, fpr)


def test_roc_runs_from_origin_to_one_one():
    fpr, tpr, _ = privacy.roc([1, 2, 3], [0, 1.5])
    assert (fpr[0], tpr[0]) == (0, 0) and (fpr[-1], tpr[-1]) == (1, 1)


def test_auc_of_separated_scores_is_one_and_of_equal_scores_one_half():
    assert privacy.auc([2, 3], [0, 1]) == 1.0
    assert privacy.auc([1, 1], [1, 1]) == 0.5


def test_non_finite_scores_are_refused():
    with pytest.raises(PrivacyInputError, match="non-finite"):
        privacy.auc([np.inf, 1], [0, 1])


def test_overlapping_members_and_non_members_are_refused():
    with pytest.raises(PrivacyInputError, match="both members and non-members"):
        privacy.check_disjoint([1, 2, 3], [3, 4])
    privacy.check_disjoint([1, 2], [3, 4])


def test_plot_roc_loglog_uses_log_axes():
    import matplotlib

    matplotlib.use("Agg")
    fpr, tpr, _ = privacy.roc([1, 2, 3], [0, 1.5, 0.5])
    ax = privacy.plot_roc_loglog({"toy": (fpr, tpr)})
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"


# --------------------------------------------------------------------------- LiRA


def test_logit_confidence_equals_log_odds_of_the_softmax():
    logits = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    labels = np.array([0, 1])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    py = p[np.arange(2), labels]
    np.testing.assert_allclose(privacy.logit_confidence(logits, labels), np.log(py / (1 - py)))


def test_logit_confidence_stays_finite_when_the_probability_rounds_to_one():
    assert np.isfinite(privacy.logit_confidence([[100.0, 0.0]], [0])).all()


def test_logit_confidence_works_on_a_stack_of_models():
    logits = np.random.default_rng(0).normal(size=(4, 5, 3))
    out = privacy.logit_confidence(logits, np.array([0, 1, 2, 0, 1]))
    assert out.shape == (4, 5)


def _lira_world(k=32, n=400, shift=2.0, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 1, n)               # how easy each example is
    mask = rng.random((k, n)) < 0.5
    shadow = base + shift * mask + rng.normal(0, 0.5, (k, n))
    member = rng.random(n) < 0.5
    target = base + shift * member + rng.normal(0, 0.5, n)
    return target, shadow, mask, member


@pytest.mark.parametrize("online", [True, False])
def test_lira_separates_members_in_a_world_where_training_raises_the_statistic(online):
    target, shadow, mask, member = _lira_world()
    scores = privacy.lira_scores(target, shadow, mask, online=online)
    assert privacy.auc(scores[member], scores[~member]) > 0.95


def test_lira_beats_the_raw_statistic_when_examples_differ_in_difficulty():
    target, shadow, mask, member = _lira_world(shift=1.0)
    lira = privacy.lira_scores(target, shadow, mask)
    assert privacy.auc(lira[member], lira[~member]) > privacy.auc(target[member], target[~member]) + 0.05


def test_lira_online_needs_in_models_for_every_example():
    target, shadow, mask, _ = _lira_world(k=32)
    mask[:, 7] = False
    with pytest.raises(PrivacyInputError, match="example 7 has 0 IN"):
        privacy.lira_scores(target, shadow, mask)
    privacy.lira_scores(target, shadow, mask, online=False)  # offline needs OUT models only


def test_lira_refuses_mismatched_shapes():
    with pytest.raises(PrivacyInputError, match="shadow must be"):
        privacy.lira_scores(np.zeros(3), np.zeros((2, 4)), np.zeros((2, 4), bool))


# --------------------------------------------------------------------------- DP-SGD


def test_clipping_shrinks_long_gradients_to_the_norm_and_keeps_short_ones():
    g = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    out = privacy.clip_per_example(g, 1.0)
    torch.testing.assert_close(out[0], torch.tensor([0.6, 0.8]), atol=1e-6, rtol=0)
    torch.testing.assert_close(out[1], g[1])


def test_clipping_refuses_a_non_positive_norm():
    with pytest.raises(PrivacyInputError, match="max_norm"):
        privacy.clip_per_example(torch.ones(2, 2), 0.0)


def test_dp_sgd_gradient_without_noise_equals_opacus_clipped_average():
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    x, y = torch.randn(8, 6) * 5, torch.randint(0, 3, (8,))
    gsm = GradSampleModule(model)
    opt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=0.0), noise_multiplier=0.0, max_grad_norm=0.5,
                      expected_batch_size=8)
    torch.nn.functional.cross_entropy(gsm(x), y).backward()
    per_example = {n: p.grad_sample.clone() * 8 for n, p in gsm.named_parameters()}  # mean loss -> per-example
    opt.pre_step()
    ours = privacy.dp_sgd_gradient(per_example, max_norm=0.5, noise_multiplier=0.0)
    for n, p in gsm.named_parameters():
        torch.testing.assert_close(ours[n], p.grad, atol=1e-6, rtol=0)


def test_dp_sgd_noise_has_standard_deviation_sigma_c_over_b():
    grads = {"w": torch.zeros(4, 20000)}
    out = privacy.dp_sgd_gradient(grads, max_norm=2.0, noise_multiplier=1.5,
                                  generator=torch.Generator().manual_seed(0))
    assert abs(out["w"].std().item() - 1.5 * 2.0 / 4) < 0.02


def test_epsilon_falls_with_more_noise_and_rises_with_more_steps():
    e = lambda s, t: privacy.epsilon(s, 0.01, t, 1e-5)
    assert e(2.0, 1000) < e(1.0, 1000) < e(1.0, 3000)


def test_prv_and_rdp_are_both_finite_and_prv_is_not_looser():
    rdp = privacy.epsilon(1.0, 0.01, 1000, 1e-5, accountant="rdp")
    prv = privacy.epsilon(1.0, 0.01, 1000, 1e-5, accountant="prv")
    assert 0 < prv <= rdp + 1e-6


def test_no_noise_means_infinite_epsilon():
    assert privacy.epsilon(0.0, 0.01, 10, 1e-5) == math.inf


@pytest.mark.parametrize("delta", [1.0, 1.5, 0.0])
def test_delta_outside_0_1_is_refused(delta):
    with pytest.raises(PrivacyInputError, match="delta"):
        privacy.epsilon(1.0, 0.01, 100, delta)


@pytest.mark.parametrize("eps", [0.0, -1.0])
def test_non_positive_target_epsilon_is_refused(eps):
    with pytest.raises(PrivacyInputError, match="must be > 0"):
        privacy.noise_multiplier_for(eps, 0.01, 100, 1e-5)


def test_noise_multiplier_for_reaches_its_target():
    sigma = privacy.noise_multiplier_for(3.0, 0.01, 1000, 1e-5)
    assert privacy.epsilon(sigma, 0.01, 1000, 1e-5) <= 3.0 + 1e-6


def test_unknown_accountant_is_refused():
    with pytest.raises(PrivacyInputError, match="unknown accountant"):
        privacy.epsilon(1.0, 0.01, 10, 1e-5, accountant="gdp-ish")


def test_batch_norm_model_is_refused_with_the_layer_named():
    from fmbook.models import make_mnist_cnn

    with pytest.raises(UnsupportedModelError, match=r"layer '1' \(BatchNorm2d\).*GroupNorm"):
        privacy.check_dp_compatible(make_mnist_cnn(batch_norm=True))
    privacy.check_dp_compatible(make_mnist_cnn())


def test_opacus_known_warnings_are_filtered_and_others_are_not():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        privacy.filter_opacus_warnings()
        warnings.warn("Secure RNG turned off. This is fine for experimentation")
        warnings.warn("something else entirely")
    assert [str(w.message) for w in caught] == ["something else entirely"]


# --------------------------------------------------------------------------- federated learning


def test_iid_partition_covers_every_example_once():
    parts = privacy.partition_iid(103, 10, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(103))
    assert {len(p) for p in parts} <= {10, 11}


def test_shard_partition_gives_each_client_few_labels():
    labels = np.repeat(np.arange(10), 100)
    parts = privacy.partition_shards(labels, 10, shards_per_client=2, seed=0)
    assert sorted(np.concatenate(parts).tolist()) == list(range(1000))
    assert max(len(np.unique(labels[p])) for p in parts) <= 2


def test_dirichlet_partition_with_small_alpha_is_skewed_and_large_alpha_is_not():
    labels = np.repeat(np.arange(10), 500)

    def skew(alpha):
        parts = privacy.partition_dirichlet(labels, 5, alpha, seed=1)
        return np.mean([np.bincount(labels[p], minlength=10).max() / len(p) for p in parts])

    assert skew(0.1) > 0.4 > skew(1000.0)


def test_a_client_with_no_data_is_an_error():
    labels = np.repeat(np.arange(2), 5)
    with pytest.raises(EmptyClientError, match="got no data"):
        privacy.partition_dirichlet(labels, 50, 0.01, seed=0)
    with pytest.raises(EmptyClientError, match="got no data"):
        privacy.partition_iid(3, 5)


def test_fedavg_weights_clients_by_size():
    states = [{"w": torch.tensor([0.0, 0.0])}, {"w": torch.tensor([4.0, 8.0])}]
    torch.testing.assert_close(privacy.fedavg(states, [3, 1])["w"], torch.tensor([1.0, 2.0]))


def test_fedavg_refuses_all_empty_clients():
    with pytest.raises(EmptyClientError):
        privacy.fedavg([{"w": torch.zeros(1)}], [0])


def test_secure_average_reconstructs_the_exact_fixed_point_average():
    rng = np.random.default_rng(0)
    updates = [rng.normal(size=(3, 4)) for _ in range(5)]
    average, masked = privacy.secure_average(updates, seed=1)
    exact = np.mean([privacy.decode_fixed(privacy.encode_fixed(u)) for u in updates], axis=0)
    np.testing.assert_array_equal(average, exact)
    np.testing.assert_allclose(average, np.mean(updates, axis=0), atol=1e-4)


def test_a_masked_update_reveals_nothing_obvious():
    updates = [np.zeros(2000), np.ones(2000)]
    _, masked = privacy.secure_average(updates, seed=0)
    q = masked[0].astype(np.float64) / privacy.MODULUS
    assert 0.4 < q.mean() < 0.6 and q.std() > 0.25  # uniform-looking, not all zeros


def test_pairwise_masks_cancel_in_the_sum():
    seeds = np.random.default_rng(0).integers(0, 2 ** 63, size=(4, 4))
    total = sum(privacy.pairwise_mask(i, 4, (5,), seeds).astype(object) for i in range(4))
    assert all(int(t) % privacy.MODULUS == 0 for t in total)


# --------------------------------------------------------------------------- stacked shadow models


def _digits(n=60, d=8, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, d, generator=gen)
    y = (x[:, 0] > 0.5).long() + 2 * (x[:, 1] > 0.5).long()
    return x, y


def test_stacked_mlps_fit_their_own_members():
    x, y = _digits()
    mask = np.zeros((2, 60), bool)
    mask[0, :30], mask[1, 30:] = True, True
    logits = privacy.train_stacked_mlps(x, y, mask, hidden=32, epochs=60, batch_size=10, lr=1e-2, progress=False)(x)
    assert logits.shape == (2, 60, 4)
    for k in range(2):
        assert (logits[k][torch.as_tensor(mask[k])].argmax(1) == y[torch.as_tensor(mask[k])]).float().mean() > 0.9


def test_stacked_models_are_independent_of_each_others_data():
    x, y = _digits()
    a = np.zeros((2, 60), bool)
    a[0, :30], a[1, 30:] = True, True
    b = a.copy()
    b[1] = False
    b[1, 10:40] = True                      # model 1 gets other data; model 0 is unchanged
    out_a = privacy.train_stacked_mlps(x, y, a, hidden=8, epochs=3, batch_size=10, progress=False)(x)
    out_b = privacy.train_stacked_mlps(x, y, b, hidden=8, epochs=3, batch_size=10, progress=False)(x)
    torch.testing.assert_close(out_a[0], out_b[0])
    assert not torch.allclose(out_a[1], out_b[1])


def test_stacked_mlps_need_equal_member_counts():
    x, y = _digits()
    mask = np.zeros((2, 60), bool)
    mask[0, :30], mask[1, :20] = True, True
    with pytest.raises(PrivacyInputError, match="same, positive number of members"):
        privacy.train_stacked_mlps(x, y, mask, progress=False)


def test_check_dp_compatible_names_a_layer_whose_input_is_shared_by_the_batch():
    from fmbook import lm

    gpt = lm.GPT(lm.GPTConfig(vocab_size=40, block_size=8, d_model=16, n_layers=1, n_heads=2, dropout=0.0))
    with pytest.raises(UnsupportedModelError, match=r"layer 'pos_emb' \(Embedding\).*shape \(5,\).*expand"):
        privacy.check_dp_compatible(gpt, example_input=torch.randint(0, 40, (3, 5)))


def test_check_dp_compatible_passes_a_model_whose_layers_all_see_the_batch():
    privacy.check_dp_compatible(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2)),
                                example_input=torch.randn(3, 4))
