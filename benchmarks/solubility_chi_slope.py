"""How steeply the PolySol solvent/non-solvent label falls with measured chi: the default
``solubility_chi_slope`` of the chi system (P(soluble) follows chi_exp away from room temperature).

Pairs that have both a label (room temperature) and a measured chi; chi is taken at the measured
temperature closest to 298.15 K. Unregularised logistic regression of the label on chi, and a
bootstrap interval of the slope.

    python benchmarks/solubility_chi_slope.py
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from gnnchi.data.datamodule import ChiDataModule
from gnnchi.systems.chi import ROOM_TEMPERATURE_K


def main() -> None:
    table = ChiDataModule().prepare_records().table
    chi = table[table["chi_exp"].notna()].assign(distance=lambda t: (t["temperature_K"] - ROOM_TEMPERATURE_K).abs())
    chi = chi.sort_values("distance", kind="stable").groupby(["polymer_key", "solvent_key"]).first()
    labels = table[table["soluble"].notna()].groupby(["polymer_key", "solvent_key"])["soluble"].mean().rename("label")
    both = chi.join(labels, how="inner")
    both = both[both["label"].isin([0.0, 1.0])]
    fit = LogisticRegression(C=1e6).fit(both[["chi_exp"]], both["label"].astype(int))
    rng = np.random.default_rng(0)
    slopes = []
    for _ in range(500):
        sample = both.sample(len(both), replace=True, random_state=int(rng.integers(1 << 31)))
        if sample["label"].nunique() == 2:
            slopes.append(-LogisticRegression(C=1e6).fit(sample[["chi_exp"]], sample["label"].astype(int)).coef_[0, 0])
    low, high = np.percentile(slopes, [5, 95])
    print(f"pairs with a label and a measured chi: {len(both)} ({both['label'].mean():.0%} soluble); "
          f"median |T - 298.15 K| of the chi used: {both['distance'].median():.0f} K")
    print(f"logit = {fit.intercept_[0]:.2f} - {-fit.coef_[0, 0]:.2f} chi (50% at chi = {-fit.intercept_[0] / fit.coef_[0, 0]:.2f}); "
          f"slope 90% bootstrap interval {low:.1f} to {high:.1f}")


if __name__ == "__main__":
    main()
