"""Baselines that ``evaluate`` scores on the same folds as gnnchi.

- ``cosmo_rs``: the COSMO-RS chi of the same pair at the same temperature, used as a prediction
  of experimental chi (where the data has one).
- ``random_forest``: scikit-learn forests on Morgan fingerprints of both molecules plus 1/T.
- ``descriptor_mlp``: the paper's encoder, RDKit descriptors into one MLP per molecule kind,
  feeding gnnchi's own head (Hansen-like z, chi = a + b/T) and multitask loss: the GNN's gain.
- ``chemprop``: chemprop 2.3.1 (two SMILES columns, 1/T as a descriptor column), run in its own
  virtualenv because it downgrades RDKit.

Each baseline takes the records table and the train/val/test row indices of one fold and returns
predictions for the test rows: columns ``chi_exp`` and ``p_soluble`` (NaN where it has none).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import make_mol
from gnnchi.data.records import CHI_TASKS, CLASS_TASK, TASKS

CHEMPROP_VERSION = "2.3.1"


def _empty(n: int) -> pd.DataFrame:
    return pd.DataFrame({"chi_exp": np.full(n, np.nan), "p_soluble": np.full(n, np.nan)})


def cosmo_rs(table: pd.DataFrame, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """chi_cosmo of the same pair (canonical keys) and temperature, wherever one exists in the data."""
    test = table.iloc[parts["test"]]
    cosmo = table.loc[table["chi_cosmo"].notna(), ["polymer_key", "solvent_key", "temperature_K", "chi_cosmo"]]
    cosmo = cosmo.assign(temperature_K=cosmo["temperature_K"].round(2))
    cosmo = cosmo.groupby(["polymer_key", "solvent_key", "temperature_K"], as_index=False)["chi_cosmo"].mean()
    keys = test[["polymer_key", "solvent_key"]].assign(temperature_K=test["temperature_K"].round(2))
    found = keys.merge(cosmo, how="left", on=["polymer_key", "solvent_key", "temperature_K"])
    out = _empty(len(test))
    out["chi_exp"] = found["chi_cosmo"].to_numpy()
    return out


def morgan_fingerprints(smiles: pd.Series, kind: str, bits: int = 2048) -> np.ndarray:
    """[len(smiles), bits] Morgan fingerprints (radius 2), each distinct SMILES computed once."""
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=bits)
    cache = {s: generator.GetFingerprintAsNumPy(make_mol(s, kind)).astype(np.uint8) for s in smiles.unique()}
    return np.stack([cache[s] for s in smiles])


def _fingerprint_features(rows: pd.DataFrame) -> np.ndarray:
    return np.hstack(
        [
            morgan_fingerprints(rows["polymer"], "polymer"),
            morgan_fingerprints(rows["solvent"], "solvent"),
            1000.0 / rows[["temperature_K"]].to_numpy(),
        ]
    )


def random_forest(table: pd.DataFrame, parts: dict[str, np.ndarray], seed: int = 0, trees: int = 300) -> pd.DataFrame:
    """Random forests (regression of chi_exp, classification of soluble) on fingerprints + 1/T,
    trained on the fold's training and validation rows."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    fit_rows = table.iloc[np.concatenate([parts["train"], parts["val"]])]
    test = table.iloc[parts["test"]]
    out = _empty(len(test))
    if not len(test):
        return out
    x_test = _fingerprint_features(test)
    chi_rows = fit_rows[fit_rows["chi_exp"].notna()]
    if len(chi_rows) >= 2:
        forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
        forest.fit(_fingerprint_features(chi_rows), chi_rows["chi_exp"])
        out["chi_exp"] = forest.predict(x_test)
    labelled = fit_rows[fit_rows[CLASS_TASK].notna()]
    if labelled[CLASS_TASK].nunique() == 2:
        forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1)
        forest.fit(_fingerprint_features(labelled), labelled[CLASS_TASK].astype(int))
        out["p_soluble"] = forest.predict_proba(x_test)[:, 1]
    return out


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


def descriptor_mlp(
    table: pd.DataFrame,
    parts: dict[str, np.ndarray],
    latent_dim: int = 16,
    hidden_dim: int = 256,
    task_weights: dict[str, float] | None = None,
    seed: int = 0,
    max_epochs: int = 300,
    patience: int = 30,
) -> pd.DataFrame:
    """The paper's descriptor encoders with gnnchi's head and loss, early-stopped on the fold's validation rows."""
    import torch
    from torch import nn

    from gnnchi.data.datamodule import scaler_statistics
    from gnnchi.nn import ChiHead
    from gnnchi.nn.heads import hansen_distance

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

    encoders = nn.ModuleDict({"polymer": mlp(), "solvent": mlp()})
    head = ChiHead(latent_dim, len(CHI_TASKS))
    stats = scaler_statistics(table.iloc[train])
    for name in ("inv_t_mean", "inv_t_std", "chi_mean", "chi_std"):
        getattr(head, name).copy_(torch.as_tensor(stats[name], dtype=torch.float32))
    weights = torch.tensor([float((task_weights or {}).get(t, 1.0)) for t in TASKS])

    def forward(rows: torch.Tensor) -> torch.Tensor:  # -> [R, 3]: logit, chi_exp, chi_cosmo
        p, s = encoders["polymer"](x["polymer"][rows]), encoders["solvent"](x["solvent"][rows])
        z = hansen_distance(p[:, :latent_dim], p[:, latent_dim:], s[:, :latent_dim], s[:, latent_dim:])
        logit, chi = head(z, temperature[rows])
        return torch.cat([logit[:, None], chi], dim=1)

    def loss(rows: torch.Tensor) -> torch.Tensor:
        out, y = forward(rows), targets[rows]
        total = out.new_zeros(())
        for j in range(len(TASKS)):
            mask = ~torch.isnan(y[:, j])
            if not mask.any():
                continue
            if j == 0:
                term = nn.functional.binary_cross_entropy_with_logits(out[mask, 0], y[mask, 0])
            else:
                term = nn.functional.mse_loss(out[mask, j] / head.chi_std[j - 1], y[mask, j] / head.chi_std[j - 1])
            total = total + weights[j] * term
        return total

    params = list(encoders.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-3, weight_decay=1e-4)
    train_rows, val_rows = torch.as_tensor(train), torch.as_tensor(parts["val"])
    best, best_state, waited = float("inf"), None, 0
    for _ in range(max_epochs):
        encoders.train()
        for batch in torch.randperm(len(train_rows)).split(128):
            optimizer.zero_grad()
            loss(train_rows[batch]).backward()
            optimizer.step()
        encoders.eval()
        with torch.no_grad():
            val = float(loss(val_rows)) if len(val_rows) else None
        if val is None:  # nothing to stop on: train every epoch and keep the last weights
            continue
        if val < best - 1e-4:
            best, waited = val, 0
            best_state = [p.detach().clone() for p in params]
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        for p, saved in zip(params, best_state):
            p.data.copy_(saved)
    with torch.no_grad():
        out = forward(torch.as_tensor(parts["test"])).numpy()
    return pd.DataFrame({"chi_exp": out[:, 1], "p_soluble": 1.0 / (1.0 + np.exp(-out[:, 0]))})


def chemprop_python(venv: str | Path) -> str:
    """The python of a virtualenv with chemprop 2.3.1, made on first use: chemprop downgrades
    rdkit, so it never shares gnnchi's environment; torch 2.13.0 goes first (the CPU wheel)."""
    python = Path(venv) / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"chemprop=={CHEMPROP_VERSION}"], check=True)
    return str(python)


def chemprop(
    table: pd.DataFrame, parts: dict[str, np.ndarray], venv: str | Path, seed: int = 0, epochs: int = 50
) -> pd.DataFrame:
    """chemprop 2.3.1 trained per task (chi_exp regression, soluble classification) on the fold's
    train rows, early-stopped on its validation rows, predicting the test rows."""
    chemprop_cli = str(Path(chemprop_python(venv)).with_name("chemprop"))
    test = table.iloc[parts["test"]]
    out = _empty(len(test))
    columns = ["polymer", "solvent", "inv_T"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        frame = table.assign(inv_T=1000.0 / table["temperature_K"])
        frame.iloc[parts["test"]][columns].to_csv(folder / "test.csv", index=False)
        for task, column, kind in (("chi_exp", "chi_exp", "regression"), (CLASS_TASK, "p_soluble", "classification")):
            split = pd.concat(
                [frame.iloc[parts["train"]].assign(split="train"), frame.iloc[parts["val"]].assign(split="val")]
            )
            split = split[split[task].notna()]
            if len(split) < 10 or (kind == "classification" and split[task].nunique() < 2):
                continue
            split[[*columns, task, "split"]].to_csv(folder / f"{task}.csv", index=False)
            common = ["-s", "polymer", "solvent", "--descriptors-columns", "inv_T", "-n", "0"]
            _run([chemprop_cli, "train", "--data-path", str(folder / f"{task}.csv"), *common, "--target-columns", task,
                  "--splits-column", "split", "-t", kind, "--epochs", str(epochs), "--pytorch-seed", str(seed),
                  "-o", str(folder / task)])  # fmt: skip
            model = next((folder / task).rglob("best*.pt"))
            _run([chemprop_cli, "predict", "--test-path", str(folder / "test.csv"), *common, "--model-paths", str(model),
                  "--preds-path", str(folder / f"{task}_preds.csv")])  # fmt: skip
            out[column] = pd.read_csv(folder / f"{task}_preds.csv")[task].to_numpy()
    return out


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:2])} failed:\n{done.stderr[-3000:]}")
