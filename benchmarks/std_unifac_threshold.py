"""F6, chi's std with both the threshold and the UNIFAC terms, against the shipped F2 (docs/evaluation, 2026-11-25).

    python benchmarks/std_unifac_threshold.py --run results --run results_seed1

F6 = F2 + (e (chi - chi_UNIFAC))^2: sigma^2 = (a spread)^2 + b^2 + (c_p novelty_polymer)^2 +
(c_s novelty_solvent)^2 + (d (chi - 0.5))^2 + (e (chi - chi_UNIFAC))^2, fitted by the Gaussian likelihood
of ``gnnchi.inference.calibration``; a row without a UNIFAC estimate takes the last term's mean over the
fitting rows that have one. For each leave-polymer-out run (an evaluate output folder with its cached
ensembles), both forms are scored as ``benchmarks/std_forms.py`` scores forms: on the validation rows, each
fold's sigma fitted on the other folds' (the choice), then pooled on the test rows (the report).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from std_forms import Target, columns, leave_one_fold_out, per_fold, scores, terms, validation_rows

from gnnchi.evaluation.pooled_calibration import novelty_columns
from gnnchi.evaluation.protocols import ALL_PROTOCOLS
from gnnchi.inference.calibration import _fit_squares
from gnnchi.systems import SYSTEMS
from gnnchi.systems.chi import MISCIBILITY_THRESHOLD
from gnnchi.unifac import unifac_chi

PROTOCOL = "leave-polymer-out"
SPEC = ALL_PROTOCOLS[PROTOCOL]
TARGET = Target(SPEC.task, novelty_columns(SYSTEMS[SPEC.system]), SPEC.system)


def with_unifac(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with ``unifac``: UNIFAC's chi estimate of each pair at its temperature (NaN where none)."""
    estimate = unifac_chi(rows["polymer"].tolist(), rows["solvent"].tolist(), rows["temperature_K"].to_numpy(float))
    return rows.assign(unifac=estimate)


def f6_terms(rows: pd.DataFrame, fill: float) -> np.ndarray:
    """F6's six terms of sigma^2 [R, 6]: F2's five, then the UNIFAC term (``fill`` where there is no estimate)."""
    disagreement = (rows[f"gnnchi_{TARGET.task}"].to_numpy(float) - rows["unifac"].to_numpy(float)) ** 2
    disagreement = np.where(np.isnan(disagreement), fill, disagreement)
    return np.column_stack([terms(rows, TARGET, MISCIBILITY_THRESHOLD), disagreement])


def fit(rows: pd.DataFrame) -> tuple[np.ndarray, float]:
    """F6's six squares [6] fitted on ``rows``, and the fill of rows without an estimate."""
    _, _, _, prediction = columns(rows, TARGET)
    fill = float(np.nanmean((prediction - rows["unifac"].to_numpy(float)) ** 2))
    error = prediction - rows[TARGET.task].to_numpy(float)
    _, squares = _fit_squares(error**2, f6_terms(rows, fill), with_d=True)
    return squares, fill


def f6_sigma(fitting: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """F6's sigma [R] of ``rows``, fitted on ``fitting``."""
    squares, fill = fit(fitting)
    return np.sqrt(f6_terms(rows, fill) @ squares)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, action="append", required=True, help="a leave-polymer-out evaluate folder")
    args = parser.parse_args()
    for run in args.run:
        val = with_unifac(validation_rows(run, PROTOCOL, TARGET))
        test = with_unifac(pd.read_csv(run / PROTOCOL / "predictions.csv").dropna(subset=[TARGET.task]))
        print(f"{run}: {len(val)} validation rows ({int(val['unifac'].notna().sum())} with a UNIFAC estimate)")
        for name, rows in (("validation", val), ("test, pooled", test)):
            print(f"  {name} F2: {scores(rows, leave_one_fold_out(rows, rows, 'F2', TARGET), TARGET)}")
            print(f"  {name} F6: {scores(rows, per_fold(rows, rows, f6_sigma), TARGET)}")
        print(f"  F6 squares fitted on every validation row: {np.round(fit(val)[0], 4).tolist()}")


if __name__ == "__main__":
    main()
