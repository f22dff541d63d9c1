"""Random forests (scikit-learn) on Morgan fingerprints of both molecules plus 1/T."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.chem import make_mol
from gnnchi.evaluation.baselines.base import FoldContext, empty_predictions
from gnnchi.systems.chi import CLASS_TASK


def random_forest(context: FoldContext) -> pd.DataFrame:
    return fit_random_forest(context.table, context.parts, seed=context.fold)


def morgan_fingerprints(smiles: pd.Series, kind: str, bits: int = 2048) -> np.ndarray:
    """[len(smiles), bits] Morgan fingerprints (radius 2), each distinct SMILES computed once."""
    from rdkit.Chem import rdFingerprintGenerator

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=bits)
    cache = {s: generator.GetFingerprintAsNumPy(make_mol(s, kind)).astype(np.uint8) for s in smiles.unique()}
    return np.stack([cache[s] for s in smiles])


def _fingerprint_features(rows: pd.DataFrame) -> np.ndarray:
    return np.hstack(
        [
            morgan_fingerprints(rows["polymer"], "polymer"),
            morgan_fingerprints(rows["solvent"], "solvent"),
            1000.0 / rows[["temperature_K"]].to_numpy(),
        ]
    )


def fit_random_forest(table: pd.DataFrame, parts: dict[str, np.ndarray], seed: int = 0, trees: int = 300) -> pd.DataFrame:
    """Random forests (regression of chi_exp, classification of soluble) on fingerprints + 1/T,
    trained on the fold's training and validation rows."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    fit_rows = table.iloc[np.concatenate([parts["train"], parts["val"]])]
    test = table.iloc[parts["test"]]
    out = empty_predictions(len(test))
    if not len(test):
        return out
    x_test = _fingerprint_features(test)
    chi_rows = fit_rows[fit_rows["chi_exp"].notna()]
    if len(chi_rows) >= 2:
        forest = RandomForestRegressor(n_estimators=trees, random_state=seed, n_jobs=1)
        forest.fit(_fingerprint_features(chi_rows), chi_rows["chi_exp"])
        out["chi_exp"] = forest.predict(x_test)
    labelled = fit_rows[fit_rows[CLASS_TASK].notna()]
    if labelled[CLASS_TASK].nunique() == 2:
        forest = RandomForestClassifier(n_estimators=trees, random_state=seed, n_jobs=1)
        forest.fit(_fingerprint_features(labelled), labelled[CLASS_TASK].astype(int))
        out["p_soluble"] = forest.predict_proba(x_test)[:, 1]
    return out
