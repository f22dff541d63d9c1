"""The co2_il system below the CLI: the ion gate, its rows and splits, batches, and the isotherm head's physics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from gnnchi.chem import make_mol
from gnnchi.data.datamodule import PairDataset
from gnnchi.data.records import check_pairs, normalize_columns, resolve_duplicates
from gnnchi.data.splits import split_indices
from gnnchi.errors import InvalidSmilesError
from gnnchi.featurizers import ATOM_DIM, BOND_DIM, collate_graphs, featurize
from gnnchi.inference.isotherm import (
    IsothermParameters,
    grid_coefficients,
    mole_fraction,
    pair_coefficients,
    screen_isotherms,
)
from gnnchi.models.checkpoint import build_net
from gnnchi.models.ionic_liquid import IonicLiquidNet
from gnnchi.nn.isotherm import IsothermHead
from gnnchi.physics import co2_fugacity_kPa
from gnnchi.systems import CO2_IL

BMIM, EMIM, C6MIM = "CCCC[n+]1ccn(C)c1", "CC[n+]1ccn(C)c1", "CCCCCC[n+]1ccn(C)c1"
PF6, BF4, TF2N = "F[P-](F)(F)(F)(F)F", "F[B-](F)(F)F", "O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F"


@pytest.mark.parametrize(
    ("smiles", "kind", "words"),
    [
        (PF6, "cation", "a cation needs a net charge above zero; its formal charges sum to -1"),
        (BMIM, "anion", "an anion needs a net charge below zero; its formal charges sum to +1"),
        ("CC[N+](C)(C)CC(=O)[O-]", "cation", "sum to +0"),  # a zwitterion is no cation
        ("CCO", "anion", "sum to +0"),
        ("*CC[n+]1ccn(C)c1", "cation", "must not contain '*'"),
    ],
)
def test_the_gate_refuses_an_ion_of_the_wrong_charge(smiles, kind, words):
    with pytest.raises(InvalidSmilesError, match=words.replace("+", r"\+").replace("(", r"\(").replace(")", r"\)")):
        make_mol(smiles, kind)


def test_charged_ions_pass_the_gate():
    assert make_mol(BMIM, "cation").GetNumAtoms() == 10
    assert make_mol("[O-]S(=O)(=O)C(F)(F)F", "anion").GetNumAtoms() == 8
    assert make_mol("[Cl-]", "anion").GetNumAtoms() == 1


def test_bundled_rows_all_pass_and_the_swapped_ionic_liquids_are_put_right():
    from gnnchi.datasets.co2_il import HERE, load_co2_il

    raw = pd.read_csv(HERE / "co2_solubility.csv")
    table = load_co2_il()
    # independent of the loader's RDKit charge sums: a cation's SMILES writes a "+" and no "-" charge
    assert table["cation"].str.contains(r"\+").all() and table["anion"].str.contains(r"-\]").all()
    swapped = raw["cation"] != table["cation"]
    assert swapped.sum() == 229 and (raw["cation"][swapped] == table["anion"][swapped]).all()
    assert (raw.drop(columns=["cation", "anion", "ionic_liquid"]).to_numpy() == table[raw.columns.drop(["cation", "anion", "ionic_liquid"])].to_numpy()).all()
    frame = normalize_columns(table.head(400), "bundled", lines_given=True, system=CO2_IL)
    records, problems = check_pairs(frame, "bundled", system=CO2_IL)
    assert problems == [] and len(records.table) == 400


def test_units_are_converted_and_every_bad_row_is_reported():
    frame = pd.DataFrame(
        {"cation": [BMIM, PF6, BMIM, BMIM, BMIM], "anion": [PF6, BMIM, PF6, PF6, PF6],
         "temperature_C": [25.0, 25.0, 25.0, None, 25.0], "pressure_bar": [10.0, 10.0, 1e4, 10.0, 5.0],
         "x_co2": [0.1, 0.1, 0.5, 0.1, 0.05]}  # fmt: skip
    )
    normalized = normalize_columns(frame, "t.csv", system=CO2_IL)
    assert normalized["pressure_kPa"].tolist()[:2] == [1000.0, 1000.0]
    assert normalized["temperature_K"][0] == pytest.approx(298.15)
    records, problems = check_pairs(normalized, "t.csv", system=CO2_IL)
    by_row = {(p.row, p.column): p.reason for p in problems}
    assert "net charge above zero" in by_row[(3, "cation")] and "net charge below zero" in by_row[(3, "anion")]
    assert by_row[(4, "pressure_kPa")].startswith("outside the plausible range")  # 1e6 kPa
    assert by_row[(5, "temperature_K")] == "missing temperature"  # no default for this system
    assert records.table["row"].tolist() == [2, 6]


def test_repeats_of_one_ionic_liquid_and_condition_are_averaged():
    frame = pd.DataFrame({"cation": [BMIM, BMIM, BMIM], "anion": [PF6, PF6, PF6], "temperature_K": [298.15] * 3,
                          "pressure_kPa": [100.0, 100.0, 200.0], "x_co2": [0.02, 0.04, 0.05]})  # fmt: skip
    records, _ = check_pairs(normalize_columns(frame, "t", system=CO2_IL), "t", system=CO2_IL)
    table, repeated, conflicts = resolve_duplicates(records.table, "average", CO2_IL)
    assert len(repeated) == 1 and conflicts == 1 and "same pair and temperature and pressure as row 2" in repeated[0].reason
    assert table["x_co2"].tolist() == pytest.approx([0.03, 0.05])


def _records(n_per_pair: int = 3):
    cations, anions = [BMIM, EMIM, C6MIM], [PF6, BF4, TF2N]
    rows = [(c, a, 300.0 + 10 * k, 100.0 * (k + 1), 0.01 * (k + 1)) for c in cations for a in anions for k in range(n_per_pair)]
    frame = pd.DataFrame(rows, columns=["cation", "anion", "temperature_K", "pressure_kPa", "x_co2"])
    records, problems = check_pairs(normalize_columns(frame, "t", system=CO2_IL), "t", system=CO2_IL)
    assert not problems
    return records


@pytest.mark.parametrize(("split", "columns"), [("cation", ["cation"]), ("anion", ["anion"]), ("ionic_liquid", ["cation", "anion"])])
def test_grouped_splits_keep_each_group_on_one_side(split, columns):
    table = _records().table
    for fold in range(3):
        parts = split_indices(table, split, fold, num_folds=3, val_fraction=0.2, system=CO2_IL)
        key = lambda rows: set(map(tuple, table.iloc[rows][columns].to_numpy()))
        assert not key(parts["test"]) & key(parts["train"]) and not key(parts["val"]) & key(parts["train"])
        assert len(parts["test"]) > 0


def test_random_rows_split_puts_every_row_somewhere_once():
    table = _records().table
    folds = [split_indices(table, "rows", f, num_folds=3, val_fraction=0.0, system=CO2_IL)["test"] for f in range(3)]
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(table)))


def test_a_batch_encodes_each_distinct_ion_once_and_gathers_it_for_its_pairs():
    records = _records()
    dataset = PairDataset(records, np.arange(len(records.table)))
    batch = dataset.collate(list(range(len(records.table))))
    (cation_graphs, cation_index), (anion_graphs, anion_index) = batch.molecules()
    assert int(cation_graphs[3].max()) + 1 == 3 and len(cation_index) == 27  # 3 distinct cations, 27 pairs
    torch.manual_seed(0)
    net = IonicLiquidNet(ATOM_DIM, BOND_DIM, hidden_dim=16, depth=2, ffn_hidden_dim=16).eval()
    with torch.no_grad():
        gathered = net.pair_head(net.encode_cations(*cation_graphs, 3)[cation_index],
                                 net.encode_anions(*anion_graphs, 3)[anion_index], *batch.conditions)  # fmt: skip
        # one graph per pair, in the table's order (no deduplication)
        table = records.table
        cations = collate_graphs([featurize(make_mol(s, "cation")) for s in table["cation"]])
        anions = collate_graphs([featurize(make_mol(s, "anion")) for s in table["anion"]])
        direct = net(*(torch.from_numpy(a) for a in (*cations, *anions)),
                     torch.tensor(table["temperature_K"].to_numpy(np.float32)), torch.tensor(table["pressure_kPa"].to_numpy(np.float32)))  # fmt: skip
    assert torch.allclose(gathered, direct, atol=1e-6)


def test_a_shared_encoder_reads_both_ions_and_survives_the_hyperparameter_round_trip():
    records = _records()
    dataset = PairDataset(records, np.arange(len(records.table)))
    (cation_graphs, _), (anion_graphs, _) = dataset.collate(list(range(len(records.table)))).molecules()
    sizes = {"hidden_dim": 16, "depth": 2, "ffn_hidden_dim": 16}
    torch.manual_seed(0)
    separate = build_net("co2_il", **sizes)
    shared = build_net("co2_il", shared_encoder=True, **sizes)
    encoder_size = sum(p.numel() for p in shared.cation_encoder.parameters())
    count = sum(p.numel() for p in separate.parameters()) - sum(p.numel() for p in shared.parameters())
    assert count == encoder_size  # one encoder fewer
    rebuilt = build_net("co2_il", shared_encoder=True, **sizes)
    rebuilt.load_state_dict(shared.state_dict())
    for net in (shared, rebuilt):
        net.eval()
        with torch.no_grad():  # an anion read by the cation path gives what the anion path gives
            assert torch.equal(net.encode_cations(*anion_graphs, 3), net.encode_anions(*anion_graphs, 3))
    with torch.no_grad():
        assert not torch.allclose(separate.eval().encode_cations(*anion_graphs, 3), separate.encode_anions(*anion_graphs, 3))
        assert torch.equal(rebuilt.encode_cations(*cation_graphs, 3), shared.encode_cations(*cation_graphs, 3))


def _random_head(
    order: int, seed: int = 0, fugacity: bool = False, density: bool = False
) -> tuple[IsothermHead, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    head = IsothermHead((100.0, 1000.0, 10000.0), 3, order, fugacity, supercritical_density=density)
    with torch.no_grad():
        head.bias.normal_(0.0, 2.0)
    cations = torch.randn(5, head.encoding_dim) * 1.5
    anions = torch.randn(5, head.encoding_dim) * 1.5
    return head, cations, anions


@pytest.mark.parametrize(("fugacity", "density"), [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("order", [1, 2])
def test_x_co2_is_a_mole_fraction_that_rises_with_pressure_and_vanishes_without_it(order, fugacity, density):
    head, cations, anions = _random_head(order, fugacity=fugacity, density=density)
    pressures = torch.cat([torch.tensor([0.0, 1e-30]), torch.logspace(-6, np.log10(2e5), 400)])  # kPa
    for temperature in (200.0, 250.0, 298.15, 450.0, 600.0):  # 200, 250 and 298.15 K condense CO2 (fugacity)
        for i in range(5):
            n = len(pressures)
            x = head(cations[i].expand(n, -1), anions[i].expand(n, -1), torch.full((n,), temperature), pressures)[:, 0]
            assert (x >= 0).all() and (x < 1).all()
            assert (x[1:] >= x[:-1]).all(), "x_co2 fell as pressure rose"
            # whatever the weights (exponents are capped), x -> 0 with P: 1e-30 kPa gives at most e^30 1e-32
            assert x[0] == 0.0 and x[1] < 1e-15


def test_the_density_term_keeps_x_co2_continuous_where_co2_condenses():
    """Below 304 K the density of CO2 jumps about fourfold at the saturation pressure (6.4 MPa at 298 K);
    x_CO2 must not. A head whose density term weighs 1 (m gains about 1 across the jump if it read
    the raw density), pressures 1 kPa apart from 1 to 10 MPa: x never steps by more than 0.002."""
    head = IsothermHead((100.0, 1000.0, 10000.0), 0, 2, fugacity=True, supercritical_density=True)
    with torch.no_grad():
        head.bias.view(head.num_terms, 3)[-1, 0] = 0.0  # exp(0) = 1 on the density term
    pressure = torch.linspace(1000.0, 10000.0, 9001)
    zero = torch.zeros(len(pressure), head.encoding_dim)
    for temperature in (250.0, 273.15, 298.15):
        with torch.no_grad():
            x = head(zero, zero, torch.full((len(pressure),), temperature), pressure)[:, 0]
        assert (x[1:] - x[:-1]).max() < 0.002, f"x_co2 jumps at {temperature} K"
        assert (x[1:] >= x[:-1]).all()


@pytest.mark.parametrize(("fugacity", "density"), [(False, False), (True, False), (True, True)])
def test_the_low_pressure_limit_is_henrys_law_with_the_hand_written_constant(fugacity, density):
    """At 1 Pa CO2 is an ideal gas: f = P, and its density is P / (R T)."""
    head, cations, anions = _random_head(order=1, seed=1, fugacity=fugacity, density=density)
    with torch.no_grad():
        coef = head.coefficients(cations[:1], anions[:1])[0].numpy()  # [K, 2]
    temperature, pressure = 310.0, 1e-3  # kPa
    t = (1 / temperature - head.inv_t_mean.item()) / head.inv_t_std.item()
    weights = np.exp(coef[:, 0] + coef[:, 1] * t)
    # d m / d P at P = 0: 1/P_ref for the Henry term, 0 for the quadratic, 1/p_k for each Langmuir term
    slope = weights[0] / 1000.0 + sum(w / p for w, p in zip(weights[2:5], (100.0, 1000.0, 10000.0)))
    if density:  # rho / rho_c per kPa at 310 K (the floor): 1 / (8.314462618 J/(mol K) 310 K 10.6249 mol/L)
        slope += weights[5] / (8.314462618 * 310.0 * 10.6249)
    x = head(cations[:1], anions[:1], torch.tensor([temperature]), torch.tensor([pressure]))[0, 0].item()
    assert x == pytest.approx(slope * pressure / (1.0 + slope * pressure), rel=1e-3)  # x = m / (1 + m)


def test_a_fugacity_head_reads_the_fugacity_where_a_pressure_head_reads_the_pressure():
    by_fugacity, cations, anions = _random_head(2, seed=7, fugacity=True)
    by_pressure = _random_head(2, seed=7)[0]
    temperature, pressure = torch.tensor([250.0, 298.15, 313.15, 400.0]), torch.tensor([3000.0, 8000.0, 30000.0, 50000.0])
    fugacity = torch.tensor(co2_fugacity_kPa(temperature.double().numpy(), pressure.double().numpy(), np), dtype=torch.float32)
    with torch.no_grad():
        x = by_fugacity(cations[:4], anions[:4], temperature, pressure)
        assert torch.allclose(x, by_pressure(cations[:4], anions[:4], temperature, fugacity), rtol=1e-4)
        assert not torch.allclose(x, by_pressure(cations[:4], anions[:4], temperature, pressure), rtol=1e-2)


@pytest.mark.parametrize(("order", "fugacity", "density"), [(1, False, False), (2, False, False), (2, True, False), (2, True, True)])
def test_the_numpy_head_matches_torch_pair_by_pair_and_as_a_grid(order, fugacity, density):
    head, cations, anions = _random_head(order, seed=2, fugacity=fugacity, density=density)
    params = IsothermParameters.from_json(IsothermParameters.from_torch(head).to_json())  # as the ONNX metadata stores it
    assert params.supercritical_density == density and params.num_coefficients == head.num_coefficients
    # 298.15 K and 8 MPa: liquid CO2, where the density term reads the 310 K isotherm
    temperatures = np.array([250.0, 298.15, 320.0, 400.0], np.float32)
    pressures = np.array([5.0, 8000.0, 3000.0, 40000.0], np.float32)
    c, a = cations.numpy(), anions.numpy()
    grid = grid_coefficients(params, c, a)  # [C, A, K, order + 1]
    for i in range(len(c)):
        for j in range(len(a)):
            pair = pair_coefficients(params, c[i : i + 1], a[j : j + 1])[0]
            np.testing.assert_allclose(grid[i, j], pair, rtol=1e-5, atol=1e-5)
            with torch.no_grad():
                expected = head(cations[i].expand(4, -1), anions[j].expand(4, -1), torch.tensor(temperatures), torch.tensor(pressures))[:, 0]
            np.testing.assert_allclose(mole_fraction(params, pair, temperatures, pressures), expected.numpy(), rtol=1e-5, atol=1e-7)
    mean, std = screen_isotherms([params], c, a, temperatures, pressures)
    assert mean.shape == (5, 5, 4) and np.isnan(std).all()
    np.testing.assert_allclose(mean[1, 3], mole_fraction(params, pair_coefficients(params, c[1:2], a[3:4])[0], temperatures, pressures), rtol=1e-5)


def test_the_ensemble_screen_is_the_mean_and_std_over_members():
    (h1, c1, a1), (h2, c2, a2) = _random_head(1, seed=3), _random_head(1, seed=4)
    p1, p2 = IsothermParameters.from_torch(h1), IsothermParameters.from_torch(h2)
    cations, anions = np.hstack([c1.numpy(), c2.numpy()]), np.hstack([a1.numpy(), a2.numpy()])
    mean, std = screen_isotherms([p1, p2], cations, anions, [300.0], [1000.0])
    x1 = screen_isotherms([p1], c1.numpy(), a1.numpy(), [300.0], [1000.0])[0]
    x2 = screen_isotherms([p2], c2.numpy(), a2.numpy(), [300.0], [1000.0])[0]
    np.testing.assert_allclose(mean, (x1 + x2) / 2, rtol=1e-5)
    np.testing.assert_allclose(std, np.abs(x1 - x2) / np.sqrt(2), rtol=1e-4, atol=1e-7)


def test_conditions_sharing_a_temperature_score_as_if_screened_alone():
    (h1, c1, a1), (h2, c2, a2) = _random_head(1, seed=5), _random_head(1, seed=6)
    heads = [IsothermParameters.from_torch(h1), IsothermParameters.from_torch(h2)]
    cations, anions = np.hstack([c1.numpy(), c2.numpy()]), np.hstack([a1.numpy(), a2.numpy()])
    temperatures, pressures = [300.0, 350.0, 300.0, 300.0], [100.0, 1000.0, 5000.0, 100.0]
    mean, std = screen_isotherms(heads, cations, anions, temperatures, pressures)
    for n, (t, p) in enumerate(zip(temperatures, pressures)):
        alone_mean, alone_std = screen_isotherms(heads, cations, anions, [t], [p])
        np.testing.assert_allclose(mean[:, :, n], alone_mean[:, :, 0], rtol=1e-6)
        np.testing.assert_allclose(std[:, :, n], alone_std[:, :, 0], rtol=1e-5, atol=1e-8)
    assert not np.allclose(mean[:, :, 0], mean[:, :, 2])  # same temperature, other pressure: other values
