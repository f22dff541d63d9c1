"""The auxiliary losses (Hansen parameters, activity coefficients): which molecules they train on,
their batches, their values, and their switches."""

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from gnnchi.data import ChiDataModule
from gnnchi.data.auxiliary import MoleculeTargetDataset, PairTargetDataset, hansen_molecules, idac_pairs
from gnnchi.datasets.hansen import HERE as HANSEN_FOLDER
from gnnchi.datasets.idac import HERE as IDAC_FOLDER
from gnnchi.models import ChiModule
from gnnchi.models.checkpoint import load_net
from tests.unit.test_datamodule import GOOD, write_csv

SMALL = {"latent_dim": 4, "hidden_dim": 16, "depth": 2, "ffn_hidden_dim": 16}


def stereo_free(smiles: str) -> str | None:
    """Canonical SMILES without stereo by RDKit alone (None for what it cannot parse)."""
    mol = Chem.MolFromSmiles(smiles) if isinstance(smiles, str) else None
    return Chem.MolToSmiles(mol, isomericSmiles=False) if mol is not None else None


def solvent_split(tmp_path, **kwargs) -> ChiDataModule:
    dm = ChiDataModule(data=write_csv(tmp_path / "pairs.csv", GOOD), split="solvent", num_folds=5, val_fraction=0.25,
                       batch_size=2, hansen_molecules=True, **kwargs)  # fmt: skip
    dm.setup("fit")
    return dm


def test_molecules_of_held_out_rows_are_not_trained_on(tmp_path):
    dm = solvent_split(tmp_path)
    table = dm.records.table
    solvents = {part: {stereo_free(s) for s in table.iloc[rows]["solvent"]} for part, rows in dm.indices.items()}
    held_out = (solvents["val"] | solvents["test"]) - solvents["train"]
    hansen = pd.read_csv(HANSEN_FOLDER / "hsp_compounds.csv")
    in_hansen = {stereo_free(s) for s in hansen["SMILES"]} - {None}
    assert held_out & in_hansen and solvents["train"] & in_hansen  # the check below has something to see
    molecules = hansen_molecules(dm.hparams.max_heavy_atoms)
    trained = {stereo_free(Chem.MolToSmiles(Chem.MolFromSmiles(k))) for k in molecules.group_keys[dm.hansen_rows()]}
    assert not trained & held_out
    assert solvents["train"] & in_hansen <= trained
    assert len(dm.hansen_rows()) == len(molecules.graphs) - len(held_out & in_hansen)


def test_an_epoch_goes_through_each_molecule_once_beside_every_pair_batch(tmp_path):
    dm = solvent_split(tmp_path)
    loader = dm.train_dataloader()
    steps = list(loader)
    pair_batches = -(-len(dm.indices["train"]) // 2)
    assert len(steps) == pair_batches
    seen = sum(batch["hansen"].targets.shape[0] for batch, _, _ in steps)
    assert seen == len(dm.hansen_rows())
    first = steps[0][0]["hansen"]
    assert first.graph[0].shape[0] == first.graph[3].shape[0] and first.targets.shape[1] == 3


@pytest.mark.parametrize("hansen_map", ["linear", "aligned"])
def test_hansen_loss_is_the_mean_squared_error_of_one_shared_map(tmp_path, hansen_map):
    torch.manual_seed(0)
    module = ChiModule(**SMALL, hansen_weight=1.0, hansen_map=hansen_map)
    molecules = hansen_molecules(250)
    rows = np.array([0, 5, 17, 400])
    dataset = MoleculeTargetDataset(molecules, rows)
    batch = dataset.collate(list(range(len(rows))))
    loss = float(module._hansen_loss(batch).detach())

    values = pd.read_csv(HANSEN_FOLDER / "hsp_compounds.csv")  # independent: the standardised file values
    keys = molecules.group_keys[rows]
    by_key = {
        stereo_free(s): (d, p, h) for s, d, p, h in zip(values["SMILES"], values["dD"], values["dP"], values["dH"])
    }
    raw = np.array([by_key[stereo_free(k)] for k in keys], dtype=float)
    target = (raw - molecules.values.mean(axis=0)) / molecules.values.std(axis=0)
    if hansen_map == "linear":
        weight, bias = module.hansen_head.weight.detach().numpy(), module.hansen_head.bias.detach().numpy()
    else:  # aligned: u's first three components are the standardised (dD, dP, dH)
        weight, bias = np.eye(3, SMALL["latent_dim"]), np.zeros(3)
        assert not hasattr(module, "hansen_head")
    errors = []
    for encoder in (module.net.polymer_encoder, module.net.solvent_encoder):
        for i, graph in enumerate(molecules.graphs[r] for r in rows):  # one molecule at a time
            tensors = [torch.from_numpy(a) for a in (graph.x, graph.edge_index, graph.edge_attr)]
            u = encoder(*tensors, torch.zeros(graph.x.shape[0], dtype=torch.long), 1)[0, : SMALL["latent_dim"]]
            errors.append((weight @ u.detach().numpy() + bias - target[i]) ** 2)
    assert loss == pytest.approx(float(np.mean(errors)), rel=1e-5)


def test_pairs_with_a_held_out_molecule_are_not_trained_on(tmp_path):
    dm = solvent_split(tmp_path, idac_pairs_per_batch=8)
    table = dm.records.table
    solvents = {part: {stereo_free(s) for s in table.iloc[rows]["solvent"]} for part, rows in dm.indices.items()}
    held_out = (solvents["val"] | solvents["test"]) - solvents["train"]
    raw = pd.read_csv(IDAC_FOLDER / "brouwer_2021_idac.csv")
    excluded = set(pd.read_csv(IDAC_FOLDER / "excluded_rows.csv")["row"])
    both = [
        (stereo_free(a), stereo_free(b))
        for line, a, b in zip(range(2, len(raw) + 2), raw["Solute_SMILES"], raw["Solvent_SMILES"])
        if line not in excluded
    ]
    assert sum(1 for pair in both if set(pair) & held_out) > 100  # the check below has something to see
    pairs = idac_pairs(dm.hparams.max_heavy_atoms)
    trained = [
        (stereo_free(pairs.solute_group_keys[pairs.solute[r]]), stereo_free(pairs.solvent_group_keys[pairs.solvent[r]]))
        for r in dm.idac_rows()
    ]
    assert sorted(trained) == sorted(pair for pair in both if not set(pair) & held_out)


def test_each_step_draws_the_asked_number_of_activity_pairs(tmp_path):
    dm = solvent_split(tmp_path, idac_pairs_per_batch=8)
    steps = list(dm.train_dataloader())
    assert len(steps) == -(-len(dm.indices["train"]) // 2)
    assert all(batch["idac"].targets.shape == (8,) for batch, _, _ in steps)


def test_activity_loss_is_the_mean_squared_error_of_a_plus_b_over_t():
    torch.manual_seed(0)
    module = ChiModule(**SMALL, idac_weight=1.0)
    pairs = idac_pairs(250)
    rows = np.array([0, 1, 2, 500, 9000, 20000])  # 0-2: one solute in one solvent at three temperatures
    batch = PairTargetDataset(pairs, rows).collate(list(range(len(rows))))
    loss = float(module._idac_loss(batch).detach())

    raw = pd.read_csv(IDAC_FOLDER / "brouwer_2021_idac.csv")  # independent: the file's own values
    excluded = pd.read_csv(IDAC_FOLDER / "excluded_rows.csv")["row"]
    raw = raw.drop(index=excluded - 2).reset_index(drop=True)
    values = raw["log-gamma"].to_numpy()
    inverse = 1.0 / (raw["T"].to_numpy() + 273.15)
    weight, bias = module.idac_head.weight.detach().numpy(), module.idac_head.bias.detach().numpy()
    k = SMALL["latent_dim"]

    def encode(encoder, graph):
        tensors = [torch.from_numpy(a) for a in (graph.x, graph.edge_index, graph.edge_attr)]
        return encoder(*tensors, torch.zeros(graph.x.shape[0], dtype=torch.long), 1)[0].detach().numpy()

    errors = []
    for r in rows:
        p = encode(module.net.polymer_encoder, pairs.solute_graphs[pairs.solute[r]])
        s = encode(module.net.solvent_encoder, pairs.solvent_graphs[pairs.solvent[r]])
        z = (p[:k] - s[:k]) ** 2 - p[k:] ** 2 - s[k:] ** 2
        a, b = weight @ z + bias
        t = (inverse[r] - inverse.mean()) / inverse.std()
        errors.append((a + b * t - (values[r] - values.mean()) / values.std()) ** 2)
    assert loss == pytest.approx(float(np.mean(errors)), rel=1e-4)


@pytest.mark.parametrize(
    "model, data",
    [({"hansen_weight": 1.0}, {}), ({}, {"hansen_molecules": True}), ({"idac_weight": 1.0}, {}),
     ({}, {"idac_pairs_per_batch": 4})],
)  # fmt: skip
def test_weight_and_data_of_an_auxiliary_loss_must_agree(tmp_path, model, data):
    dm = ChiDataModule(data=write_csv(tmp_path / "pairs.csv", GOOD), split="pair", batch_size=4, **data)
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    with pytest.raises(ValueError, match="an auxiliary loss needs both"):
        trainer.fit(ChiModule(**SMALL, **model), datamodule=dm)


def test_training_moves_the_maps_and_the_exported_net_has_no_part_of_them(tmp_path):
    torch.manual_seed(0)
    dm = solvent_split(tmp_path, idac_pairs_per_batch=8)
    module = ChiModule(**SMALL, hansen_weight=1.0, idac_weight=1.0)
    before = {name: getattr(module, name).weight.detach().clone() for name in ("hansen_head", "idac_head")}
    trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.fit(module, datamodule=dm)
    for name, weight in before.items():
        assert not torch.equal(weight, getattr(module, name).weight.detach()), name
    assert {"train/loss_hansen", "train/loss_idac"} <= set(trainer.logged_metrics)
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    net = load_net(path)
    assert not [name for name in net.state_dict() if "hansen_head" in name or "idac" in name]
    assert torch.equal(net.state_dict()["head.linear.weight"], module.net.head.linear.weight.detach())
