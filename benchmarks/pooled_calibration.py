"""Pooled calibration of an evaluate run made before ``predictions.csv`` held novelty: measure it without retraining.

    python benchmarks/pooled_calibration.py --run results --protocol leave-polymer-out [--write]

Adds to the run's predictions the novelty of each test row against its fold's training rows (the same
split as the run's config arguments give, :func:`gnnchi.training.calibrate.row_novelty`), then does what
``evaluate`` now does (:func:`gnnchi.evaluation.pooled_calibration.add_pooled`): scores each fold's std
calibrated on the other folds' test rows only, beside the run's own std (calibrated by fit on the fold's
validation rows) and the raw spread, and fits the calibration on every fold's rows. ``--write`` writes it as
the protocol folder's ``calibration.json`` (what ``python -m gnnchi.release`` reads).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from gnnchi.data.splits import split_indices
from gnnchi.evaluation.pooled_calibration import add_pooled, novelty_columns
from gnnchi.evaluation.protocols import ALL_PROTOCOLS, NUM_FOLDS, SCORED
from gnnchi.evaluation.run import write_calibration
from gnnchi.inference.calibration import POOLED_FILE
from gnnchi.training.calibrate import row_novelty, training_domain
from gnnchi.training.cli import run_lightning_cli

LABELS = {"within_1sigma": "±1σ", "within_2sigma": "±2σ", "spearman_abs_error_std": "rho"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="an evaluate output folder")
    parser.add_argument("--protocol", default="leave-polymer-out", choices=sorted(ALL_PROTOCOLS))
    parser.add_argument("--write", action="store_true", help=f"write <run>/<protocol>/{POOLED_FILE}")
    args = parser.parse_args()
    folder = args.run / args.protocol
    result = json.loads((folder / "metrics.json").read_text())
    predictions = pd.read_csv(folder / "predictions.csv")
    spec = ALL_PROTOCOLS[args.protocol]
    split_args = ["--data.split", spec.split, "--data.num_folds", str(NUM_FOLDS)]
    datamodule = run_lightning_cli([*result["config_args"], *split_args, "--trainer.logger", "false"], run=False).datamodule
    table, hp, system = datamodule.prepare_records().table.reset_index(drop=True), datamodule.hparams, datamodule.system
    columns = novelty_columns(system)
    for fold in sorted(predictions["fold"].unique()):
        parts = split_indices(table, spec.split, int(fold), NUM_FOLDS, hp.val_fraction, hp.seed, hp.val_seed, system)
        in_fold = (predictions["fold"] == fold).to_numpy()
        if not (predictions.loc[in_fold, "row"].to_numpy() == table["row"].iloc[parts["test"]].to_numpy()).all():
            raise SystemExit(f"fold {fold}: the run's test rows are not this split's; run it from the run's checkout")
        novelty = row_novelty(datamodule, parts["test"], training_domain(datamodule, parts["train"]))
        for column, values in zip(columns, novelty):
            predictions.loc[in_fold, column] = values
    folds = [{"fold": f["fold"]} for f in result["folds"]]
    _, calibration = add_pooled(predictions, folds, system, SCORED[system.name].regression)
    rows = []
    for fold, own in zip(folds, result["folds"]):
        row = {"fold": fold["fold"]}
        for kind, suffix in (("fit", ""), ("spread", "_spread"), ("pooled", "_pooled")):
            source = fold if kind == "pooled" else own
            for task in SCORED[system.name].regression:
                for metric, label in LABELS.items():
                    row[f"{task} {kind} {label}"] = source.get(f"{metric}_{task}{suffix}")
        rows.append(row)
    table_out = pd.DataFrame(rows)
    print(table_out.round(3).to_string(index=False))
    print("mean:", table_out.drop(columns="fold").mean().round(3).to_dict())
    print("pooled calibration on every fold:", {t: c._asdict() for t, c in calibration.items()})
    if args.write:
        print(f"wrote {write_calibration(result, calibration, folder)}")


if __name__ == "__main__":
    main()
