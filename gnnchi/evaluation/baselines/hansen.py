"""The classical Hansen/Hildebrand estimate of chi from Hansen solubility parameters (HSP).

chi = 0.34 + V_s / (R T) * ((dD_p - dD_s)^2 + 0.25 (dP_p - dP_s)^2 + 0.25 (dH_p - dH_s)^2)

with the solvent's molar volume V_s in cm3/mol and the parameters in MPa^0.5, so the bracket is in
MPa = J/cm3 and V_s times it in J/mol; R = 8.314 J/(mol K). The bracket is Ra^2 / 4, Hansen's
distance Ra^2 = 4 dD^2 + dP^2 + dH^2; 0.34 is the usual entropic term.

Solvents take their HSP from the bundled Hansen table (:func:`gnnchi.datasets.load_hansen`, keyed
by canonical SMILES). The table holds no polymer, so a polymer's (dD, dP, dH) are fitted, by least
squares of this formula against chi, on the fold's non-test ``chi_exp`` rows of that polymer
(training and validation rows, as the random forest) whose solvent has HSP. A polymer needs
:data:`MIN_SOLVENTS` such solvents. Test rows never enter the fit. So the baseline covers a test row
when its solvent is in the table and its polymer was fitted: polymers seen outside the test fold
(``seed-folds``, ``leave-solvent-out``), never ``leave-polymer-out``. Other rows get NaN and are not
scored, as ``cosmo_rs``. Polymer keys are never looked up in the table: a repeat unit's key is the
SMILES of its cyclic trimer, which can name a small molecule of the table (polyethylene's is
cyclohexane's, polyoxymethylene's is 1,3,5-trioxane's).

P(soluble) = sigmoid(a + b chi), a logistic regression of the fold's non-test ``soluble`` labels on
this chi (where it is predicted). The classical criterion chi < 0.5 ranks the same (AUC alike) but
puts the threshold in the wrong place for this estimate: on the covered test rows of ``seed-folds``
the median estimate of soluble pairs is 0.64, and sigmoid((0.5 - chi) / 0.1) scored accuracy 0.50
and Brier 0.44 (AUC 0.90). Hansen's RED = Ra/R0 would need each polymer's interaction radius R0,
which the data does not give.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from gnnchi.evaluation.baselines.base import FoldContext, empty_predictions, logistic_p_soluble
from gnnchi.physics import ENTROPIC_CHI
from gnnchi.systems.chi import CLASS_TASK

GAS_CONSTANT = 8.314  # J/(mol K)
HSP = ("dD", "dP", "dH")
MIN_SOLVENTS = 4  # distinct solvents with HSP: three distances fix a point only up to a mirror image, four fix it
# the fitted (dD, dP, dH) stay within the span of the Hansen table (dD 10.6-22.0, dP 0-27.6, dH 0-42.7)
BOUNDS = (np.array([10.0, 0.0, 0.0]), np.array([25.0, 30.0, 45.0]))


def hansen(context: FoldContext) -> pd.DataFrame:
    return fit_hansen(context.table, context.parts)


def hansen_chi(polymer_hsp: np.ndarray, solvent_hsp: np.ndarray, molar_volume, temperature_K) -> np.ndarray:
    """chi of each pair: ``*_hsp`` [n, 3] (dD, dP, dH in MPa^0.5), the solvent's molar volume
    (cm3/mol) and the temperature (K), each [n] or a scalar."""
    d = np.asarray(polymer_hsp, float) - np.asarray(solvent_hsp, float)
    bracket = d[..., 0] ** 2 + 0.25 * d[..., 1] ** 2 + 0.25 * d[..., 2] ** 2  # MPa = J/cm3
    return ENTROPIC_CHI + np.asarray(molar_volume, float) * bracket / (GAS_CONSTANT * np.asarray(temperature_K, float))


@lru_cache(maxsize=1)
def _bundled_table() -> pd.DataFrame:
    from gnnchi.datasets.hansen import load_hansen

    return load_hansen().table


def solvent_parameters(keys: pd.Series, table: pd.DataFrame | None = None) -> pd.DataFrame:
    """dD, dP, dH, molar_volume of each solvent key (NaN where the Hansen table lacks it)."""
    table = _bundled_table() if table is None else table
    return table[[*HSP, "molar_volume"]].reindex(keys.to_numpy()).reset_index(drop=True)


def fit_polymer_parameters(rows: pd.DataFrame, min_solvents: int = MIN_SOLVENTS) -> np.ndarray | None:
    """(dD, dP, dH) of one polymer by least squares of :func:`hansen_chi` against ``chi_exp`` on
    ``rows`` (columns solvent_key, its dD, dP, dH and molar_volume, temperature_K, chi_exp), or None with
    fewer than ``min_solvents`` distinct solvents. Started from each of its five best solvents'
    parameters (the lowest mean chi) and their mean; the lowest cost wins, so the fit is deterministic."""
    from scipy.optimize import least_squares

    solvents = rows.groupby("solvent_key", sort=True).agg(**{c: (c, "first") for c in HSP}, chi=("chi_exp", "mean"))
    solvents = solvents.sort_values("chi", kind="stable")
    if len(solvents) < min_solvents:
        return None
    x = rows[list(HSP)].to_numpy(float)
    volume, temperature, chi = (rows[c].to_numpy(float) for c in ("molar_volume", "temperature_K", "chi_exp"))
    best = solvents[list(HSP)].to_numpy(float)[:5]
    starts = np.vstack([best, best.mean(0, keepdims=True)]).clip(*BOUNDS)

    def residuals(theta: np.ndarray) -> np.ndarray:
        return hansen_chi(np.broadcast_to(theta, x.shape), x, volume, temperature) - chi

    fits = [least_squares(residuals, start, bounds=BOUNDS, method="trf") for start in starts]
    return min(fits, key=lambda f: f.cost).x


def fit_hansen(
    table: pd.DataFrame, parts: dict[str, np.ndarray], hsp: pd.DataFrame | None = None,
    min_solvents: int = MIN_SOLVENTS,
) -> pd.DataFrame:  # fmt: skip
    """Predictions for the test rows of ``parts``: chi_exp where the solvent has HSP in ``hsp``
    (default: the bundled table) and the polymer's were fitted on the non-test rows, p_soluble where
    chi_exp is and the non-test labels allow the calibration; NaN elsewhere. Reads only the keys and
    temperatures of the test rows, never their targets."""
    test = table.iloc[parts["test"]]
    out = empty_predictions(len(test))
    if not len(test):
        return out
    fit_rows = table.iloc[np.concatenate([parts["train"], parts["val"]])]
    polymers = fit_polymers(fit_rows, hsp, min_solvents)
    chi = predict_chi(test, polymers, hsp)
    out["chi_exp"] = chi
    out["p_soluble"] = calibrate_p_soluble(fit_rows, polymers, hsp)(chi)
    return out


def fit_polymers(rows: pd.DataFrame, hsp: pd.DataFrame | None = None, min_solvents: int = MIN_SOLVENTS) -> dict:
    """polymer key -> fitted (dD, dP, dH), from the ``chi_exp`` rows of ``rows`` whose solvent has HSP."""
    rows = rows.loc[rows["chi_exp"].notna(), ["polymer_key", "solvent_key", "temperature_K", "chi_exp"]]
    rows = pd.concat([rows.reset_index(drop=True), solvent_parameters(rows["solvent_key"], hsp)], axis=1)
    rows = rows.dropna(subset=[*HSP, "molar_volume"])
    polymers = {}
    for key, group in rows.groupby("polymer_key", sort=True):
        theta = fit_polymer_parameters(group, min_solvents)
        if theta is not None:
            polymers[key] = theta
    return polymers


def predict_chi(rows: pd.DataFrame, polymers: dict, hsp: pd.DataFrame | None = None) -> np.ndarray:
    """:func:`hansen_chi` of each row (its keys and temperature; no target read), NaN where the
    polymer was not fitted or the solvent has no HSP."""
    theta = np.array([polymers.get(k, (np.nan,) * 3) for k in rows["polymer_key"]], float).reshape(-1, 3)
    solvent = solvent_parameters(rows["solvent_key"], hsp)
    return hansen_chi(theta, solvent[list(HSP)].to_numpy(float), solvent["molar_volume"].to_numpy(float),
                      rows["temperature_K"].to_numpy(float))  # fmt: skip


def calibrate_p_soluble(rows: pd.DataFrame, polymers: dict, hsp: pd.DataFrame | None = None):
    """chi -> P(soluble): a logistic regression on chi fitted to the ``soluble`` labels of ``rows``
    (the non-test rows) where chi is predicted (:func:`~gnnchi.evaluation.baselines.base.logistic_p_soluble`)."""
    labelled = rows[rows[CLASS_TASK].notna()]
    return logistic_p_soluble(predict_chi(labelled, polymers, hsp), labelled[CLASS_TASK].to_numpy(float))
