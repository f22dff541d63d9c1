"""The bundled chi table with chi_exp replaced by its difference from UNIFAC's estimate, to judge on inner
validation whether gnnchi learns chi better as a correction to that estimate (docs/evaluation).

    python benchmarks/unifac_residual_table.py --output results/chi_unifac_residual.csv
    python benchmarks/inner_validation.py --split polymer --variant "unifac=--data.data results/chi_unifac_residual.csv"

Each chi_exp becomes chi_exp - chi_UNIFAC(T) (:mod:`gnnchi.unifac`); a pair without an estimate takes
0.34 + the median ln gamma_R of the pairs with one (a constant from the estimates alone, no label read).
A prediction of this table plus the same offset is a prediction of chi, so the validation MAE of chi_exp
is the same in both. The other columns (soluble, chi_cosmo, fold) are the bundled ones.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from gnnchi.datasets import bundled_pairs
from gnnchi.physics import ENTROPIC_CHI
from gnnchi.unifac import unifac_chi

COLUMNS = ["polymer", "solvent", "temperature_K", "soluble", "chi_exp", "chi_cosmo", "fold"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    table = bundled_pairs()
    measured = table["chi_exp"].notna().to_numpy()
    rows = table[measured]
    estimate = unifac_chi(rows["polymer"].tolist(), rows["solvent"].tolist(), rows["temperature_K"].to_numpy(float))
    covered = ~np.isnan(estimate)
    fallback = float(np.median(estimate[covered]))  # 0.34 + the median ln gamma_R
    offset = np.where(covered, estimate, fallback)
    table.loc[measured, "chi_exp"] = rows["chi_exp"].to_numpy(float) - offset
    args.output.parent.mkdir(parents=True, exist_ok=True)
    table[COLUMNS].to_csv(args.output, index=False)
    print(f"{args.output}: {measured.sum()} chi_exp rows, {covered.sum()} with a UNIFAC estimate; "
          f"the others offset by {fallback:.3f} (0.34 + median ln gamma_R {fallback - ENTROPIC_CHI:.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
