"""Choose settings on inner validation, never on test folds: fit each variant on the training part of
each outer fold of a split and score it on that fold's validation groups (grouped like the split),
at the epoch ``fit`` keeps (lowest ``val/loss``). Test rows are never scored.

    python benchmarks/inner_validation.py --output results/inner --split polymer --jobs 2 \\
        --variant "no_hansen=--model.hansen_weight 0 --data.hansen_molecules false" \\
        --variant "hansen_3=" --variant "hansen_10=--model.hansen_weight 10"

Each variant is ``name=extra fit arguments`` layered on ``--config`` (default configs/chi_mtl.yaml).
Prints one row per variant and fold and the means over folds; rerunning skips finished fits.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
from fit_command import fit_command  # benchmarks/

COLUMNS = {"val/loss": "val_loss", "val/r2_chi_exp": "r2_chi_exp", "val/mae_chi_exp": "mae_chi_exp",
           "val/auc_soluble": "auc_soluble", "val/r2_chi_cosmo": "r2_chi_cosmo"}  # fmt: skip


def fit(config: str, epochs: int, split: str, fold: int, extra: str, folder: Path) -> None:
    if (folder / "done").is_file():
        return
    for stale in ("log", "checkpoints"):  # an interrupted earlier fit's: best_epoch must read this fit's log only
        shutil.rmtree(folder / stale, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    logger = [
        "--trainer.logger",
        "lightning.pytorch.loggers.CSVLogger",
        "--trainer.logger.save_dir",
        str(folder / "log"),
    ]
    command = fit_command(config, epochs, folder / "checkpoints", logger,
                          f"--data.split {split} --data.test_fold {fold} {extra}")  # fmt: skip
    with open(folder / "log.txt", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=True)
    (folder / "done").write_text("")


def best_epoch(folder: Path) -> dict:
    """The validation metrics of the epoch with the lowest val/loss (chi's under short names, any other system's as logged)."""
    metrics = pd.read_csv(next((folder / "log").rglob("metrics.csv")))
    val = metrics.dropna(subset=["val/loss"])
    row = val.loc[val["val/loss"].idxmin()]
    named = {short: row[name] for name, short in COLUMNS.items() if name in val.columns}
    other = {
        name.removeprefix("val/"): row[name] for name in val.columns if name.startswith("val/") and name not in COLUMNS
    }
    return {"epoch": int(row["epoch"]), **named, **other}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--config", default="configs/chi_mtl.yaml")
    parser.add_argument("--split", default="polymer")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--variant", action="append", required=True, help="name=extra fit arguments")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    variants = dict(v.split("=", 1) for v in args.variant)
    runs = [(name, fold) for name in variants for fold in args.folds]

    def folder(name: str, fold: int) -> Path:
        return args.output / args.split / name / f"fold_{fold}"

    with ThreadPoolExecutor(args.jobs) as pool:
        list(
            pool.map(
                lambda run: fit(args.config, args.epochs, args.split, run[1], variants[run[0]], folder(*run)), runs
            )
        )
    table = pd.DataFrame([{"variant": name, "fold": fold, **best_epoch(folder(name, fold))} for name, fold in runs])
    print(table.round(4).to_string(index=False))
    means = table.drop(columns=["fold", "epoch"]).groupby("variant", sort=False).mean()
    print("\n| variant | " + " | ".join(means.columns) + " |\n|" + " --- |" * (len(means.columns) + 1))
    for name, row in means.iterrows():
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in row) + " |")


if __name__ == "__main__":
    main()
