import math

import torch

from gnnchi.models import ChiModule
from tests.conftest import pair_batch


def batch_with_targets(targets):
    batch = pair_batch(["*CC(*)c1ccccc1", "*CCO*", "*CC(*)Cl"], ["Cc1ccccc1", "O", "C1CCOC1"], [300.0, 310.0, 320.0])
    return batch._replace(targets=torch.tensor(targets, dtype=torch.float32))


def module(**kwargs):
    torch.manual_seed(0)
    return ChiModule(latent_dim=4, hidden_dim=32, depth=2, ffn_hidden_dim=32, **kwargs)


def test_missing_targets_contribute_nothing_to_loss_or_gradient():
    nan = math.nan
    model = module()
    model.net.head.chi_std.copy_(torch.tensor([0.5, 2.0]))  # chi_exp is compared on the scale of its std
    batch = batch_with_targets([[1.0, nan, nan], [nan, 0.8, nan], [nan, nan, nan]])
    loss = model._shared_step(batch, "train")
    out = model(batch)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(out[0, 0], torch.tensor(1.0)) + (
        (out[1, 1] - 0.8) ** 2 / 0.5**2
    )
    assert torch.allclose(loss, expected, atol=1e-6)
    # the third pair has no target: its predictions get no gradient
    polymer_x = batch.graphs[0].clone().requires_grad_(True)
    loss = model._shared_step(batch._replace(graphs=(polymer_x, *batch.graphs[1:])), "train")
    loss.backward()
    third = (batch.graphs[3] == 2)  # the third pair's polymer atoms
    assert polymer_x.grad[third].abs().sum() == 0
    assert polymer_x.grad[~third].abs().sum() > 0


def test_task_weights_scale_each_task():
    nan = math.nan
    targets = [[1.0, nan, nan], [nan, 0.8, nan], [nan, nan, 0.2]]
    base = module()._shared_step(batch_with_targets(targets), "train")
    zero_chi = module(task_weights={"chi_exp": 0.0, "chi_cosmo": 0.0})._shared_step(batch_with_targets(targets), "train")
    assert zero_chi < base
    only_class = module(task_weights={"chi_exp": 0.0, "chi_cosmo": 0.0})._shared_step(
        batch_with_targets([[1.0, nan, nan], [nan, nan, nan], [nan, nan, nan]]), "train"
    )
    assert torch.allclose(zero_chi, only_class)


def test_metrics_see_only_present_targets():
    nan = math.nan
    model = module()
    model._shared_step(batch_with_targets([[1.0, 0.5, nan], [0.0, 0.8, nan], [nan, 0.1, nan]]), "val")
    assert model._metric_counts["val_soluble"] == 2
    assert model._metric_counts["val_chi_exp"] == 3
    assert model._metric_counts["val_chi_cosmo"] == 0


def test_unknown_task_weight_is_refused():
    import pytest

    with pytest.raises(ValueError, match="unknown tasks"):
        ChiModule(task_weights={"chi_exp": 1.0, "solubility": 1.0})


def test_row_weights_weigh_each_row_of_the_training_loss_and_are_left_out_elsewhere():
    """The balanced loss, by hand: each task's mean over its rows of weight x squared (or BCE) error."""
    nan = math.nan
    targets = [[1.0, 0.4, nan], [nan, 0.8, 0.3], [0.0, 1.5, 0.2]]
    model = module()
    model.net.head.chi_std.copy_(torch.tensor([0.5, 2.0]))
    batch = batch_with_targets(targets)
    weights = torch.tensor([[1.0, 0.5, 1.0], [1.0, 2.0, 3.0], [1.0, 0.25, 1.0]])
    model.row_weights = torch.ones(10, 3)
    model.row_weights[batch.rows] = weights
    out = model(batch).detach()
    t = torch.tensor(targets)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    expected = (
        (bce(out[0, 0], t[0, 0]) + bce(out[2, 0], t[2, 0])) / 2
        + (0.5 * (out[0, 1] - 0.4) ** 2 + 2.0 * (out[1, 1] - 0.8) ** 2 + 0.25 * (out[2, 1] - 1.5) ** 2) / 3 / 0.5**2
        + (3.0 * (out[1, 2] - 0.3) ** 2 + 1.0 * (out[2, 2] - 0.2) ** 2) / 2 / 2.0**2
    )
    assert torch.allclose(model._shared_step(batch, "train"), expected, atol=1e-5)
    unweighted = module()
    unweighted.net.head.chi_std.copy_(torch.tensor([0.5, 2.0]))
    assert torch.allclose(model._shared_step(batch, "val"), unweighted._shared_step(batch, "val"), atol=1e-6)


def test_huber_delta_counts_errors_beyond_it_linearly_in_the_tasks_own_units():
    """By hand, on chi_exp (std 0.5), delta 0.3 chi units: an error of 0.1 costs (0.1 / 0.5)^2, one of 0.7
    costs 2 (0.3 / 0.5) (0.7 / 0.5) - (0.3 / 0.5)^2 (squared: (0.7 / 0.5)^2); the label keeps its cross-entropy."""
    nan = math.nan
    for delta, beyond in ((0.3, 2 * (0.3 / 0.5) * (0.7 / 0.5) - (0.3 / 0.5) ** 2), (None, (0.7 / 0.5) ** 2)):
        model = module(huber_delta=delta)
        model.net.head.chi_std.copy_(torch.tensor([0.5, 2.0]))
        out = model(batch_with_targets([[nan] * 3] * 3)).detach()
        targets = [[1.0, nan, nan], [nan, float(out[1, 1]) - 0.1, nan], [nan, float(out[2, 1]) + 0.7, nan]]
        loss = model._shared_step(batch_with_targets(targets), "train")
        bce = torch.nn.functional.binary_cross_entropy_with_logits(out[0, 0], torch.tensor(1.0))
        assert torch.allclose(loss, bce + ((0.1 / 0.5) ** 2 + beyond) / 2, atol=1e-5)


def test_huber_delta_must_be_positive():
    import pytest

    with pytest.raises(ValueError, match="huber_delta"):
        module(huber_delta=0.0)
