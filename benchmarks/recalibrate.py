"""Refit the calibrated std of an evaluate run's cached gnnchi models with the calibration code of this
checkout, and score it on each fold's test rows: measure a change to the calibration without retraining.

    python benchmarks/recalibrate.py --run results --protocol leave-polymer-out

For each fold, the fold's model (``<run>/models/<protocol>/gnnchi/fold_k``, as ``evaluate`` cached it) is
calibrated on that fold's validation rows exactly as ``fit`` does (:func:`gnnchi.training.calibrate.fit_uncertainty`,
the same data module and split as the run's config arguments give) and written beside the run's manifest as
``ensemble_recalibrated.json`` (the run's own files are left as they are); then the test rows are
predicted and scored like evaluate's ``gnnchi`` column (coverage within ±1σ and ±2σ, Spearman of |error|
with the std). Prints one row per fold and the means.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from gnnchi.data.splits import split_indices
from gnnchi.evaluation.fitting import predict_rows
from gnnchi.evaluation.metrics import score
from gnnchi.evaluation.protocols import ALL_PROTOCOLS, NUM_FOLDS, PROTOCOLS, SCORED
from gnnchi.inference.calibration import record
from gnnchi.models.ensemble import member_checkpoints, write_manifest
from gnnchi.training.calibrate import fit_uncertainty
from gnnchi.training.cli import run_lightning_cli

RECALIBRATED = "ensemble_recalibrated.json"


def fold_setup(run: Path, protocol: str, fold: int):
    """(the fold's cached ensemble manifest, its data module set up as the run's fit saw it, the table's
    rows of each part: train / val / test) of fold ``fold`` of an evaluate run."""
    spec = ALL_PROTOCOLS[protocol]  # any system's protocol
    folder = run / "models" / protocol / "gnnchi" / f"fold_{fold}"
    args = json.loads((folder / "evaluate_fit.json").read_text())["args"]
    config_args = args[: args.index("--data.split")]  # the run's --config and overrides, before evaluate's own
    fold_args = ["--data.split", spec.split, "--data.num_folds", str(NUM_FOLDS), "--data.test_fold", str(fold)]
    cli = run_lightning_cli([*config_args, *fold_args, "--trainer.logger", "false"], run=False)
    datamodule = cli.datamodule
    datamodule.setup("fit")
    table, hp = datamodule.records.table.reset_index(drop=True), datamodule.hparams
    parts = split_indices(table, spec.split, fold, NUM_FOLDS, hp.val_fraction, hp.seed, hp.val_seed, datamodule.system)
    return folder / "ensemble.json", datamodule, parts


def recalibrate_fold(run: Path, protocol: str, fold: int) -> dict:
    """Metrics of fold ``fold``'s test rows under the refitted calibration."""
    spec = PROTOCOLS[protocol]
    manifest, datamodule, parts = fold_setup(run, protocol, fold)
    uncertainty = fit_uncertainty(manifest, datamodule)
    recalibrated = write_manifest(manifest.parent / RECALIBRATED, member_checkpoints([manifest]), record(uncertainty))
    table, hp = datamodule.records.table.reset_index(drop=True), datamodule.hparams
    test = table.iloc[parts["test"]]
    metrics = score(test, predict_rows([recalibrated], test, hp, system=datamodule.system), SCORED[datamodule.system.name])
    c = uncertainty.calibration[spec.task]
    return {"fold": fold, **{k: v for k, v in metrics.items() if "sigma" in k or "spearman" in k},
            "a": c.a, "b": c.b, "c_polymer": c.c_polymer, "c_solvent": c.c_solvent, "d": c.d}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="an evaluate output folder (its models/ cache)")
    parser.add_argument("--protocol", default="leave-polymer-out", choices=sorted(PROTOCOLS))
    parser.add_argument("--folds", type=int, nargs="+", default=list(range(NUM_FOLDS)))
    args = parser.parse_args()
    table = pd.DataFrame([recalibrate_fold(args.run, args.protocol, fold) for fold in args.folds])
    print(table.round(4).to_string(index=False))
    print("mean:", table.drop(columns="fold").mean().round(4).to_dict())


if __name__ == "__main__":
    main()
