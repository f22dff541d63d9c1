"""chemprop 2.3.1 (two SMILES columns, 1/T as a descriptor column) in its own virtualenv, because it
downgrades RDKit; trained per task on the fold's training rows, early-stopped on its validation rows."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.errors import GnnChiError
from gnnchi.evaluation.baselines.base import FoldContext, empty_predictions
from gnnchi.systems.chi import CLASS_TASK

CHEMPROP_VERSION = "2.3.1"


def chemprop(context: FoldContext) -> pd.DataFrame:
    if not context.chemprop_venv:
        raise GnnChiError("the chemprop baseline needs --chemprop_venv DIR (created there on first use)")
    return fit_chemprop(context.table, context.parts, context.chemprop_venv, seed=context.fold)


def chemprop_python(venv: str | Path) -> str:
    """The python of a virtualenv with chemprop 2.3.1, made on first use: chemprop downgrades
    rdkit, so it never shares gnnchi's environment; torch 2.13.0 goes first (the CPU wheel)."""
    python = Path(venv) / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"chemprop=={CHEMPROP_VERSION}"], check=True)
    return str(python)


def fit_chemprop(
    table: pd.DataFrame, parts: dict[str, np.ndarray], venv: str | Path, seed: int = 0, epochs: int = 50
) -> pd.DataFrame:
    """chemprop 2.3.1 trained per task (chi_exp regression, soluble classification) on the fold's
    train rows, early-stopped on its validation rows, predicting the test rows."""
    chemprop_cli = str(Path(chemprop_python(venv)).with_name("chemprop"))
    test = table.iloc[parts["test"]]
    out = empty_predictions(len(test))
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
