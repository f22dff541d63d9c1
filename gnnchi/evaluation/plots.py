"""The evaluation's figures (object-oriented matplotlib: no backend is chosen, none is needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.systems.chi import CLASS_TASK


def plot_parity(predictions: pd.DataFrame, path: Path, protocol: str) -> None:
    """Predicted (ensemble mean, ±1 std bars) against measured chi_exp, all folds' test rows, one colour per fold."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4.6))
    ax = fig.subplots()
    rows = predictions[predictions["chi_exp"].notna() & predictions["gnnchi_chi_exp"].notna()]
    for fold, part in rows.groupby("fold"):
        ax.errorbar(part["chi_exp"], part["gnnchi_chi_exp"], yerr=part["gnnchi_chi_exp_std"].fillna(0), fmt="o", ms=3,
                    alpha=0.5, elinewidth=0.6, label=f"fold {fold}")  # fmt: skip
    if len(rows):
        low, high = (
            float(rows[["chi_exp", "gnnchi_chi_exp"]].min().min()),
            float(rows[["chi_exp", "gnnchi_chi_exp"]].max().max()),
        )
        ax.plot([low, high], [low, high], color="grey", lw=1)
        ax.legend(fontsize=7)
    ax.set(
        xlabel="measured chi_exp",
        ylabel="gnnchi chi_exp (ensemble mean ± std)",
        title=f"{protocol}: test folds, n = {len(rows)}",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_calibration(predictions: pd.DataFrame, path: Path, result: dict) -> None:
    """Left: share of chi_exp test points within z·std against the Gaussian share. Right: reliability of P(soluble)."""
    from matplotlib.figure import Figure
    from scipy.stats import norm

    fig = Figure(figsize=(9, 4.2))
    left, right = fig.subplots(1, 2)
    rows = predictions[predictions["chi_exp"].notna() & predictions["gnnchi_chi_exp_std"].notna()]
    z = np.linspace(0, 3, 31)
    left.plot(z, 2 * norm.cdf(z) - 1, color="grey", lw=1, label="Gaussian (ideal)")
    if len(rows):
        ratio = (rows["gnnchi_chi_exp"] - rows["chi_exp"]).abs() / rows["gnnchi_chi_exp_std"]
        left.plot(z, [(ratio <= v).mean() for v in z], label="ensemble std")
        scales = {f["fold"]: f.get("sigma_scale") for f in result["folds"]}
        factor = rows["fold"].map(scales).astype(float)
        if factor.notna().all():
            left.plot(z, [(ratio <= v * factor).mean() for v in z], label="std rescaled on validation rows")
    left.set(xlabel="z", ylabel="share of test points with |error| ≤ z·std", title="chi_exp")
    left.legend(fontsize=7)
    labelled = predictions[predictions[CLASS_TASK].notna() & predictions["gnnchi_p_soluble"].notna()]
    right.plot([0, 1], [0, 1], color="grey", lw=1)
    if len(labelled):
        bins = np.clip((labelled["gnnchi_p_soluble"] * 10).astype(int), 0, 9)
        grouped = labelled.groupby(bins).agg(
            p=("gnnchi_p_soluble", "mean"), y=(CLASS_TASK, "mean"), n=(CLASS_TASK, "size")
        )
        right.plot(grouped["p"], grouped["y"], "o-")
    right.set(xlabel="predicted P(soluble)", ylabel="observed soluble share", title=f"soluble, n = {len(labelled)}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
