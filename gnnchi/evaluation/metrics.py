"""Scores of predictions on test rows (accuracy, calibration of the ensemble's std) and their summary over folds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from gnnchi.evaluation.protocols import SCORED, Scored

HEADLINE = SCORED["chi"].headline  # r2_chi_exp, mae_chi_exp, rmse_chi_exp, auc_soluble, accuracy_soluble
GAUSS_WITHIN = {1: 0.6827, 2: 0.9545}


def score(test: pd.DataFrame, pred: pd.DataFrame, scored: Scored = SCORED["chi"]) -> dict[str, float]:
    """Metrics of predictions ``pred`` on the rows ``test``, for the tasks ``scored`` names (default chi's:
    chi_exp and soluble; the prediction columns are the tasks' own, ``p_<task>`` for a label).

    Each regression task: r2, mae, rmse, n; with a ``<task>_std`` column: the fraction within +-1 and +-2
    sigma and the Spearman correlation of |error| with sigma. Each label: auc, accuracy (at 0.5), brier, n.
    """
    out: dict[str, float] = {}
    for task in scored.regression:
        std = pred[f"{task}_std"].to_numpy(float) if f"{task}_std" in pred else None
        out.update(regression_scores(test[task].to_numpy(float), pred[task].to_numpy(float), std, task))
    for task in scored.classification:
        out.update(classification_scores(test[task].to_numpy(float), pred[f"p_{task}"].to_numpy(float), task))
    return {k: float(v) for k, v in out.items()}


def regression_scores(y: np.ndarray, p: np.ndarray, sigma: np.ndarray | None, task: str) -> dict[str, float]:
    """``n_<task>``; with two rows or more ``r2``, ``mae``, ``rmse``; with a std (not all NaN) ``within_1sigma``,
    ``within_2sigma`` and ``spearman_abs_error_std`` of ``task``, on the rows where ``y`` and ``p`` are given."""
    from scipy.stats import spearmanr
    from sklearn.metrics import mean_absolute_error, r2_score

    rows = ~np.isnan(y) & ~np.isnan(p)
    out = {f"n_{task}": float(rows.sum())}
    if rows.sum() < 2:
        return out
    err = p[rows] - y[rows]
    out.update({f"r2_{task}": r2_score(y[rows], p[rows]), f"mae_{task}": mean_absolute_error(y[rows], p[rows]),
                f"rmse_{task}": float(np.sqrt(np.mean(err**2)))})  # fmt: skip
    if sigma is not None and not np.isnan(sigma).all():
        sigma = sigma[rows]
        for z in GAUSS_WITHIN:
            out[f"within_{z}sigma_{task}"] = float(np.mean(np.abs(err) <= z * sigma))
        out[f"spearman_abs_error_std_{task}"] = float(spearmanr(np.abs(err), sigma).statistic)
    return out


def classification_scores(label: np.ndarray, prob: np.ndarray, task: str) -> dict[str, float]:
    """``n_<task>``; with two rows or more of both classes ``auc``, ``accuracy`` (at 0.5) and ``brier``."""
    from sklearn.metrics import accuracy_score, brier_score_loss, roc_auc_score

    rows = ~np.isnan(label) & ~np.isnan(prob)
    out = {f"n_{task}": float(rows.sum())}
    if rows.sum() >= 2 and len(np.unique(label[rows])) == 2:
        out.update({f"auc_{task}": roc_auc_score(label[rows], prob[rows]),
                    f"accuracy_{task}": accuracy_score(label[rows], prob[rows] >= 0.5),
                    f"brier_{task}": brier_score_loss(label[rows], prob[rows])})  # fmt: skip
    return out


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
