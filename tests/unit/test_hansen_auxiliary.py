"""The auxiliary Hansen loss: which molecules it trains on, its batches, its value, and its switches."""

import lightning as L
import numpy as np
import pandas as pd
import pytest
import torch
from rdkit import Chem

from gnnchi.data import ChiDataModule
from gnnchi.data.auxiliary import MoleculeTargetDataset, hansen_molecules
from gnnchi.datasets.hansen import HERE as HANSEN_FOLDER
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


def test_hansen_loss_is_the_mean_squared_error_of_one_shared_map(tmp_path):
    torch.manual_seed(0)
    module = ChiModule(**SMALL, hansen_weight=1.0)
    molecules = hansen_molecules(250)
    rows = np.array([0, 5, 17, 400])
    dataset = MoleculeTargetDataset(molecules, rows)
    batch = dataset.collate(list(range(len(rows))))
    loss = float(module._hansen_loss(batch))

    values = pd.read_csv(HANSEN_FOLDER / "hsp_compounds.csv")  # independent: the standardised file values
    keys = molecules.group_keys[rows]
    by_key = {
        stereo_free(s): (d, p, h) for s, d, p, h in zip(values["SMILES"], values["dD"], values["dP"], values["dH"])
    }
    raw = np.array([by_key[stereo_free(k)] for k in keys], dtype=float)
    target = (raw - molecules.values.mean(axis=0)) / molecules.values.std(axis=0)
    weight, bias = module.hansen_head.weight.detach().numpy(), module.hansen_head.bias.detach().numpy()
    errors = []
    for encoder in (module.net.polymer_encoder, module.net.solvent_encoder):
        for i, graph in enumerate(molecules.graphs[r] for r in rows):  # one molecule at a time
            tensors = [torch.from_numpy(a) for a in (graph.x, graph.edge_index, graph.edge_attr)]
            u = encoder(*tensors, torch.zeros(graph.x.shape[0], dtype=torch.long), 1)[0, : SMALL["latent_dim"]]
            errors.append((weight @ u.detach().numpy() + bias - target[i]) ** 2)
    assert loss == pytest.approx(float(np.mean(errors)), rel=1e-5)


@pytest.mark.parametrize("weight, molecules", [(1.0, False), (0.0, True)])
def test_the_two_switches_must_agree(tmp_path, weight, molecules):
    dm = ChiDataModule(
        data=write_csv(tmp_path / "pairs.csv", GOOD), split="pair", batch_size=4, hansen_molecules=molecules
    )
    trainer = L.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
    with pytest.raises(ValueError, match="hansen_molecules"):
        trainer.fit(ChiModule(**SMALL, hansen_weight=weight), datamodule=dm)


def test_training_moves_the_map_and_the_exported_net_has_no_part_of_it(tmp_path):
    torch.manual_seed(0)
    dm = solvent_split(tmp_path)
    module = ChiModule(**SMALL, hansen_weight=1.0)
    before = module.hansen_head.weight.detach().clone()
    trainer = L.Trainer(max_epochs=1, logger=False, enable_progress_bar=False, default_root_dir=tmp_path)
    trainer.fit(module, datamodule=dm)
    assert not torch.equal(before, module.hansen_head.weight.detach())
    path = tmp_path / "model.ckpt"
    trainer.save_checkpoint(path)
    net = load_net(path)
    assert not [name for name in net.state_dict() if "hansen" in name]
    assert torch.equal(net.state_dict()["head.linear.weight"], module.net.head.linear.weight.detach())
