"""After ``fit``: the model's uncertainty, fitted on the validation rows and written into its file.

The training rows' molecules are the model's domain; each validation row's novelty is measured
against them, so validation groups (a polymer, under a polymer-grouped split) unseen in training
teach the calibration how error grows with novelty (:mod:`gnnchi.inference.calibration`).
"""

from __future__ import annotations

from pathlib import Path

from gnnchi.chem import make_mol
from gnnchi.inference.calibration import TaskCalibration, Uncertainty, fit_task, record
from gnnchi.inference.domain import Domain
from gnnchi.systems.chi import CHI, CHI_TASKS


def fit_uncertainty(model_file: Path, datamodule) -> Uncertainty:
    """The uncertainty of the fitted model in ``model_file`` (a checkpoint or an ensemble manifest),
    from the datamodule's training rows (domain) and validation rows (calibration)."""
    from gnnchi.inference.predictor import Predictor

    table = datamodule.records.table
    train, val = table.iloc[datamodule.indices["train"]], table.iloc[datamodule.indices["val"]]
    hp = datamodule.hparams
    kinds = [m.kind for m in CHI.molecules]
    domain = Domain.of({kind: [make_mol(s, kind, max_heavy_atoms=hp.max_heavy_atoms) for s in train[kind].unique()]
                        for kind in kinds})  # fmt: skip
    calibration: dict[str, TaskCalibration] = {}
    if len(val):
        predictor = Predictor(
            [model_file], temperature_range_K=tuple(hp.temperature_range_K), max_heavy_atoms=hp.max_heavy_atoms,
            calibrated=False,
        )  # fmt: skip
        predictor.domain = domain  # novelty against this fit's training rows
        out = predictor.predict(val["polymer"].tolist(), val["solvent"].tolist(), val["temperature_K"].to_numpy())
        novelty = {kind: predictor.novelty(val[kind].tolist(), kind) for kind in kinds}
        for task in CHI_TASKS:
            fitted = fit_task(
                out[task].to_numpy() - val[task].to_numpy(float), out[f"{task}_std"].to_numpy(),
                novelty["polymer"], novelty["solvent"],
            )  # fmt: skip
            if fitted is not None:
                calibration[task] = fitted
    return Uncertainty(calibration, domain)


def calibrate_fitted_model(model_file: Path, datamodule) -> Uncertainty:
    """Fit the uncertainty and write it into ``model_file`` (checkpoint or manifest); say what it is."""
    from gnnchi.models.checkpoint import write_uncertainty
    from gnnchi.models.ensemble import member_checkpoints, write_manifest

    uncertainty = fit_uncertainty(model_file, datamodule)
    if model_file.suffix == ".json":
        write_manifest(model_file, member_checkpoints([model_file]), record(uncertainty))
    else:
        write_uncertainty(model_file, record(uncertainty))
    return uncertainty


def describe(uncertainty: Uncertainty) -> str:
    """One line per calibrated task, for the fit summary."""
    if not uncertainty.calibration:
        return "uncertainty: not calibrated (too few validation rows with a chi target); std = spread over members"
    parts = [
        f"{task}: sigma^2 = ({c.a:.2f} spread)^2 + {c.b:.3f}^2 + ({c.c_polymer:.2f} novelty_polymer)^2 + "
        f"({c.c_solvent:.2f} novelty_solvent)^2, fitted on {c.rows} validation rows"
        for task, c in uncertainty.calibration.items()
    ]
    return "uncertainty: " + "; ".join(parts)
