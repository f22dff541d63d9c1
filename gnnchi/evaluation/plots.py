"""The evaluation's figures (object-oriented matplotlib: no backend is chosen, none is needed)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gnnchi.evaluation.protocols import ALL_PROTOCOLS, SCORED
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


def plot_calibration(predictions: pd.DataFrame, path: Path) -> None:
    """Left: share of chi_exp test points within z·std against the Gaussian share. Right: reliability of P(soluble)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.2))
    left, right = fig.subplots(1, 2)
    _within_sigma(left, predictions, "chi_exp")
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


def _within_sigma(ax, predictions: pd.DataFrame, task: str, title: str | None = None) -> None:
    """Share of ``task``'s test points within z·std (gnnchi's calibrated std, and the spread over members
    where given) against the Gaussian share."""
    from scipy.stats import norm

    rows = predictions[predictions[task].notna() & predictions[f"gnnchi_{task}_std"].notna()]
    z = np.linspace(0, 3, 31)
    ax.plot(z, 2 * norm.cdf(z) - 1, color="grey", lw=1, label="Gaussian (ideal)")
    if len(rows):
        error = (rows[f"gnnchi_{task}"] - rows[task]).abs()
        within = [(error <= v * rows[f"gnnchi_{task}_std"]).mean() for v in z]
        ax.plot(z, within, label="calibrated std (gnnchi's output)")
        if f"gnnchi_{task}_spread" in rows and rows[f"gnnchi_{task}_spread"].notna().all():
            ax.plot(z, [(error <= v * rows[f"gnnchi_{task}_spread"]).mean() for v in z], label="spread over members")
    ax.set(xlabel="z", ylabel="share of test points with |error| ≤ z·std", title=title or task)
    ax.legend(fontsize=7)


def plot_calibration_regression(predictions: pd.DataFrame, path: Path, task: str) -> None:
    """The share of ``task``'s test points within z·std against the Gaussian share (a system without labels)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4.2))
    ax = fig.subplots()
    n = int((predictions[task].notna() & predictions[f"gnnchi_{task}_std"].notna()).sum())
    _within_sigma(ax, predictions, task, f"{task}, n = {n}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def regression_methods(predictions: pd.DataFrame, task: str) -> list[str]:
    """gnnchi, then the baselines in column order: each with a ``<method>_<task>`` column."""
    names = [c[: -len(f"_{task}")] for c in predictions.columns if c.endswith(f"_{task}") and c != task]
    return sorted(names, key=lambda n: n != "gnnchi")


def plot_parity_by_method(predictions: pd.DataFrame, path: Path, protocol: str, task: str) -> None:
    """Predicted against measured ``task``, all folds' test rows, one colour per method (gnnchi's ensemble
    mean and each baseline), each with its pooled MAE and R2 in the legend."""
    from matplotlib.figure import Figure
    from sklearn.metrics import mean_absolute_error, r2_score

    fig = Figure(figsize=(5.4, 5))
    ax = fig.subplots()
    low, high, n = np.inf, -np.inf, 0
    for i, method in enumerate(regression_methods(predictions, task)):
        rows = predictions[predictions[task].notna() & predictions[f"{method}_{task}"].notna()]
        if len(rows) < 2:
            continue
        y, p = rows[task].to_numpy(float), rows[f"{method}_{task}"].to_numpy(float)
        label = f"{method} (MAE {mean_absolute_error(y, p):.3f}, R2 {r2_score(y, p):.3f})"
        ax.scatter(y, p, s=4, alpha=0.35, color=f"C{i}", label=label, zorder=3 if method == "gnnchi" else 2,
                   edgecolors="none")  # fmt: skip
        low, high, n = min(low, y.min(), p.min()), max(high, y.max(), p.max()), max(n, len(rows))
    if n:
        ax.plot([low, high], [low, high], color="grey", lw=1)
        ax.legend(fontsize=7, markerscale=3)
    ax.set(xlabel=f"measured {task}", ylabel=f"predicted {task}", title=f"{protocol}: test folds, n = {n}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


RELIABILITY_BINS = 10


def soluble_methods(predictions: pd.DataFrame) -> list[str]:
    """gnnchi, then the baselines in column order: each with a ``<method>_p_soluble`` column."""
    names = [c[: -len("_p_soluble")] for c in predictions.columns if c.endswith("_p_soluble")]
    return sorted(names, key=lambda n: n != "gnnchi")  # a stable sort: gnnchi first


def reliability(p: np.ndarray, y: np.ndarray, bins: int = RELIABILITY_BINS) -> pd.DataFrame:
    """Predicted P(soluble) in ``bins`` equal bins of [0, 1] (1.0 in the last): per non-empty bin, the
    mean prediction ``p``, the observed soluble share ``y`` and the count ``n``."""
    which = np.clip((np.asarray(p, float) * bins).astype(int), 0, bins - 1)
    frame = pd.DataFrame({"bin": which, "p": p, "y": y})
    return frame.groupby("bin").agg(p=("p", "mean"), y=("y", "mean"), n=("y", "size")).reset_index()


def plot_solubility(predictions: pd.DataFrame, path: Path, protocol: str) -> dict:
    """Left: ROC curves of P(soluble) against the ``soluble`` labels, gnnchi and each baseline that
    predicts it, all folds' test rows pooled. Right: their reliability diagrams (:func:`reliability`).
    Returns {method: {"auc", "fpr", "tpr", "reliability", "n"}}, as drawn."""
    from matplotlib.figure import Figure
    from sklearn.metrics import auc, roc_curve

    fig = Figure(figsize=(10.5, 4.8))
    left, right = fig.subplots(1, 2)
    left.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="chance")
    right.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="ideal")
    drawn = {}
    for i, method in enumerate(soluble_methods(predictions)):
        rows = predictions[predictions[CLASS_TASK].notna() & predictions[f"{method}_p_soluble"].notna()]
        y, p = rows[CLASS_TASK].to_numpy(float), rows[f"{method}_p_soluble"].to_numpy(float)
        if len(np.unique(y)) < 2:  # no P(soluble) on labelled rows (single_task, cosmo_rs), or one class only
            continue
        fpr, tpr, _ = roc_curve(y, p)
        area = float(auc(fpr, tpr))
        bins = reliability(p, y)
        style = dict(color=f"C{i}", lw=2.2 if method == "gnnchi" else 1.2, zorder=3 if method == "gnnchi" else 2)
        left.plot(fpr, tpr, label=f"{method} (AUC {area:.3f})", **style)
        right.plot(bins["p"], bins["y"], "-", **style)
        right.scatter(bins["p"], bins["y"], s=8 + 60 * np.sqrt(bins["n"] / bins["n"].max()), color=f"C{i}",
                      label=method, zorder=style["zorder"])  # fmt: skip
        drawn[method] = {"auc": area, "fpr": fpr, "tpr": tpr, "reliability": bins, "n": len(rows)}
    n = max((d["n"] for d in drawn.values()), default=0)
    left.set(xlabel="false positive rate (non-solvents called soluble)", ylabel="true positive rate (solvents found)",
             title=f"{protocol}: ROC, test rows of all folds pooled (n = {n})", xlim=(0, 1), ylim=(0, 1.01))  # fmt: skip
    left.legend(fontsize=7, loc="lower right")
    right.set(xlabel=f"predicted P(soluble), mean of its bin ({RELIABILITY_BINS} bins)",
              ylabel="observed share soluble", title="reliability (marker area: rows in the bin)",
              xlim=(0, 1), ylim=(-0.02, 1.02))  # fmt: skip
    right.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return drawn


class Curve(NamedTuple):
    """One predicted curve with its ± std band and the measured points it is compared with."""

    x: np.ndarray
    y: np.ndarray
    std: np.ndarray
    measured_x: np.ndarray
    measured_y: np.ndarray
    predicted_label: str
    measured_label: str


def plot_curves(curves: list[Curve], path: Path, title: str, xlabel: str, ylabel: str, ylim=(None, None)) -> None:
    """Predicted curves (± std band) and measured points, one colour per curve (the isotherm and Arrhenius figures)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for i, c in enumerate(curves):
        ax.plot(c.x, c.y, color=f"C{i}", label=c.predicted_label)
        ax.fill_between(c.x, c.y - c.std, c.y + c.std, color=f"C{i}", alpha=0.2, linewidth=0)
        ax.scatter(c.measured_x, c.measured_y, s=10, color=f"C{i}", edgecolors="black", linewidths=0.3,
                   label=c.measured_label, zorder=3)  # fmt: skip
    ax.set(xlabel=xlabel, ylabel=ylabel, ylim=ylim)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_files(protocol: str) -> tuple[str, ...]:
    """The figures ``evaluate`` writes for ``protocol``: a ROC and reliability plot where its task is
    soluble (``solubility``), a parity plot for the others (chi, x_co2); the calibration plot for all."""
    return ("roc.png" if ALL_PROTOCOLS[protocol].task == CLASS_TASK else "parity.png", "calibration.png")


def write_plots(predictions: pd.DataFrame, output: Path, protocol: str) -> list[str]:
    """Write the figures of :func:`plot_files` into ``output``; their names. chi: gnnchi's parity per fold
    and the calibration of chi_exp and P(soluble); co2_il: parity per method, calibration of x_co2."""
    names = plot_files(protocol)
    system = ALL_PROTOCOLS[protocol].system
    task = SCORED[system].regression[0]
    for name in names:
        if name == "roc.png":
            plot_solubility(predictions, output / name, protocol)
        elif name == "parity.png" and system == "chi":
            plot_parity(predictions, output / name, protocol)
        elif name == "parity.png":
            plot_parity_by_method(predictions, output / name, protocol, task)
        elif system == "chi":
            plot_calibration(predictions, output / name)
        else:
            plot_calibration_regression(predictions, output / name, task)
    return list(names)
