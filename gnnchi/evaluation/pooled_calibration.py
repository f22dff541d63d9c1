"""One calibration fitted on every fold's held-out errors, and its score on folds it never saw.

``fit`` calibrates a model's std on that fit's validation rows: under a polymer split, 4-5 polymers, so
the terms move from fold to fold (a floor of 0 in one fit, all weight on novelty in another).
``evaluate``'s ``predictions.csv`` holds, per test row, what a calibration is fitted on: the ensemble
mean, its spread (``gnnchi_<task>_spread``) and the novelty against that fold's training rows
(``gnnchi_novelty_<kind>``, :func:`~gnnchi.training.calibrate.novelty_kinds`). From them,
:func:`add_pooled`
- scores, per fold k, the std calibrated on the other folds' rows only (``<metric>_pooled``), and
- fits one calibration on the rows of every fold, which evaluate writes as the protocol's
  ``calibration.json`` (:func:`gnnchi.inference.calibration.write_pooled`); ``python -m gnnchi.release``
  gives it to the shipped model of the same recipe.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.errors import GnnChiError
from gnnchi.evaluation.metrics import regression_scores
from gnnchi.inference.calibration import TaskCalibration
from gnnchi.training.calibrate import HeldOutRows, fit_calibration, novelty_kinds


def novelty_columns(system) -> tuple[str, str]:
    """The predictions.csv columns of the two novelty terms."""
    return tuple(f"gnnchi_novelty_{kind}" for kind in novelty_kinds(system))


def held_out_of(predictions: pd.DataFrame, system, tasks: tuple[str, ...]) -> dict[int, dict[str, HeldOutRows]]:
    """Per fold, per task, evaluate's prediction rows as :class:`HeldOutRows`."""
    first, second = novelty_columns(system)
    missing = sorted({first, second} - set(predictions.columns))
    if missing:
        raise GnnChiError(f"the predictions lack {missing} (written by evaluate before pooled calibration): "
                          "run benchmarks/pooled_calibration.py on that run")  # fmt: skip

    def held(rows: pd.DataFrame, task: str) -> HeldOutRows:
        prediction = rows[f"gnnchi_{task}"].to_numpy(float)
        return HeldOutRows(error=prediction - rows[task].to_numpy(float), spread=rows[f"gnnchi_{task}_spread"].to_numpy(float),
                           novelty_first=rows[first].to_numpy(float), novelty_second=rows[second].to_numpy(float),
                           prediction=prediction)  # fmt: skip

    return {int(fold): {task: held(rows, task) for task in tasks} for fold, rows in predictions.groupby("fold", sort=True)}


def add_pooled(
    predictions: pd.DataFrame, fold_metrics: list[dict], system, tasks: tuple[str, ...]
) -> tuple[pd.DataFrame, dict[str, TaskCalibration]]:
    """The predictions with ``gnnchi_<task>_std_pooled`` (each fold's std calibrated on the other folds' rows;
    with one fold, none) and the folds' metrics (``fold_metrics``, updated in place) with its coverage and
    Spearman (``*_pooled``); and the calibration fitted on every fold's rows. Where the other folds have
    too few rows with a target to fit a calibration, the fold gets no pooled std (NaN) and no pooled scores."""
    held = held_out_of(predictions, system, tasks)
    pooled = fit_calibration({t: HeldOutRows.concat([rows[t] for rows in held.values()]) for t in tasks}, system)
    if len(held) < 2:
        return predictions, pooled
    predictions = predictions.copy()
    for fold, rows in held.items():
        others = {t: HeldOutRows.concat([r[t] for f, r in held.items() if f != fold]) for t in tasks}
        calibration = fit_calibration(others, system)  # never this fold's rows
        in_fold = (predictions["fold"] == fold).to_numpy()
        scores = next(m for m in fold_metrics if m["fold"] == fold)
        for task in tasks:
            if task not in calibration:
                predictions.loc[in_fold, f"gnnchi_{task}_std_pooled"] = np.nan
                continue
            r = rows[task]
            std = calibration[task].sigma(r.spread, r.novelty_first, r.novelty_second, r.prediction)
            predictions.loc[in_fold, f"gnnchi_{task}_std_pooled"] = std
            target = predictions.loc[in_fold, task].to_numpy(float)
            measured = regression_scores(target, r.prediction, np.asarray(std, float), task)
            scores.update({f"{k}_pooled": v for k, v in measured.items() if "sigma" in k or "spearman" in k})
    return predictions, pooled
