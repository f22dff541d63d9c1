"""The isotherm figure of a co2_il evaluation: a well-known ionic liquid's measured x_CO2 against
pressure at its most measured temperatures, beside the isotherms (mean ± calibrated std) predicted by
the models of the fold that tested most of its rows. Under leave-ionic-liquid-out (and -cation-,
-anion-out) that fold never saw the ionic liquid: the curves are a prediction for a new one.

Writes ``isotherms.png`` and ``isotherms.csv`` (the curves' numbers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EXAMPLE = ("CCCC[n+]1ccn(C)c1", "F[P-](F)(F)(F)(F)F", "[BMIM][PF6]")  # cation, anion, name
NUM_TEMPERATURES = 3
TEMPERATURE_BAND_K = 1.0  # measured rows within this of a drawn temperature are drawn with it
CURVE_POINTS = 60
FIGURE, CURVES = "isotherms.png", "isotherms.csv"


def example_rows(table: pd.DataFrame, tested: dict[int, np.ndarray]) -> tuple[int, pd.DataFrame] | None:
    """The fold that tested most of the example's rows, and those rows; None when no tested fold has it."""
    cation, anion, _ = EXAMPLE
    counts = {}
    for fold, rows in tested.items():
        test = table.iloc[rows]
        counts[fold] = test[(test["cation"] == cation) & (test["anion"] == anion)]
    fold = max(counts, key=lambda f: len(counts[f]), default=None)
    return None if fold is None or counts[fold].empty else (fold, counts[fold])


def isotherm_curves(measured: pd.DataFrame, predict) -> pd.DataFrame:
    """Curves at the ``NUM_TEMPERATURES`` temperatures (whole kelvin) with the most measured rows, over
    each one's measured pressure range; ``predict(frame)`` adds x_co2 and x_co2_std to cation, anion,
    temperature_K, pressure_kPa columns. Columns: those, ``x_co2``, ``x_co2_std``."""
    temperatures = measured["temperature_K"].round().value_counts().index[:NUM_TEMPERATURES]
    frames = []
    for t in sorted(temperatures):
        near = measured[(measured["temperature_K"] - t).abs() <= TEMPERATURE_BAND_K]
        pressures = np.geomspace(near["pressure_kPa"].min(), near["pressure_kPa"].max(), CURVE_POINTS)
        frames.append(pd.DataFrame({"cation": EXAMPLE[0], "anion": EXAMPLE[1], "temperature_K": float(t),
                                    "pressure_kPa": pressures}))  # fmt: skip
    grid = pd.concat(frames, ignore_index=True)
    predicted = predict(grid)
    return grid.assign(x_co2=predicted["x_co2"].to_numpy(), x_co2_std=predicted["x_co2_std"].to_numpy())


def plot_isotherms(measured: pd.DataFrame, curves: pd.DataFrame, path: Path, title: str) -> None:
    """Measured points and predicted curves (± std band), x_CO2 against pressure in MPa, one colour per temperature."""
    from gnnchi.evaluation.plots import Curve, plot_curves

    drawn = []
    for t, curve in curves.groupby("temperature_K"):
        near = measured[(measured["temperature_K"] - t).abs() <= TEMPERATURE_BAND_K]
        drawn.append(Curve(curve["pressure_kPa"] / 1000, curve["x_co2"], curve["x_co2_std"], near["pressure_kPa"] / 1000,
                           near["x_co2"], f"{t:.0f} K predicted", f"{t:.0f} K measured ({len(near)})"))  # fmt: skip
    plot_curves(drawn, path, title, "pressure (MPa)", "x_CO2 (mole fraction)", ylim=(0, None))


def write_example_figure(output: Path, table: pd.DataFrame, tested: dict[int, np.ndarray], predict_fold,
                          protocol: str) -> list[str]:  # fmt: skip
    """Write ``FIGURE`` and ``CURVES`` into ``output`` when a tested fold holds the example ionic liquid;
    ``predict_fold(fold, frame)``: predictions of that fold's gnnchi. The file names written."""
    found = example_rows(table, tested)
    if found is None:
        return []
    fold, measured = found
    curves = isotherm_curves(measured, lambda frame: predict_fold(fold, frame))
    curves.insert(0, "fold", fold)
    curves.insert(1, "tested_rows", len(measured))  # how many of the example's rows this fold tested
    curves.to_csv(output / CURVES, index=False)
    share = len(measured) / int(((table["cation"] == EXAMPLE[0]) & (table["anion"] == EXAMPLE[1])).sum())
    title = f"{EXAMPLE[2]}, {protocol}: fold {fold} tested {share:.0%} of its rows"
    plot_isotherms(measured, curves, output / FIGURE, title)
    return [FIGURE]
