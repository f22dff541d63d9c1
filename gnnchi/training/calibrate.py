"""After ``fit``: the model's uncertainty, fitted on the validation rows and written into its file.

The training rows' molecules are the model's domain; each validation row's novelty is measured
against them, so validation groups (a polymer, under a polymer-grouped split) unseen in training
teach the calibration how error grows with novelty (:mod:`gnnchi.inference.calibration`).
``evaluate`` collects the same :class:`HeldOutRows` from each fold's test rows, to fit one calibration
on every fold's held-out errors (:mod:`gnnchi.evaluation.pooled_calibration`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from gnnchi.chem import make_mol
from gnnchi.errors import ModelFileError
from gnnchi.inference.calibration import TaskCalibration, Uncertainty, fit_task, record
from gnnchi.inference.domain import Domain
from gnnchi.systems import ELECTROLYTE


class HeldOutRows(NamedTuple):
    """What a task's calibration is fitted on, per held-out row [R]: the ensemble mean's error (NaN where
    the row has no target), the spread over members, the novelty of the molecules of :func:`novelty_kinds`
    (:class:`~gnnchi.inference.calibration.TaskCalibration`'s two novelty terms) and the mean."""

    error: np.ndarray
    spread: np.ndarray
    novelty_first: np.ndarray
    novelty_second: np.ndarray
    prediction: np.ndarray

    @classmethod
    def concat(cls, parts: list[HeldOutRows]) -> HeldOutRows:
        return cls(*(np.concatenate(columns) for columns in zip(*parts)))


def training_domain(datamodule, rows: np.ndarray) -> Domain:
    """The molecules of the records ``rows`` (positions), by kind: what a fit's novelty is measured against."""
    system = datamodule.system
    if system.name == ELECTROLYTE.name:
        from gnnchi.inference.electrolyte_predictor import training_domain as mixture_domain

        return mixture_domain(datamodule.records, rows)
    table, hp = datamodule.records.table.iloc[rows], datamodule.hparams
    return Domain.of({m.kind: [make_mol(s, m.kind, max_heavy_atoms=hp.max_heavy_atoms) for s in table[m.column].unique()]
                      for m in system.molecules})  # fmt: skip


def novelty_kinds(system) -> tuple[str, str]:
    """The molecule kinds of the calibration's two novelty terms: the system's first two molecules
    (chi: polymer, solvent; co2_il: cation, anion), for the electrolyte system the record's polymer and salt."""
    if system.name == ELECTROLYTE.name:
        from gnnchi.inference.electrolyte_predictor import NOVELTY_ROLES

        return NOVELTY_ROLES
    return tuple(m.kind for m in system.molecules[:2])


def row_novelty(datamodule, rows: np.ndarray, domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """[R] each: the novelty against ``domain`` of the records ``rows`` (positions) in :func:`novelty_kinds`."""
    system, hp = datamodule.system, datamodule.hparams
    if system.name == ELECTROLYTE.name:
        from gnnchi.inference.electrolyte_predictor import assess_records

        novelty = assess_records(datamodule.records.subset(rows), domain).novelty
        return tuple(novelty[kind] for kind in novelty_kinds(system))
    table, out = datamodule.records.table.iloc[rows], []
    for molecule in system.molecules[:2]:
        smiles = table[molecule.column].tolist()
        unique = list(dict.fromkeys(smiles))
        values, _ = domain.assess([make_mol(s, molecule.kind, max_heavy_atoms=hp.max_heavy_atoms) for s in unique],
                                  molecule.kind)  # fmt: skip
        of = dict(zip(unique, values))
        out.append(np.array([of[s] for s in smiles], float))
    return tuple(out)


def held_out_rows(models: list[Path], datamodule, rows: np.ndarray, domain: Domain) -> dict[str, HeldOutRows]:
    """Per regression task of the data module's system, the uncalibrated predictions of ``models`` (checkpoints
    or an ensemble manifest) for the records ``rows`` (positions), with their novelty against ``domain``."""
    system = datamodule.system
    if system.name == ELECTROLYTE.name:
        from gnnchi.inference.electrolyte_predictor import ElectrolytePredictor

        records = datamodule.records.subset(rows)
        predictor = ElectrolytePredictor(list(models), datamodule.hparams.max_heavy_atoms, calibrated=False)
        out, table = predictor.predict_records(records), records.table
    else:
        from gnnchi.inference.systems import predict_table_rows, predictor_for_data

        table = datamodule.records.table.iloc[rows]
        out = predict_table_rows(predictor_for_data(list(models), datamodule, calibrated=False), table, system)
    first, second = row_novelty(datamodule, rows, domain)
    return {
        task: HeldOutRows(out[task].to_numpy(float) - table[task].to_numpy(float), out[f"{task}_std"].to_numpy(float),
                          first, second, out[task].to_numpy(float))
        for task in system.tasks_of_kind("regression")
    }  # fmt: skip


def fit_calibration(rows: dict[str, HeldOutRows], system) -> dict[str, TaskCalibration]:
    """Per task, :func:`~gnnchi.inference.calibration.fit_task` on its held-out rows (a task with too few
    rows with a target is left out: it keeps its raw spread)."""
    calibration = {}
    for task, held in rows.items():
        declared = system.task(task)
        fitted = fit_task(held.error, held.spread, held.novelty_first, held.novelty_second, held.prediction,
                          value_term=declared.value_term, value_center=declared.value_center)  # fmt: skip
        if fitted is not None:
            calibration[task] = fitted
    return calibration


def fit_uncertainty(model_file: Path, datamodule) -> Uncertainty:
    """The uncertainty of the fitted model in ``model_file`` (a checkpoint or an ensemble manifest),
    from the datamodule's training rows (domain) and validation rows (calibration)."""
    indices = datamodule.indices
    domain = training_domain(datamodule, indices["train"])
    if not len(indices["val"]):
        return Uncertainty({}, domain)
    rows = held_out_rows([model_file], datamodule, indices["val"], domain)
    return Uncertainty(fit_calibration(rows, datamodule.system), domain)


def calibrate_fitted_model(model_file: Path, datamodule) -> Uncertainty:
    """Fit the uncertainty and write it into ``model_file`` (checkpoint or manifest)."""
    uncertainty = fit_uncertainty(model_file, datamodule)
    _write_uncertainty(model_file, uncertainty)
    return uncertainty


def adopt_calibration(model_file: Path, calibration_file: Path) -> tuple[dict[str, TaskCalibration], dict]:
    """Give the model in ``model_file`` (a checkpoint or an ensemble manifest) the calibration evaluate pooled
    over the folds of its recipe (``calibration_file``, :func:`~gnnchi.inference.calibration.write_pooled`) for
    the tasks it holds; the domain and other tasks' calibration stay. Refused: another system's calibration,
    or one measured with another number of members (the spread, and so the weight it gets, depends on it).
    Returns the calibration adopted and its source."""
    from gnnchi.evaluation.protocols import protocol_system
    from gnnchi.inference.calibration import from_record, read_pooled
    from gnnchi.models.checkpoint import read_checkpoint
    from gnnchi.models.ensemble import member_checkpoints, uncertainty_record_of

    if model_file.suffix not in (".ckpt", ".json"):
        raise ModelFileError(f"{model_file}: give the checkpoint or ensemble.json that fit wrote (then export it again)")
    calibration, source = read_pooled(calibration_file)
    if not calibration:
        raise ModelFileError(f"{calibration_file} calibrates no task (too few test rows with a target)")
    members = member_checkpoints([model_file])
    system = read_checkpoint(members[0])["gnnchi"].get("system")
    measured_on = protocol_system(source["protocol"]).name
    if measured_on != system:
        raise ModelFileError(f"{calibration_file} calibrates the {measured_on} system; {model_file} is a {system} model")
    if source["members"] != len(members):
        raise ModelFileError(f"{calibration_file} was measured with ensembles of {source['members']} members; "
                             f"{model_file} has {len(members)}")  # fmt: skip
    own = from_record(uncertainty_record_of([model_file]))
    if own is None:
        raise ModelFileError(f"{model_file} has no uncertainty record (fit writes one) to give a calibration to")
    _write_uncertainty(model_file, Uncertainty({**own.calibration, **calibration}, own.domain))
    return calibration, source


def describe_pooled(calibration: dict[str, TaskCalibration], source: dict, file: str | Path | None = None) -> str:
    """One line saying what a pooled calibration (:func:`adopt_calibration`'s, a card's) is and where it was fitted."""
    from gnnchi.evaluation.protocols import protocol_system

    fitted_on = f"test rows of {source['protocol']} folds {source['folds']}" + (f" ({file})" if file else "")
    return describe(Uncertainty(calibration, None), fitted_on, novelty_kinds(protocol_system(source["protocol"])))


def _write_uncertainty(model_file: Path, uncertainty: Uncertainty) -> None:
    from gnnchi.models.checkpoint import write_uncertainty
    from gnnchi.models.ensemble import member_checkpoints, write_manifest

    if model_file.suffix == ".json":
        write_manifest(model_file, member_checkpoints([model_file]), record(uncertainty))
    else:
        write_uncertainty(model_file, record(uncertainty))


def describe(uncertainty: Uncertainty, fitted_on: str = "validation rows", kinds: tuple[str, str] | None = None) -> str:
    """One line per calibrated task, for the fit summary; ``kinds``: the novelty terms' molecule kinds
    (default: the domain's first two)."""
    if not uncertainty.calibration:
        return "uncertainty: not calibrated (too few validation rows with a target); std = spread over members"
    first, second = kinds or list(uncertainty.domain.kinds)[:2]
    parts = [
        f"{task}: sigma^2 = ({c.a:.2f} spread)^2 + {c.b:.3f}^2 + ({c.d:.2f} ({task} {'+' if c.center < 0 else '-'} "
        f"{abs(c.center):.2f}))^2 + "
        f"({c.c_polymer:.2f} novelty_{first})^2 + ({c.c_solvent:.2f} novelty_{second})^2, "
        f"fitted on {c.rows} {fitted_on}"
        for task, c in uncertainty.calibration.items()
    ]
    return "uncertainty: " + "; ".join(parts)
