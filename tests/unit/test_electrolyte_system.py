"""The electrolyte system's mixture batches, mixture encoder and temperature readouts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from gnnchi.data.mixture_records import check_mixtures, normalize_mixture_columns, resolve_mixture_duplicates
from gnnchi.data.mixtures import MixtureDataset
from gnnchi.data.splits import split_indices
from gnnchi.datasets.electrolytes import infer_role
from gnnchi.errors import DataValidationError
from gnnchi.featurizers import ATOM_DIM, BOND_DIM
from gnnchi.models.electrolyte import ElectrolyteNet, mixture_encoding
from gnnchi.nn.conductivity import ConductivityHead
from gnnchi.systems import ELECTROLYTE

PEO, PPO = "*CCO*", "*CC(C)O*"
LITFSI = "[Li+].O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F"
LICLO4 = "[Li+].[O-][Cl+3]([O-])([O-])[O-]"
EC = "O=C1OCCO1"
R_KJ = 8.314462618e-3


def _table(rows: list[dict]) -> pd.DataFrame:
    """A user's table: component_i / fraction_i, temperature_C, mn_g_mol and the target where given."""
    return pd.DataFrame(rows)


def _records(rows: list[dict], require_target: bool = False):
    frame, unparsed = normalize_mixture_columns(_table(rows), "test")
    records, problems, warnings = check_mixtures(frame, require_target=require_target)
    assert not unparsed and not problems
    return records


def _net(readout: str = "arrhenius", seed: int = 0, pooling: str = "fraction") -> ElectrolyteNet:
    torch.manual_seed(seed)
    net = ElectrolyteNet(ATOM_DIM, BOND_DIM, hidden_dim=16, depth=2, ffn_hidden_dim=16, mixture_dim=8, readout=readout,
                         mixture_pooling=pooling)  # fmt: skip
    for parameter in net.head.mlp.parameters():  # larger than the initial weights, so the law varies per formulation
        torch.nn.init.normal_(parameter, std=0.5)
    return net.eval()


def _predict(net: ElectrolyteNet, records) -> np.ndarray:
    dataset = MixtureDataset(records, np.arange(len(records.table)))
    batch = dataset.collate(list(range(len(dataset))))
    with torch.no_grad():
        encoded = net.encode_components(*batch.graph, batch.num_compounds)
        return net.mixture_head(encoded[batch.components], batch.fractions, *batch.conditions)[:, 0].numpy()


def test_roles_are_inferred_from_the_smiles():
    assert [infer_role(s) for s in (PEO, LITFSI, "[Na+].[Cl-]", EC, "", None)] == [
        "polymer", "salt", "salt", "additive", "", ""
    ]  # fmt: skip


@pytest.mark.parametrize("pooling", ["fraction", "fraction_and_mean"])
def test_the_order_of_the_components_changes_nothing(pooling):
    mixture = [(PEO, 0.8), (LITFSI, 0.15), (EC, 0.05)]
    rows = []
    for order in ((0, 1, 2), (2, 0, 1), (1, 2, 0)):
        row = {"temperature_C": 60.0, "mn_g_mol": 1e5}
        for slot, i in enumerate(order, start=1):
            row |= {f"component_{slot}": mixture[i][0], f"fraction_{slot}": mixture[i][1]}
        rows.append(row)
    out = _predict(_net(pooling=pooling), _records(rows))
    assert np.ptp(out) < 1e-5, out
    other = _predict(_net(pooling=pooling), _records([{**rows[0], "fraction_1": 0.7, "fraction_2": 0.25}]))
    assert abs(other[0] - out[0]) > 1e-4  # the fractions do matter


@pytest.mark.parametrize("pooling", ["fraction", "fraction_and_mean"])
def test_a_component_with_zero_fraction_adds_nothing(pooling):
    base = {"component_1": PEO, "fraction_1": 0.9, "component_2": LITFSI, "fraction_2": 0.1, "temperature_C": 40.0,
            "mn_g_mol": 5e4}  # fmt: skip
    out = _predict(_net(pooling=pooling), _records([base, {**base, "component_3": EC, "fraction_3": 0.0}]))
    assert abs(out[0] - out[1]) < 1e-6


def test_the_mean_pooling_shows_each_component_at_full_scale():
    """[2 mixtures, 3 slots, M = 2] by hand: the weighted sum, then the plain mean of the slots with a fraction."""
    components = torch.tensor([[[1.0, 0.0], [0.0, 4.0], [9.0, 9.0]], [[2.0, 2.0], [0.0, 0.0], [5.0, 1.0]]])
    fractions = torch.tensor([[0.95, 0.05, 0.0], [0.5, 0.0, 0.5]])
    expected = torch.tensor([[0.95, 0.2, 0.5, 2.0], [3.5, 1.5, 3.5, 1.5]])
    torch.testing.assert_close(mixture_encoding(components, fractions, "fraction_and_mean"), expected)
    torch.testing.assert_close(mixture_encoding(components, fractions, "fraction"), expected[:, :2])


@pytest.mark.parametrize("readout", ["arrhenius", "vft"])
def test_the_readout_is_the_temperature_law_it_reports(readout):
    """log10 sigma at three temperatures, rebuilt by hand from the reported log10 A, Ea and T0."""
    temperatures = np.array([250.0, 300.0, 400.0])
    rows = [{"component_1": PEO, "fraction_1": 0.85, "component_2": LITFSI, "fraction_2": 0.15, "temperature_K": t,
             "mn_g_mol": 1e5} for t in temperatures]  # fmt: skip
    net, records = _net(readout), _records(rows)
    out = _predict(net, records)
    dataset = MixtureDataset(records, np.arange(3))
    batch = dataset.collate([0, 1, 2])
    with torch.no_grad():
        encoded = net.encode_components(*batch.graph, batch.num_compounds)[batch.components]
        log_a, ea, t0 = net.temperature_law(encoded, batch.fractions, batch.conditions[1])[0].tolist()
    assert ea > 0 and (t0 == 0.0 if readout == "arrhenius" else 0.0 < t0 < 180.0)
    by_hand = [log_a - ea / (R_KJ * math.log(10.0) * (t - t0)) for t in temperatures]
    np.testing.assert_allclose(out, by_hand, rtol=1e-5, atol=1e-5)
    assert np.all(np.diff(out) > 0)  # conductivity rises with temperature


def test_the_free_readout_reads_temperature_but_reports_no_law():
    head = ConductivityHead(mixture_dim=4, hidden_dim=8, readout="free")
    mixture = torch.randn(3, 4)
    law = head.temperature_law(mixture, torch.full((3,), 1e5))
    assert torch.isnan(law).all()
    out = head(mixture, torch.tensor([250.0, 300.0, 350.0]), torch.full((3,), 1e5))
    assert out.shape == (3, 1) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="readout must be one of"):
        ConductivityHead(mixture_dim=4, readout="arrhenius2")


def test_an_unknown_molecular_weight_is_a_flag_not_a_number():
    head = ConductivityHead(mixture_dim=2, hidden_dim=4)
    inputs = head._inputs(torch.zeros(3, 2), torch.tensor([float("nan"), 1e4, 1e5]))
    np.testing.assert_allclose(inputs[:, 2:].numpy(), [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]], atol=1e-6)  # log10 Mn 4, 5


def test_a_batch_encodes_each_compound_once_and_empty_slots_weigh_nothing():
    records = _records([
        {"component_1": PEO, "fraction_1": 0.9, "component_2": LITFSI, "fraction_2": 0.1, "temperature_C": 25},
        {"component_1": LICLO4, "fraction_1": 0.2, "component_2": PEO, "fraction_2": 0.8, "temperature_C": 25},
        {"component_1": PPO, "fraction_1": 1.0, "temperature_C": 25},
    ])  # fmt: skip
    batch = MixtureDataset(records, np.arange(3)).collate([0, 1, 2])
    assert batch.num_compounds == 4  # PEO once
    assert batch.components[0, 0] == batch.components[1, 1]
    np.testing.assert_allclose(batch.fractions.numpy(), [[0.9, 0.1, 0, 0], [0.2, 0.8, 0, 0], [1.0, 0, 0, 0]], atol=1e-7)


def test_user_tables_report_every_bad_cell_and_missing_columns():
    frame, unparsed = normalize_mixture_columns(
        _table([{"component_1": PEO, "fraction_1": "lots", "temperature_C": 25},
                {"component_1": PEO, "fraction_1": 1.0, "temperature_C": "warm"}]), "user.csv",
    )  # fmt: skip
    assert [(p.row, p.column, p.reason) for p in unparsed] == [(2, "fraction_1", "not a number"), (3, "temperature_C", "not a number")]
    with pytest.raises(DataValidationError, match="fraction_2"):
        normalize_mixture_columns(_table([{"component_1": PEO, "component_2": LITFSI, "fraction_1": 1.0, "temperature_K": 300}]), "u")
    with pytest.raises(DataValidationError, match="no component column"):
        normalize_mixture_columns(_table([{"smiles": PEO, "temperature_K": 300}]), "u")


def test_repeated_measurements_are_averaged_or_kept():
    row = {"component_1": PEO, "fraction_1": 0.9, "component_2": LITFSI, "fraction_2": 0.1, "temperature_K": 330,
           "mn_g_mol": 1e5}  # fmt: skip
    swapped = {"component_1": LITFSI, "fraction_1": 0.1, "component_2": PEO, "fraction_2": 0.9, "temperature_K": 330,
               "mn_g_mol": 1e5}  # fmt: skip
    records = _records([{**row, ELECTROLYTE.task_names[0]: -4.0}, {**swapped, ELECTROLYTE.task_names[0]: -5.0},
                        {**row, "temperature_K": 340, ELECTROLYTE.task_names[0]: -3.0}], require_target=True)  # fmt: skip
    averaged, repeated, conflicts = resolve_mixture_duplicates(records.table, "average")
    assert len(averaged) == 2 and conflicts == 1 and [p.row for p in repeated] == [3]
    assert averaged[ELECTROLYTE.task_names[0]].tolist() == [-4.5, -3.0]
    kept, _, _ = resolve_mixture_duplicates(records.table, "keep")
    assert len(kept) == 3


@pytest.fixture(scope="module")
def bundled():
    from gnnchi.data.mixtures import ElectrolyteDataModule

    module = ElectrolyteDataModule()
    return module.prepare_records()


@pytest.mark.parametrize(("split", "role"), [("polymer", "polymer"), ("salt", "salt")])
def test_no_polymer_or_salt_of_a_test_record_is_in_training(bundled, split, role):
    table = bundled.table

    def compounds(rows: np.ndarray) -> set[str]:
        part = table.iloc[rows]
        return {k for i in range(1, 5) for k, r in zip(part[f"component_{i}_group_key"], part[f"role_{i}"]) if r == role and k}

    for fold in range(5):
        parts = split_indices(table, split, fold, system=ELECTROLYTE)
        assert len(parts["test"]) > 0
        held_out = compounds(parts["test"])
        assert held_out and not held_out & compounds(np.concatenate([parts["train"], parts["val"]]))


def test_unseen_component_sets_are_never_in_training(bundled):
    table = bundled.table
    parts = split_indices(table, "component_set", 0, system=ELECTROLYTE)
    train, test = (set(table["component_set"].iloc[parts[p]]) for p in ("train", "test"))
    assert test and not train & test
