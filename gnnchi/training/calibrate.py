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
from gnnchi.systems import ELECTROLYTE


def fit_uncertainty(model_file: Path, datamodule) -> Uncertainty:
    """The uncertainty of the fitted model in ``model_file`` (a checkpoint or an ensemble manifest),
    from the datamodule's training rows (domain) and validation rows (calibration): per regression
    task of its system, with the novelty of the system's first and second molecule."""
    from gnnchi.inference.systems import predict_table_rows, predictor_for_data

    system = datamodule.system
    if system.name == ELECTROLYTE.name:
        return _fit_mixture_uncertainty(model_file, datamodule)
    table = datamodule.records.table
    train, val = table.iloc[datamodule.indices["train"]], table.iloc[datamodule.indices["val"]]
    hp = datamodule.hparams
    molecules = [(m.column, m.kind) for m in system.molecules]
    domain = Domain.of({kind: [make_mol(s, kind, max_heavy_atoms=hp.max_heavy_atoms) for s in train[column].unique()]
                        for column, kind in molecules})  # fmt: skip
    calibration: dict[str, TaskCalibration] = {}
    if len(val):
        predictor = predictor_for_data([model_file], datamodule, calibrated=False)
        predictor.domain = domain  # novelty against this fit's training rows
        out = predict_table_rows(predictor, val, system)
        first, second = (predictor.novelty(val[column].tolist(), kind) for column, kind in molecules)
        for task in system.tasks_of_kind("regression"):
            prediction = out[task].to_numpy()
            fitted = fit_task(prediction - val[task].to_numpy(float), out[f"{task}_std"].to_numpy(), first, second,
                              prediction, relative=system.task(task).relative_uncertainty)  # fmt: skip
            if fitted is not None:
                calibration[task] = fitted
    return Uncertainty(calibration, domain)


def _fit_mixture_uncertainty(model_file: Path, datamodule) -> Uncertainty:
    """:func:`fit_uncertainty` for the electrolyte system: the novelty terms are those of each record's most
    novel polymer and salt (:func:`gnnchi.inference.electrolyte_predictor.assess_records`)."""
    from gnnchi.inference.electrolyte_predictor import (
        NOVELTY_ROLES,
        ElectrolytePredictor,
        assess_records,
        training_domain,
    )

    records, indices = datamodule.records, datamodule.indices
    domain = training_domain(records, indices["train"])
    calibration: dict[str, TaskCalibration] = {}
    if len(indices["val"]):
        predictor = ElectrolytePredictor(model_file, datamodule.hparams.max_heavy_atoms, calibrated=False)
        val = records.subset(indices["val"])
        out = predictor.predict_records(val)
        novelty = [assess_records(val, domain).novelty[role] for role in NOVELTY_ROLES]
        for task in datamodule.system.tasks_of_kind("regression"):
            prediction = out[task].to_numpy()
            fitted = fit_task(prediction - val.table[task].to_numpy(float), out[f"{task}_std"].to_numpy(), *novelty,
                              prediction, relative=datamodule.system.task(task).relative_uncertainty)  # fmt: skip
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
        return "uncertainty: not calibrated (too few validation rows with a target); std = spread over members"
    first, second = list(uncertainty.domain.kinds)[:2] if uncertainty.domain is not None else ("polymer", "solvent")
    parts = [
        f"{task}: sigma^2 = ({c.a:.2f} spread)^2 + {c.b:.3f}^2 + ({c.d:.2f} {task})^2 + ({c.c_polymer:.2f} novelty_{first})^2 + "
        f"({c.c_solvent:.2f} novelty_{second})^2, fitted on {c.rows} validation rows"
        for task, c in uncertainty.calibration.items()
    ]
    return "uncertainty: " + "; ".join(parts)
