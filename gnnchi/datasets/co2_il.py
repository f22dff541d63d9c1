"""Load the bundled CO2-in-ionic-liquid data as one table of the ``co2_il`` system (:mod:`gnnchi.systems.co2_il`).

``co2_ionic_liquids/co2_solubility.csv``: 15,665 measured mole fractions of CO2 in 183 ionic liquids
(84 cations, 45 anions) at 243-453 K and 0.0013-49,990 kPa, from MrPiegon/RBVAE-FNN-PSO @6e4a9f15
``Modeldata/CO2ModelData.xlsx`` (Apache-2.0; Chen et al., "Exploring the chemical space of ionic
liquids for CO2 dissolution through generative machine learning models"), converted to CSV with the
values unchanged.

The source splits each ionic liquid's SMILES at its ``.`` into the cation and anion columns in the
order written; 4 ionic liquids (229 rows) are written anion first, so their columns are swapped.
The loader takes each ion by the sign of its net formal charge, so every bundled row passes the gate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rdkit import Chem, rdBase

HERE = Path(__file__).parent / "co2_ionic_liquids"
SOURCE = "co2_ionic_liquids/co2_solubility.csv"


def net_charge(smiles: str) -> int:
    """The sum of the formal charges of a SMILES (0 where RDKit cannot read it: the gate reports it)."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles)
    return sum(a.GetFormalCharge() for a in mol.GetAtoms()) if mol is not None else 0


def load_co2_il() -> pd.DataFrame:
    """All 15,665 rows: ``cation``, ``anion``, ``temperature_K``, ``pressure_kPa``, ``x_co2``, ``il_index``
    (the source's ionic-liquid number), ``source`` and ``row`` (the line in the source file)."""
    raw = pd.read_csv(HERE / "co2_solubility.csv")
    charges = {s: net_charge(s) for s in pd.unique(raw[["cation", "anion"]].to_numpy().ravel())}
    swapped = (raw["cation"].map(charges) < 0) & (raw["anion"].map(charges) > 0)
    cation = np.where(swapped, raw["anion"], raw["cation"])
    anion = np.where(swapped, raw["cation"], raw["anion"])
    return pd.DataFrame(
        {
            "cation": cation,
            "anion": anion,
            "temperature_K": raw["temperature_K"].to_numpy(float),
            "pressure_kPa": raw["pressure_kPa"].to_numpy(float),
            "x_co2": raw["x_co2"].to_numpy(float),
            "il_index": raw["il_index"].to_numpy(int),
            "source": SOURCE,
            "row": np.arange(len(raw)) + 2,
        }
    )


def ionic_liquid_names() -> pd.DataFrame:
    """The source's names of its ionic liquids: ``il_index``, ``name``, ``abbreviation``, families."""
    return pd.read_csv(HERE / "ionic_liquids.csv")
