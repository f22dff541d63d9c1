"""COSMO-RS chi of the same pair and temperature as a prediction of experimental chi (where the data has one)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.evaluation.baselines.base import FoldContext, empty_predictions


def cosmo_rs(context: FoldContext) -> pd.DataFrame:
    return cosmo_rs_lookup(context.table, context.parts)


def cosmo_rs_lookup(table: pd.DataFrame, parts: dict[str, np.ndarray]) -> pd.DataFrame:
    """chi_cosmo of the same pair (canonical keys) and temperature, wherever one exists in the data."""
    test = table.iloc[parts["test"]]
    cosmo = table.loc[table["chi_cosmo"].notna(), ["polymer_key", "solvent_key", "temperature_K", "chi_cosmo"]]
    cosmo = cosmo.assign(temperature_K=cosmo["temperature_K"].round(2))
    cosmo = cosmo.groupby(["polymer_key", "solvent_key", "temperature_K"], as_index=False)["chi_cosmo"].mean()
    keys = test[["polymer_key", "solvent_key"]].assign(temperature_K=test["temperature_K"].round(2))
    found = keys.merge(cosmo, how="left", on=["polymer_key", "solvent_key", "temperature_K"])
    out = empty_predictions(len(test))
    out["chi_exp"] = found["chi_cosmo"].to_numpy()
    return out
