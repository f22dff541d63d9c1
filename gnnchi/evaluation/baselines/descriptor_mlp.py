"""The paper's descriptor encoders: RDKit descriptors into one MLP per molecule kind, in gnnchi's own
pair model (:class:`~gnnchi.models.HansenPairNet`: Hansen-like z, chi = a + b/T) with its own loss
and scalers. The gap to gnnchi is the gain of the graph encoders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.chem import make_mol
from gnnchi.evaluation.baselines.base import FoldContext
from gnnchi.systems.chi import CHI, CHI_TASKS, TASKS


def descriptor_mlp(context: FoldContext) -> pd.DataFrame:
    config = context.model_config
    return fit_descriptor_mlp(
        context.table, context.parts, latent_dim=config.latent_dim, task_weights=dict(config.task_weights or {}),
        seed=context.fold,
    )  # fmt: skip


def rdkit_descriptors(smiles: pd.Series, kind: str) -> np.ndarray:
    """[len(smiles), D] RDKit 2D descriptors; a repeat unit's `*` become hydrogens; non-finite -> 0."""
    from rdkit import Chem, rdBase
    from rdkit.Chem import Descriptors

    def describe(s: str) -> list[float]:
        mol = Chem.RWMol(make_mol(s, kind))
        for atom in mol.GetAtoms():
            if atom.GetAtomicNum() == 0:
                atom.SetAtomicNum(1)
        with rdBase.BlockLogs():
            mol = Chem.RemoveHs(mol.GetMol())
            return [float(v) for v in Descriptors.CalcMolDescriptors(mol).values()]

    cache = {s: describe(s) for s in smiles.unique()}
    values = np.array([cache[s] for s in smiles], dtype=np.float64)
    values[~np.isfinite(values)] = 0.0
    return np.clip(values, -1e6, 1e6)


def fit_descriptor_mlp(
    table: pd.DataFrame,
    parts: dict[str, np.ndarray],
    latent_dim: int = 16,
    hidden_dim: int = 256,
    task_weights: dict[str, float] | None = None,
    seed: int = 0,
    max_epochs: int = 300,
    patience: int = 30,
) -> pd.DataFrame:
    """Train on the fold's training rows, early-stopped on its validation rows; predict its test rows."""
    import torch
    from torch import nn

    from gnnchi.data.datamodule import scaler_statistics
    from gnnchi.models import HansenPairNet
    from gnnchi.nn import ChiHead, MaskedMultitaskLoss

    torch.manual_seed(seed)
    features = {kind: rdkit_descriptors(table[kind], kind) for kind in ("polymer", "solvent")}
    train = parts["train"]
    scale = {k: (v[train].mean(0), v[train].std(0) + 1e-6) for k, v in features.items()}
    x = {
        k: torch.tensor(((v - scale[k][0]) / scale[k][1]).clip(-10, 10), dtype=torch.float32)
        for k, v in features.items()
    }
    temperature = torch.tensor(table["temperature_K"].to_numpy(), dtype=torch.float32)
    targets = torch.tensor(table[list(TASKS)].to_numpy(np.float64), dtype=torch.float32)  # [N, 3]

    def mlp() -> nn.Module:
        dim = x["polymer"].shape[1]
        return nn.Sequential(nn.Linear(dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, hidden_dim), nn.ReLU(),
                             nn.Linear(hidden_dim, 2 * latent_dim))  # fmt: skip

    net = HansenPairNet(mlp(), mlp(), ChiHead(latent_dim, len(CHI_TASKS)))
    net.head.set_scalers(scaler_statistics(table.iloc[train]))
    weights = [float((task_weights or {}).get(t, 1.0)) for t in TASKS]
    criterion = MaskedMultitaskLoss([CHI.task(t).kind for t in TASKS], weights)

    def forward(rows: torch.Tensor) -> torch.Tensor:  # -> [R, 3]: logit, chi_exp, chi_cosmo
        polymer, solvent = net.encode_polymers(x["polymer"][rows]), net.encode_solvents(x["solvent"][rows])
        return net.pair_head(polymer, solvent, temperature[rows])

    def loss(rows: torch.Tensor) -> torch.Tensor:
        return criterion(forward(rows), targets[rows], net.head.output_scale())[0]

    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=1e-4)
    train_rows, val_rows = torch.as_tensor(train), torch.as_tensor(parts["val"])
    best, best_state, waited = float("inf"), None, 0
    for _ in range(max_epochs):
        net.train()
        for batch in torch.randperm(len(train_rows)).split(128):
            optimizer.zero_grad()
            loss(train_rows[batch]).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            val = float(loss(val_rows)) if len(val_rows) else None
        if val is None:  # nothing to stop on: train every epoch and keep the last weights
            continue
        if val < best - 1e-4:
            best, waited = val, 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    with torch.no_grad():
        out = forward(torch.as_tensor(parts["test"])).numpy()
    return pd.DataFrame({"chi_exp": out[:, 1], "p_soluble": 1.0 / (1.0 + np.exp(-out[:, 0]))})
