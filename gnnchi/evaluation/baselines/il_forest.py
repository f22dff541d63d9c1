"""A random forest (scikit-learn) for CO2 in ionic liquids: Morgan count fingerprints of the cation and of
the anion, plus 1000/T, log10 P and P (kPa)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.chem import make_mol
from gnnchi.evaluation.baselines.base import FoldContext

FINGERPRINT_BITS = 512
FINGERPRINT_RADIUS = 2
TREES = 100


def il_random_forest(context: FoldContext) -> pd.DataFrame:
    return pd.DataFrame({"x_co2": fit_il_random_forest(context.table, context.parts, seed=context.fold)})


def morgan_counts(smiles: pd.Series, kind: str, bits: int = FINGERPRINT_BITS) -> np.ndarray:
    """[len(smiles), bits] Morgan count fingerprints (radius 2, RDKit), each distinct SMILES computed once."""
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=FINGERPRINT_RADIUS, fpSize=bits)
    cache = {s: generator.GetCountFingerprintAsNumPy(make_mol(s, kind)).astype(np.float32) for s in smiles.unique()}
    return np.stack([cache[s] for s in smiles])


def il_features(rows: pd.DataFrame) -> np.ndarray:
    """[rows, 2 * 512 + 3]: the cation's and the anion's count fingerprints, 1000/T, log10 P and P (kPa)."""
    pressure = rows["pressure_kPa"].to_numpy(float)
    conditions = np.column_stack([1000.0 / rows["temperature_K"].to_numpy(float), np.log10(pressure), pressure])
    return np.hstack([morgan_counts(rows["cation"], "cation"), morgan_counts(rows["anion"], "anion"), conditions])


def fit_il_random_forest(
    table: pd.DataFrame, parts: dict[str, np.ndarray], seed: int = 0, trees: int = TREES
) -> np.ndarray:
    """x_co2 of the fold's test rows from a forest (``trees`` trees, ``random_state=seed``, one core) fitted on
    its training and validation rows, in table order."""
    from sklearn.ensemble import RandomForestRegressor

    test = table.iloc[parts["test"]]
    if not len(test):
        return np.zeros(0)
    fit_rows = table.iloc[np.sort(np.concatenate([parts["train"], parts["val"]]))]
    fit_rows = fit_rows[fit_rows["x_co2"].notna()]
    forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(il_features(fit_rows), fit_rows["x_co2"].to_numpy(float))
    return forest.predict(il_features(test))
