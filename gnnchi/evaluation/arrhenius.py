"""The Arrhenius figure of an electrolyte evaluation: measured log10 conductivity of PEO-LiTFSI against
1000/T at its two most measured salt loadings (each at its most measured Mn), beside the curves (mean ± calibrated std) predicted by the
models of the fold that tested most of those records. Under unseen-component-sets (and leave-polymer-out,
leave-salt-out) that fold never saw PEO with LiTFSI: the curves are a prediction for a new formulation.

Writes ``arrhenius.png`` and ``arrhenius.csv`` (the curves' numbers).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.systems.electrolyte import MAX_COMPONENTS, TARGET

POLYMER, SALT = "*CCO*", "[Li+].O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F"
NAME = "PEO-LiTFSI"
NUM_LOADINGS = 2
LOADING_DIGITS = 3  # records whose salt mole fraction rounds to the same value form one loading
CURVE_POINTS = 40
FIGURE, CURVES = "arrhenius.png", "arrhenius.csv"


def _salt_fraction(table: pd.DataFrame) -> pd.Series:
    """The LiTFSI mole fraction of records made of PEO and LiTFSI alone (NaN for any other record)."""
    from gnnchi.chem import molecule_keys
    from gnnchi.datasets.electrolytes import component_mol, salt_keys

    polymer_key = molecule_keys(component_mol("polymer", POLYMER), "polymer")[0]
    salt_key = salt_keys(SALT)[0]
    keys = table[[f"component_{i}_key" for i in range(1, MAX_COMPONENTS + 1)]].to_numpy()
    fractions = table[[f"fraction_{i}" for i in range(1, MAX_COMPONENTS + 1)]].to_numpy(float)
    out = np.full(len(table), np.nan)
    for r, (row_keys, row_fractions) in enumerate(zip(keys, fractions)):
        present = {k: f for k, f in zip(row_keys, row_fractions) if k}
        if set(present) == {polymer_key, salt_key}:
            out[r] = round(present[salt_key], LOADING_DIGITS)
    return pd.Series(out, index=table.index)


def example_rows(table: pd.DataFrame, tested: dict[int, np.ndarray]) -> tuple[int, pd.DataFrame] | None:
    """The fold that tested most PEO-LiTFSI records, and those records with their ``salt_fraction``; None
    when no tested fold has any."""
    loading = _salt_fraction(table)
    counts = {fold: table.iloc[rows][loading.iloc[rows].notna().to_numpy()] for fold, rows in tested.items()}
    fold = max(counts, key=lambda f: len(counts[f]), default=None)
    if fold is None or counts[fold].empty:
        return None
    return fold, counts[fold].assign(salt_fraction=loading[counts[fold].index])


def arrhenius_curves(measured: pd.DataFrame, predict) -> pd.DataFrame:
    """Curves at the ``NUM_LOADINGS`` most measured loadings (most measured Mn of each), over each one's measured
    temperature range; ``predict(frame)`` adds the target and its std to a mixture table."""
    frames = []
    for loading in measured["salt_fraction"].value_counts().index[:NUM_LOADINGS]:
        rows = measured[measured["salt_fraction"] == loading]
        mn = float(rows["mn_g_mol"].round(0).value_counts(dropna=False).index[0])
        temperatures = np.linspace(rows["temperature_K"].min(), rows["temperature_K"].max(), CURVE_POINTS)
        frames.append(pd.DataFrame({
            "component_1": POLYMER, "role_1": "polymer", "fraction_1": 1.0 - loading,
            "component_2": SALT, "role_2": "salt", "fraction_2": loading,
            "mn_g_mol": mn, "temperature_K": temperatures, "salt_fraction": loading,
        }))  # fmt: skip
    grid = pd.concat(frames, ignore_index=True)
    predicted = predict(grid)
    return grid.assign(**{TARGET: predicted[TARGET].to_numpy(), f"{TARGET}_std": predicted[f"{TARGET}_std"].to_numpy(),
                          "activation_energy_kJ_mol": predicted["activation_energy_kJ_mol"].to_numpy()})  # fmt: skip


def _same_mn(values: pd.Series, mn: float) -> pd.Series:
    """Rows whose Mn rounds to ``mn`` (both unknown counts as the same)."""
    rounded = values.round(0)
    return rounded.isna() if np.isnan(mn) else rounded == mn


def plot_arrhenius(measured: pd.DataFrame, curves: pd.DataFrame, path: Path, title: str) -> None:
    """Measured points and predicted curves (± std band), log10 sigma against 1000/T, one colour per loading."""
    from gnnchi.evaluation.plots import Curve, plot_curves

    drawn = []
    for loading, curve in curves.groupby("salt_fraction"):
        mn = curve["mn_g_mol"].iloc[0]
        rows = measured[(measured["salt_fraction"] == loading) & _same_mn(measured["mn_g_mol"], mn)]
        ea = curve["activation_energy_kJ_mol"].iloc[0]
        drawn.append(Curve(1000.0 / curve["temperature_K"], curve[TARGET], curve[f"{TARGET}_std"],
                           1000.0 / rows["temperature_K"], rows[TARGET],
                           f"x(LiTFSI) {loading:g}, Mn {mn:g}: predicted (Ea {ea:.0f} kJ/mol)",
                           f"x(LiTFSI) {loading:g}, Mn {mn:g}: measured ({len(rows)})"))  # fmt: skip
    plot_curves(drawn, path, title, "1000 / T (1/K)", "log10 conductivity (S/cm)")


def write_example_figure(output: Path, table: pd.DataFrame, tested: dict[int, np.ndarray], predict_fold,
                           protocol: str) -> list[str]:  # fmt: skip
    """Write ``FIGURE`` and ``CURVES`` into ``output`` when a tested fold holds PEO-LiTFSI records;
    ``predict_fold(fold, frame)``: predictions of that fold's gnnchi. The file names written."""
    found = example_rows(table, tested)
    if found is None:
        return []
    fold, measured = found
    curves = arrhenius_curves(measured, lambda frame: predict_fold(fold, frame))
    curves.insert(0, "fold", fold)
    curves.insert(1, "tested_rows", len(measured))  # how many of the example's rows this fold tested
    curves.to_csv(output / CURVES, index=False)
    share = len(measured) / int(_salt_fraction(table).notna().sum())
    plot_arrhenius(
        measured, curves, output / FIGURE, f"{NAME}, {protocol}: fold {fold} tested {share:.0%} of its records"
    )
    return [FIGURE]
