"""A random forest (scikit-learn) for polymer-electrolyte conductivity: the mole-fraction-weighted sum of
the components' Morgan count fingerprints, plus 1000/T, log10 Mn and a flag for an unknown Mn."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.datasets.electrolytes import component_mol
from gnnchi.evaluation.baselines.base import FoldContext
from gnnchi.systems.electrolyte import MAX_COMPONENTS, TARGET

FINGERPRINT_BITS = 512
FINGERPRINT_RADIUS = 2
TREES = 100


def electrolyte_random_forest(context: FoldContext) -> pd.DataFrame:
    return pd.DataFrame({TARGET: fit_electrolyte_random_forest(context.table, context.parts, seed=context.fold)})


def electrolyte_features(rows: pd.DataFrame, bits: int = FINGERPRINT_BITS) -> np.ndarray:
    """[rows, bits + 3]: sum over components of mole fraction x Morgan counts (radius 2; a salt's fragments
    together, a polymer's repeat unit with its `*`), 1000/T, log10 Mn (0 where unknown), unknown-Mn flag."""
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=FINGERPRINT_RADIUS, fpSize=bits)
    cache: dict[tuple[str, str], np.ndarray] = {}
    mixture = np.zeros((len(rows), bits), np.float64)
    for i in range(1, MAX_COMPONENTS + 1):
        for r, (smiles, role, fraction) in enumerate(zip(rows[f"component_{i}"], rows[f"role_{i}"], rows[f"fraction_{i}"])):
            if not isinstance(smiles, str) or not smiles:
                continue
            if (role, smiles) not in cache:
                cache[(role, smiles)] = generator.GetCountFingerprintAsNumPy(component_mol(role, smiles)).astype(np.float64)
            mixture[r] += fraction * cache[(role, smiles)]
    mn = rows["mn_g_mol"].to_numpy(float)
    known = np.isfinite(mn) & (mn > 0)
    log_mn = np.where(known, np.log10(np.where(known, mn, 1.0)), 0.0)
    return np.column_stack([mixture, 1000.0 / rows["temperature_K"].to_numpy(float), log_mn, (~known).astype(float)])


def fit_electrolyte_random_forest(
    table: pd.DataFrame, parts: dict[str, np.ndarray], seed: int = 0, trees: int = TREES
) -> np.ndarray:
    """log10 conductivity of the fold's test rows from a forest (``trees`` trees, ``random_state=seed``, one
    core) fitted on its training and validation rows, in table order."""
    from sklearn.ensemble import RandomForestRegressor

    test = table.iloc[parts["test"]]
    if not len(test):
        return np.zeros(0)
    fit_rows = table.iloc[np.sort(np.concatenate([parts["train"], parts["val"]]))]
    fit_rows = fit_rows[fit_rows[TARGET].notna()]
    forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
    forest.fit(electrolyte_features(fit_rows), fit_rows[TARGET].to_numpy(float))
    return forest.predict(electrolyte_features(test))
