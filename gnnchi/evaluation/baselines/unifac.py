"""UNIFAC's estimate of chi (:mod:`gnnchi.unifac`), rescaled on the fold's non-test rows.

chi = a + b chi_UNIFAC(T), with a and b the least-squares line of the fold's non-test ``chi_exp`` rows
(training and validation, as the random forest) on their own estimate; P(soluble) is a logistic
regression of the non-test ``soluble`` labels on that chi. Test rows never enter a fit. UNIFAC needs
no data about the pair, so unlike Hansen's estimate it covers new polymers and new solvents: every
test row whose two molecules ugropy covers with groups that have parameters (NaN elsewhere, not scored).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.evaluation.baselines.base import FoldContext, empty_predictions, logistic_p_soluble
from gnnchi.systems.chi import CLASS_TASK
from gnnchi.unifac import unifac_chi

MIN_LINE_ROWS = 20  # non-test chi_exp rows with an estimate, to fit the line


def unifac(context: FoldContext) -> pd.DataFrame:
    return fit_unifac(context.table, context.parts)


def fit_unifac(table: pd.DataFrame, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """Predictions for the test rows of ``parts`` (reads their molecules and temperatures, never their targets)."""
    test = table.iloc[parts["test"]]
    out = empty_predictions(len(test))
    if not len(test):
        return out
    fit_rows = table.iloc[np.concatenate([parts["train"], parts["val"]])]
    estimate = _estimate(fit_rows)  # once for the line's rows and the labels' rows
    measured = fit_rows["chi_exp"].notna().to_numpy() & ~np.isnan(estimate)
    if measured.sum() < MIN_LINE_ROWS:
        return out
    slope, intercept = np.polyfit(estimate[measured], fit_rows["chi_exp"].to_numpy(float)[measured], 1)
    labelled = fit_rows[CLASS_TASK].notna().to_numpy()
    p_soluble = logistic_p_soluble(intercept + slope * estimate[labelled], fit_rows[CLASS_TASK].to_numpy(float)[labelled])
    out["chi_exp"] = intercept + slope * _estimate(test)
    out["p_soluble"] = p_soluble(out["chi_exp"].to_numpy())
    return out


def _estimate(rows: pd.DataFrame) -> np.ndarray:
    return unifac_chi(rows["polymer"].tolist(), rows["solvent"].tolist(), rows["temperature_K"].to_numpy(float))
