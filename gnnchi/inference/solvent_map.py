"""``map``: candidate solvents around one polymer in a 2-D projection of the model's ``u`` space,
coloured by predicted chi. numpy and pandas for the numbers; matplotlib (object-oriented, no
pyplot, no backend chosen) for the picture.

The projection is a PCA (numpy SVD) of ``u`` of the solvents plus the polymer. For an ensemble, ``u``
is every member's ``u`` side by side (members' axes are their own, see :mod:`gnnchi.inference.encode_table`).
Distance in this picture is a guide, not the prediction: chi also depends on ``r``, on the head's
weight of each axis and on the axes the projection drops. The colour is the prediction.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gnnchi.errors import DataValidationError
from gnnchi.systems.chi import CHI_TASKS, MISCIBILITY_THRESHOLD

DEFAULT_LABELS = 12  # labelled points: half the lowest chi, half the highest


class SolventMap(NamedTuple):
    """What :func:`plot_solvent_map` draws."""

    points: pd.DataFrame  # the solvents that encoded: input columns, label, pc1, pc2, chi_exp, chi_exp_std
    failed: pd.DataFrame  # the solvents that did not: input columns and error
    polymer: str
    polymer_xy: np.ndarray  # [2]
    explained: np.ndarray  # [2] share of the variance of u along each axis
    temperature_K: float


def u_block(latent: np.ndarray, latent_dim: int, members: int) -> np.ndarray:
    """The ``u`` columns of [., members * 2k] encodings, members side by side: [., members * k]."""
    width = 2 * latent_dim
    return np.concatenate([latent[:, m * width : m * width + latent_dim] for m in range(members)], axis=1)


def pca_2d(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores on the first two principal axes of ``points`` [n, d] ([n, 2], zero where the data has
    fewer axes) and each axis' share of the variance. Each axis' sign is fixed (its largest loading
    positive), so the same data always gives the same picture."""
    centred = points.astype(np.float64) - points.astype(np.float64).mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:2]
    largest = axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)]
    axes = axes * np.where(largest < 0, -1.0, 1.0)[:, None]
    scores = np.zeros((len(points), 2))
    scores[:, : len(axes)] = centred @ axes.T
    variance = singular**2
    explained = np.zeros(2)
    explained[: len(axes)] = variance[:2] / variance.sum() if variance.sum() > 0 else 0.0
    return scores, explained


def solvent_map(
    predictor, polymer: str, solvents: pd.DataFrame, temperature_K: float, labels: int = DEFAULT_LABELS
) -> SolventMap:
    """Encode ``polymer`` and the ``solvent`` column of ``solvents``, project ``u`` (:func:`pca_2d`),
    predict chi_exp of every pair at ``temperature_K``; ``label`` is the ``name`` (else the SMILES) of
    the ``labels // 2`` lowest-chi and the ``labels - labels // 2`` highest-chi solvents, "" for the rest."""
    problem = predictor.temperature_problem(float(temperature_K))
    if problem:
        raise DataValidationError("map", [], f"{problem} (--temperature_range_K)")
    if "solvent" not in solvents.columns:
        found = list(solvents.columns)
        raise DataValidationError("map", [], f"the solvents table needs a 'solvent' column; found {found}")
    polymer_latent, polymer_error = predictor.encode([polymer], "polymer")
    if polymer_error[0]:
        raise DataValidationError("map", [], f"the polymer {polymer!r} is invalid: {polymer_error[0]}")
    latent, errors = predictor.encode(solvents["solvent"].tolist(), "solvent")
    ok = np.array([not e for e in errors], dtype=bool)
    if ok.sum() < 2:
        raise DataValidationError("map", [], f"a map needs at least 2 valid solvents; {ok.sum()} of {len(ok)} encoded")
    k, members = predictor.latent_dim, predictor.num_members
    scores, explained = pca_2d(u_block(np.concatenate([polymer_latent, latent[ok]]), k, members))
    grid = predictor.grid(polymer_latent, latent[ok], [float(temperature_K)], [polymer],
                          solvents["solvent"][ok].tolist())  # fmt: skip
    task = CHI_TASKS.index("chi_exp")
    points = solvents[ok].reset_index(drop=True)
    names = points["name"] if "name" in points.columns else pd.Series([""] * len(points))
    text = [n.strip() if isinstance(n, str) and n.strip() else s for n, s in zip(names, points["solvent"])]
    points = points.assign(pc1=scores[1:, 0], pc2=scores[1:, 1], chi_exp=grid.chi[task, 0, :, 0].astype(np.float64),
                           chi_exp_std=grid.chi_std[task, 0, :, 0].astype(np.float64))  # fmt: skip
    order = np.argsort(points["chi_exp"].to_numpy(), kind="stable")
    best, worst = labels // 2, labels - labels // 2
    chosen = set(order[:best]) | (set(order[len(order) - worst :]) if worst else set())
    points["label"] = [t if i in chosen else "" for i, t in enumerate(text)]
    failed = solvents[~ok].assign(error=[e for e in errors if e]).reset_index(drop=True)
    return SolventMap(points, failed, polymer, scores[0], explained, float(temperature_K))


LABEL_FONT = 8  # points
CHAR_WIDTH = 0.6  # of the font size: a rough mean glyph width, to place labels without drawing them


def _overlap(box: tuple, other: tuple) -> float:
    """Area shared by two boxes (x0, y0, x1, y1)."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    return max(0.0, width) * max(0.0, height)


def place_labels(
    points: np.ndarray, labelled: list[int], texts: list[str], taken: list[tuple], axes_pt: tuple[float, float]
) -> list[tuple[float, float, str]]:
    """(x, y, ha) of each text in axes fractions, beside its point ``points[labelled[j]]`` ([n, 2]
    axes fractions): of 48 spots at 4 distances, the nearest whose box covers the least of the boxes
    placed so far (``taken``, grown here) and the fewest points, whose leader line crosses the fewest
    boxes and points, and that stays inside the axes (``axes_pt``: the axes' width and height in points)."""
    width_pt, height_pt = axes_pt
    box_h = 1.6 * LABEL_FONT / height_pt
    angles = np.deg2rad([0, 180, 25, 155, 335, 205, 55, 125, 305, 235, 90, 270])
    spots = [(r * np.cos(a), r * np.sin(a) * width_pt / height_pt) for r in (0.02, 0.045, 0.08, 0.13) for a in angles]
    dot = 5.0 / width_pt, 5.0 / height_pt  # a marker's half size
    out = []
    for i, text in zip(labelled, texts):
        x, y = points[i]
        box_w = (len(text) * CHAR_WIDTH * LABEL_FONT + 4) / width_pt
        best, best_cost = None, np.inf
        for rank, (dx, dy) in enumerate(spots):
            ha = "left" if dx > 1e-9 else "right" if dx < -1e-9 else "center"
            x0 = x + dx if ha == "left" else x + dx - box_w if ha == "right" else x + dx - box_w / 2
            box = (x0, y + dy - box_h / 2, x0 + box_w, y + dy + box_h / 2)
            covered = sum(_overlap(box, t) for t in taken) / (box_w * box_h)
            hidden = np.sum((points[:, 0] + dot[0] > box[0]) & (points[:, 0] - dot[0] < box[2])
                            & (points[:, 1] + dot[1] > box[1]) & (points[:, 1] - dot[1] < box[3]))  # fmt: skip
            outside = box[0] < 0.005 or box[2] > 0.995 or box[1] < 0.005 or box[3] > 0.995
            line = np.array([x, y]) + np.linspace(0.25, 1.0, 10)[:, None] * np.array([dx, dy])  # the leader line
            crossed = sum(
                bool(np.any((line[:, 0] > t[0]) & (line[:, 0] < t[2]) & (line[:, 1] > t[1]) & (line[:, 1] < t[3])))
                for t in taken
            )
            near = np.all(np.abs(line[:, None, :] - points[None, :, :]) < np.array(dot) * 1.2, axis=2)
            near[:, i] = False
            passed = int(np.any(near, axis=0).sum())  # other points the line runs over
            cost = 20 * covered + hidden + 3 * crossed + passed + 100 * outside + 0.04 * rank
            if cost < best_cost:
                best, best_cost = (x + dx, y + dy, ha, box), cost
        taken.append(best[3])
        out.append(best[:3])
    return out


def colour_scale(chi: np.ndarray) -> tuple[float, float]:
    """Colour limits around 0.5: each side spans its own data (so the best and the worst solvents
    both show in full colour), at least 0.1 wide, the low end no lower than -1 and the high end no
    higher than 2.5 (chi that far from 0.5 means the same to a chemist)."""
    low = max(min(float(np.nanmin(chi)), MISCIBILITY_THRESHOLD - 0.1), -1.0)
    high = min(max(float(np.nanmax(chi)), MISCIBILITY_THRESHOLD + 0.1), 2.5)
    return low, high


def plot_solvent_map(data: SolventMap, path: str | Path, polymer_name: str | None = None) -> None:
    """The map as a PNG: solvents coloured by chi_exp (diverging, centred at 0.5), the best and worst
    labelled, the polymer a star."""
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    points, polymer_name = data.points, polymer_name or data.polymer
    chi = points["chi_exp"].to_numpy()
    low, high = colour_scale(chi)
    norm = TwoSlopeNorm(vcenter=MISCIBILITY_THRESHOLD, vmin=low, vmax=high)
    fig = Figure(figsize=(9.5, 7.2))
    ax = fig.subplots()
    xy = np.vstack([points[["pc1", "pc2"]].to_numpy(), data.polymer_xy[None, :]])
    span = np.ptp(xy, axis=0)
    span = np.where(span > 0, span, 1.0)
    lower, upper = xy.min(axis=0) - 0.1 * span, xy.max(axis=0) + 0.1 * span
    ax.set_xlim(lower[0], upper[0])
    ax.set_ylim(lower[1], upper[1])
    scatter = ax.scatter(points["pc1"], points["pc2"], c=chi, cmap="RdBu_r", norm=norm, s=70,
                         edgecolors="0.25", linewidths=0.6, zorder=3)  # fmt: skip
    ax.scatter(*data.polymer_xy, marker="*", s=600, c="gold", edgecolors="black", linewidths=1.0, zorder=5)
    ax.annotate(polymer_name, data.polymer_xy, xytext=(0, -16), textcoords="offset points", ha="center", va="top",
                fontsize=10, fontweight="bold", zorder=6,
                bbox=dict(boxstyle="round,pad=0.2", fc="lightyellow", ec="0.4", lw=0.6))  # fmt: skip

    width_in, height_in = fig.get_size_inches()
    axes_pt = (0.68 * width_in * 72, 0.8 * height_in * 72)  # the axes' size after tight_layout, near enough
    fractions = (xy - lower) / (upper - lower)
    star = fractions[-1]
    star_w = (len(polymer_name) * CHAR_WIDTH * 10 + 8) / axes_pt[0]
    taken = [(star[0] - 0.03, star[1] - 0.03, star[0] + 0.03, star[1] + 0.03),  # the star and its label
             (star[0] - star_w / 2, star[1] - 38 / axes_pt[1], star[0] + star_w / 2, star[1] - 14 / axes_pt[1])]  # fmt: skip
    labelled = [int(i) for i in np.argsort(chi, kind="stable") if points["label"].iloc[i]]
    texts = [f"{points['label'].iloc[i]} ({chi[i]:.2f})" for i in labelled]
    for i, text, (tx, ty, ha) in zip(labelled, texts, place_labels(fractions, labelled, texts, taken, axes_pt)):
        ax.annotate(text, (points["pc1"].iloc[i], points["pc2"].iloc[i]), xytext=(tx, ty), textcoords="axes fraction",
                    fontsize=LABEL_FONT, ha=ha, va="center", zorder=4,
                    bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.85),
                    arrowprops=dict(arrowstyle="-", color="0.45", lw=0.6, shrinkA=0, shrinkB=4))  # fmt: skip
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}[
        (bool(np.nanmin(chi) < low), bool(np.nanmax(chi) > high))
    ]
    colorbar = fig.colorbar(scatter, ax=ax, shrink=0.9, extend=extend)
    colorbar.set_label(f"predicted chi_exp at {data.temperature_K:g} K   (blue < 0.5: miscible;  red > 0.5: not)")
    colorbar.ax.axhline(MISCIBILITY_THRESHOLD, color="black", lw=0.8)
    centre = MISCIBILITY_THRESHOLD  # each side of it has its own scale, so each gets its own ticks
    below = [t for t in MaxNLocator(3).tick_values(low, centre) if low - 1e-9 <= t < centre - 0.15 * (centre - low)]
    above = [t for t in MaxNLocator(4).tick_values(centre, high) if centre + 0.15 * (high - centre) < t <= high + 1e-9]
    colorbar.set_ticks([*below, centre, *above])
    ax.set(
        xlabel=f"u-space axis 1 ({100 * data.explained[0]:.0f}% of the variance of u)",
        ylabel=f"u-space axis 2 ({100 * data.explained[1]:.0f}% of the variance of u)",
    )
    ax.set_title(f"Candidate solvents for {polymer_name}: predicted chi_exp at {data.temperature_K:g} K", fontsize=12)
    skipped = f" {len(data.failed)} solvent(s) could not be read." if len(data.failed) else ""
    fig.text(0.01, 0.012, f"{len(points)} solvents. Axes: PCA of the learned u of the solvents and the polymer (star). "
             f"Labelled: the lowest and the highest predicted chi (in brackets).{skipped}\n"
             "Nearness in u is a guide only (chi also depends on r and on axes this projection drops); "
             "the colour is the model's prediction.", fontsize=7.5, color="0.3", va="bottom")  # fmt: skip
    fig.tight_layout(rect=(0, 0.045, 1, 1))
    fig.savefig(path, dpi=130)
