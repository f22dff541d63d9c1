"""Activity coefficients at infinite dilution (ln gamma_inf) of small-molecule solute / solvent pairs.

Source: ``idac_brouwer/brouwer_2021_idac.csv``, GitHub edgarsmdn/GH-GNN @0bbd2b31 ``data/raw/Brouwer_2021.csv``
(MIT, LICENSE beside it; Sanchez Medina et al., Digital Discovery 2023; data compiled by Brouwer,
Kooijman and Schuur, Ind. Eng. Chem. Res. 2021): 20,870 rows of ``Solute_SMILES``, ``Solvent_SMILES``,
``log-gamma`` (the natural log of gamma_inf) and ``T`` (°C). gnnchi uses it as an auxiliary pair
target for the encoders.

Every distinct SMILES (373 solutes, 349 solvents) goes through the RDKit gate once
(:func:`gnnchi.chem.make_mol`, as a solvent) and is keyed by :func:`gnnchi.chem.molecule_keys`
(canonical key and stereo-free group key), the keys the pair tables use. All pass the gate; none
is multi-fragment (the gate would refuse a '.'-separated salt or ionic liquid: the file has none).
No molecule is an ion: the only charged atoms are in nitro and nitrate groups (14 solutes, 5
solvents), which RDKit writes as ``[N+](=O)[O-]`` (net charge 0) also where the file has the
pentavalent ``N(=O)=O``. Two solutes (decalin) and two solvents (3-aminosulfolane) are each one
molecule written two ways, and share a key. All temperatures lie within 250.00-555.60 K
(``temperature_K`` is T + 273.15 rounded to 1e-6 K, so -23.15 °C gives 250 K, not 249.99999999999997).

Rows not used, each listed with its reason in ``idac_brouwer/excluded_rows.csv`` (regenerate it with
``python -m gnnchi.datasets.idac``; a test checks that it is current):

- a SMILES the gate refuses (none in the bundled file), a value or temperature that is not a finite
  number, or a temperature outside 200-600 K (none);
- 12 rows whose solute and solvent are the same molecule (n-alkanes, cyclohexane, 1-pentene,
  1-hexene, propionitrile): gamma_inf of a liquid in itself is 1 by definition, and these rows
  give ln gamma_inf from -0.04 to 0.64;
- 593 exact repeats of an earlier row (same solute key, solvent key, temperature and value): the
  first in file order is kept.

Rows with the same solute, solvent and temperature but different values are independent
measurements and all kept: 3,524 rows in 1,265 such groups of the bundled file. Kept: 20,265 rows,
372 solutes and 347 solvents by key (1-pentene is a solvent only in its row with itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import make_mol, molecule_keys
from gnnchi.errors import InvalidSmilesError

HERE = Path(__file__).parent / "idac_brouwer"
SOURCE = "idac_brouwer/brouwer_2021_idac.csv"
EXCLUDED_FILE = HERE / "excluded_rows.csv"
T_MIN_K, T_MAX_K = 200.0, 600.0
CELSIUS_TO_K = 273.15
TABLE_COLUMNS = ["solute_smiles", "solvent_smiles", "solute_key", "solute_group_key", "solvent_key",
                 "solvent_group_key", "temperature_K", "ln_gamma_inf", "row"]  # fmt: skip
EXCLUDED_COLUMNS = ["row", "solute", "solvent", "reason"]


@dataclass
class IdacData:
    """table: one row per kept observation, with ``solute_smiles``, ``solvent_smiles`` (as in the file),
    ``solute_key``, ``solute_group_key``, ``solvent_key``, ``solvent_group_key`` (the gate's keys),
    ``temperature_K``, ``ln_gamma_inf`` and ``row`` (the file line, header = 1); excluded: ``row``,
    ``solute``, ``solvent``, ``reason`` of every row not used."""

    table: pd.DataFrame
    excluded: pd.DataFrame


def load_idac(path: str | Path | None = None) -> IdacData:
    """The ln gamma_inf table (``path``: a file of the same columns; default the bundled one)."""
    raw = pd.read_csv(path or HERE / "brouwer_2021_idac.csv", dtype=str, keep_default_na=False)
    rows = np.arange(len(raw)) + 2  # the file's lines, header = 1
    keys: dict[str, tuple[str, str] | str] = {}  # SMILES -> its two keys, or the gate's reason
    for column in ("Solute_SMILES", "Solvent_SMILES"):
        for smiles, row in zip(raw[column], rows):
            if smiles not in keys:
                try:
                    keys[smiles] = molecule_keys(make_mol(smiles, "solvent", int(row)), "solvent")
                except InvalidSmilesError as err:
                    keys[smiles] = err.reason
    value = pd.to_numeric(raw["log-gamma"].str.strip(), errors="coerce").to_numpy(float)
    celsius = pd.to_numeric(raw["T"].str.strip(), errors="coerce").to_numpy(float)
    kelvin = np.round(celsius + CELSIUS_TO_K, 6)  # T has at most 2 decimals; no float residue

    kept, excluded = [], []
    first: dict[tuple, int] = {}  # (solute key, solvent key, T, value) -> the row kept
    for i, (solute, solvent) in enumerate(zip(raw["Solute_SMILES"], raw["Solvent_SMILES"])):
        row, solute_keys, solvent_keys = int(rows[i]), keys[solute], keys[solvent]
        reasons = [f"{name} SMILES: {k}" for name, k in (("solute", solute_keys), ("solvent", solvent_keys))
                   if isinstance(k, str)]  # fmt: skip
        if not np.isfinite(value[i]):
            reasons.append(f"log-gamma: not a finite number ({raw['log-gamma'].iat[i]!r})")
        if not np.isfinite(celsius[i]):
            reasons.append(f"T: not a finite number ({raw['T'].iat[i]!r})")
        elif not T_MIN_K <= kelvin[i] <= T_MAX_K:
            reasons.append(f"T: {kelvin[i]:.2f} K outside {T_MIN_K:.0f}-{T_MAX_K:.0f} K")
        if not reasons and solute_keys[0] == solvent_keys[0]:
            reasons.append(f"solute and solvent are the same molecule ({solute_keys[0]}): ln gamma_inf is 0 "
                           "by definition")  # fmt: skip
        if not reasons:
            repeated = first.setdefault((solute_keys[0], solvent_keys[0], celsius[i], value[i]), row)
            if repeated != row:
                reasons.append(f"repeats row {repeated}")
        if reasons:
            excluded.append({"row": row, "solute": solute, "solvent": solvent, "reason": "; ".join(reasons)})
            continue
        kept.append((solute, solvent, *solute_keys, *solvent_keys, kelvin[i], value[i], row))
    table = pd.DataFrame(kept, columns=TABLE_COLUMNS).astype({"row": int})
    return IdacData(table, pd.DataFrame(excluded, columns=EXCLUDED_COLUMNS))


if __name__ == "__main__":
    data = load_idac()
    data.excluded.to_csv(EXCLUDED_FILE, index=False)
    print(f"{len(data.table)} rows kept; excluded {len(data.excluded)} rows -> {EXCLUDED_FILE}")
    print(data.excluded["reason"].str.replace(r"\d+", "N", regex=True).value_counts().to_string())
