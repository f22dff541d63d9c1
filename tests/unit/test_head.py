import numpy as np
import torch

from gnnchi.nn.heads import ChiHead, hansen_distance
from tests.conftest import make_net, predict


def test_hansen_distance_formula():
    u_p, r_p, u_s, r_s = (torch.randn(5, 3) for _ in range(4))
    expected = torch.stack(
        [
            torch.tensor([(u_p[i, j] - u_s[i, j]) ** 2 - r_p[i, j] ** 2 - r_s[i, j] ** 2 for j in range(3)])
            for i in range(5)
        ]
    )
    assert torch.allclose(hansen_distance(u_p, r_p, u_s, r_s), expected, atol=1e-6)


def test_pair_head_uses_u_then_r_halves():
    net = make_net(latent_dim=3)
    polymer = torch.tensor([[1.0, 2.0, 3.0, 0.5, 0.0, 0.0]])
    solvent = torch.tensor([[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]])
    z = torch.tensor([[0.0 - 0.25, 4.0 - 1.0, 9.0]])
    temperature = torch.tensor([300.0])
    assert torch.allclose(net.pair_head(polymer, solvent, temperature), torch.cat(
        [net.head.linear(z)[:, :1], net.head(z, temperature)[1]], dim=1), atol=1e-6)


def slopes_in_inverse_temperature(head: ChiHead) -> tuple[torch.Tensor, torch.Tensor]:
    """d chi / d(1/T) of one random pair over two successive temperature intervals."""
    z = torch.randn(1, 4).expand(3, 4)
    temps = torch.tensor([250.0, 300.0, 375.0])
    _, chi = head(z, temps)
    inv = 1.0 / temps
    return (chi[1] - chi[0]) / (inv[1] - inv[0]), (chi[2] - chi[1]) / (inv[2] - inv[1])


def test_chi_is_linear_in_inverse_temperature_for_order_1():
    head = ChiHead(latent_dim=4, num_chi_tasks=2, temperature_order=1)
    head.chi_std.fill_(0.7)
    head.chi_mean.fill_(0.4)
    slope1, slope2 = slopes_in_inverse_temperature(head)
    assert torch.allclose(slope1, slope2, rtol=1e-3)


def test_order_2_adds_a_curvature_term():
    head = ChiHead(latent_dim=4, num_chi_tasks=1, temperature_order=2)
    slope1, slope2 = slopes_in_inverse_temperature(head)
    assert not torch.allclose(slope1, slope2, rtol=1e-3)


def test_without_coupling_the_solubility_logit_does_not_depend_on_temperature():
    out = predict(make_net(solubility_chi_slope=0.0), ["*CC(*)c1ccccc1"] * 2, ["Cc1ccccc1"] * 2, [280.0, 420.0])
    assert torch.allclose(out[0, 0], out[1, 0])
    assert not torch.allclose(out[0, 1:], out[1, 1:])


def test_solubility_logit_follows_chi_exp_away_from_room_temperature():
    """logit(T) = logit(298.15 K) - slope (chi_exp(T) - chi_exp(298.15 K)), from the uncoupled net's outputs."""
    polymers, solvents = ["*CC(*)c1ccccc1", "*CCO*", "*CC(*)C(=O)OC"], ["Cc1ccccc1", "O", "CCCCCC"]
    temps = [250.0, 298.15, 350.0, 450.0]
    rows = [(p, s, t) for p, s in zip(polymers, solvents) for t in temps]
    args = ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
    plain = predict(make_net(seed=3, temperature_order=2), *args).numpy()
    coupled = predict(make_net(seed=3, temperature_order=2, solubility_chi_slope=6.9), *args).numpy()
    np.testing.assert_allclose(coupled[:, 1:], plain[:, 1:], atol=1e-6)  # chi is untouched
    for i, (_, _, t) in enumerate(rows):
        at_room = i - i % len(temps) + temps.index(298.15)
        expected = plain[at_room, 0] - 6.9 * (plain[i, 1] - plain[at_room, 1])
        assert abs(coupled[i, 0] - expected) < 1e-4, (t, coupled[i, 0], expected)
    assert not np.allclose(coupled[0::len(temps), 0], coupled[3::len(temps), 0])


def test_shared_encoder_option_uses_one_encoder():
    separate, shared = make_net(), make_net(shared_encoder=True)
    assert shared.polymer_encoder is shared.solvent_encoder
    assert separate.polymer_encoder is not separate.solvent_encoder
    count = lambda net: sum(p.numel() for p in net.parameters())
    assert count(shared) < count(separate)
    out = predict(shared, ["*CC(*)c1ccccc1"], ["Cc1ccccc1"], [300.0])
    assert out.shape == (1, 3) and torch.isfinite(out).all()
