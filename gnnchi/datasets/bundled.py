"""Load the bundled data as one table of the chi system (:mod:`gnnchi.systems.chi` declares its columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.systems.chi import ROOM_TEMPERATURE_K, TASKS, TEMPERATURE

CELSIUS_TO_KELVIN = TEMPERATURE.units["temperature_C"]  # the source files give temperatures in °C

HERE = Path(__file__).parent
MTL = HERE / "mtl_chiparameter"


def load_chi_exp() -> pd.DataFrame:
    """1,190 experimental chi rows with the paper's test fold of each."""
    raw = pd.read_csv(MTL / "data_Chi.csv", index_col=0)
    folds = pd.read_csv(MTL / "test_folds.csv").set_index("row")["fold"]
    polymer, solvent = _split_pair(raw["ps_pair_nonCyclic"])
    return pd.DataFrame(
        {
            "polymer": polymer,
            "solvent": solvent,
            "temperature_K": CELSIUS_TO_KELVIN(raw["temp"].to_numpy(float)),
            "chi_exp": raw["chi"].to_numpy(float),
            "fold": folds.reindex(raw.index).to_numpy(),
            "source": "mtl_chiparameter/data_Chi.csv",
            "row": np.arange(len(raw)) + 2,
        }
    )


def load_chi_cosmo() -> pd.DataFrame:
    """1,206 COSMO-RS chi rows; repeat units joined from data_Chi on ``ps_pair``."""
    raw = pd.read_csv(MTL / "data_COSMO.csv", index_col=0)
    chi = pd.read_csv(MTL / "data_Chi.csv", index_col=0)
    repeat_pairs = chi.drop_duplicates("ps_pair").set_index("ps_pair")["ps_pair_nonCyclic"]
    joined = raw["ps_pair"].map(repeat_pairs)
    if joined.isna().any():
        raise ValueError(f"{int(joined.isna().sum())} COSMO-RS pairs have no repeat unit in data_Chi.csv")
    polymer, solvent = _split_pair(joined)
    return pd.DataFrame(
        {
            "polymer": polymer,
            "solvent": solvent,
            "temperature_K": CELSIUS_TO_KELVIN(raw["temp"].to_numpy(float)),
            "chi_cosmo": raw["chi"].to_numpy(float),
            "source": "mtl_chiparameter/data_COSMO.csv",
            "row": np.arange(len(raw)) + 2,  # the file's line (its index column is not contiguous)
        }
    )


def bundled_pairs() -> pd.DataFrame:
    """All bundled rows as one normalised pair table (targets NaN where a row lacks them)."""
    from gnnchi.datasets.polysol import load_soluble

    soluble = load_soluble().table.assign(temperature_K=ROOM_TEMPERATURE_K)
    frames = [load_chi_exp(), load_chi_cosmo(), soluble]
    table = pd.concat(frames, ignore_index=True)
    for task in TASKS:
        table[task] = table[task].astype(float)
    table["fold"] = table["fold"].astype(float)  # NaN where the paper gives no fold
    return table[["polymer", "solvent", "temperature_K", *TASKS, "fold", "source", "row"]]


def _split_pair(pairs: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    parts = pairs.str.split("_", n=1, expand=True)
    return parts[0].to_numpy(), parts[1].to_numpy()
