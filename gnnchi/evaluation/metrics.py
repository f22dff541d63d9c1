"""Scores of predictions on test rows (accuracy, calibration of the ensemble's std) and their summary over folds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gnnchi.systems.chi import CLASS_TASK

HEADLINE = ("r2_chi_exp", "mae_chi_exp", "rmse_chi_exp", "auc_soluble", "accuracy_soluble")
GAUSS_WITHIN = {1: 0.6827, 2: 0.9545}


def score(test: pd.DataFrame, pred: pd.DataFrame) -> dict[str, float]:
    """Metrics of predictions ``pred`` (columns chi_exp, p_soluble, optional *_std) on the rows ``test``.

    chi_exp: r2, mae, rmse, n; with a std: the fraction within +-1 and +-2 sigma and the Spearman
    correlation of |error| with sigma. soluble: auc, accuracy (at 0.5), brier, n.
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import accuracy_score, brier_score_loss, mean_absolute_error, r2_score, roc_auc_score

    out: dict[str, float] = {}
    y, p = test["chi_exp"].to_numpy(float), pred["chi_exp"].to_numpy(float)
    rows = ~np.isnan(y) & ~np.isnan(p)
    out["n_chi_exp"] = float(rows.sum())
    if rows.sum() >= 2:
        err = p[rows] - y[rows]
        out.update(r2_chi_exp=r2_score(y[rows], p[rows]), mae_chi_exp=mean_absolute_error(y[rows], p[rows]),
                   rmse_chi_exp=float(np.sqrt(np.mean(err**2))))  # fmt: skip
        if "chi_exp_std" in pred and pred["chi_exp_std"].notna().any():
            sigma = pred["chi_exp_std"].to_numpy(float)[rows]
            for z in GAUSS_WITHIN:
                out[f"within_{z}sigma_chi_exp"] = float(np.mean(np.abs(err) <= z * sigma))
            out["spearman_abs_error_std_chi_exp"] = float(spearmanr(np.abs(err), sigma).statistic)
    label, prob = test[CLASS_TASK].to_numpy(float), pred["p_soluble"].to_numpy(float)
    rows = ~np.isnan(label) & ~np.isnan(prob)
    out["n_soluble"] = float(rows.sum())
    if rows.sum() >= 2 and len(np.unique(label[rows])) == 2:
        out.update(auc_soluble=roc_auc_score(label[rows], prob[rows]),
                   accuracy_soluble=accuracy_score(label[rows], prob[rows] >= 0.5),
                   brier_soluble=brier_score_loss(label[rows], prob[rows]))  # fmt: skip
    return {k: float(v) for k, v in out.items()}


def summarize(folds: list[dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """``mean`` and ``std`` (ddof 1; None with one fold) of every metric over folds."""
    keys = sorted({k for fold in folds for k in fold if k != "fold"})
    mean, std = {}, {}
    for key in keys:
        values = np.array([fold[key] for fold in folds if key in fold and fold[key] is not None], float)
        mean[key] = float(values.mean()) if len(values) else None
        std[key] = float(values.std(ddof=1)) if len(values) > 1 else None
    return {"mean": mean, "std": std}


def finite(value):
    """JSON has no NaN: NaN and inf become null."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
