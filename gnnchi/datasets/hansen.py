"""Hansen solubility parameters (dD, dP, dH in MPa^0.5) and molar volumes (cm3/mol) of small molecules.

Source: ``hansen_hspipy/hsp_compounds.csv``, GitHub Gnpd/HSPiPy @3e1612d1 ``examples/HSP_dataset.csv``
(MIT, LICENSE beside it): 1,206 rows of the classical Hansen tables, one SMILES each.

Every SMILES goes through the RDKit gate (:func:`gnnchi.chem.make_mol`, as a solvent) and is keyed by
:func:`gnnchi.chem.canonical_key`, the key the pair tables use. Rows that fail the gate, have a
missing or impossible number, or lose to another row of the same molecule are not used; each is
listed with its reason in ``hansen_hspipy/excluded_rows.csv`` (regenerate it with
``python -m gnnchi.datasets.hansen``; a test checks that it is current).

Several rows name one molecule (20 molecules in the file). They are resolved by :data:`REVIEWED`,
one reviewed decision per molecule: keep the named row (Hansen's standard entry over the fitted
solubility spheres and group-contribution variants), or ``mean`` for cis/trans isomers whose SMILES
carries no stereo (the key stands for the unspecified isomer mixture). A group without a decision
keeps its first row when all its rows agree, and is excluded as a whole when they do not.

Not used: HSPiPy's ``hspipy/db.csv`` (249 common solvents). Against this file it has values shifted
by a decimal place (1,1-dichloroethylene dP 52 and dH 24 for 5.2 and 2.4, methyl methacrylate dH 54,
oleic acid dP 28), a wrong molar volume (methylal 169.4 for 89.1) and SMILES of another molecule
than its name (ethylene glycol monoethyl ether, propylene glycol monophenyl ether), and it adds one
solvent of the chi data (m-xylene, 4 ``chi_exp`` rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import canonical_key, make_mol
from gnnchi.errors import InvalidSmilesError

HERE = Path(__file__).parent / "hansen_hspipy"
SOURCE = "hansen_hspipy/hsp_compounds.csv"
EXCLUDED_FILE = HERE / "excluded_rows.csv"
COLUMNS = {"dD": "dD", "dP": "dP", "dH": "dH", "Mvol": "molar_volume"}  # file column -> table column
MEAN = "mean"

# canonical key -> (the Name kept, or MEAN of the group's rows; why)
REVIEWED: dict[str, tuple[str, str]] = {
    "O": ("Water", "Hansen's standard water; the other two rows are solubility spheres fitted for special uses"),
    "CO": ("Methanol", "the standard entry; 'Methanol Cluster' is a fitted variant with V = 100"),
    "C1CCCCC1": ("Cyclohexane", "the standard entry; 'for IGC' is a variant for inverse gas chromatography"),
    "C1COCCO1": ("1,4-Dioxane", "the standard entry; '(High P)' is an alternative polar assignment"),
    "ClC(Cl)(Cl)Cl": ("Carbon Tetrachloride (0 Dipole Moment)", "the standard entry (no dipole: dP 0); "
                      "the other is a group-contribution estimate"),  # fmt: skip
    "S=C=S": ("Carbon Disulfide (0 Dipole Moment)", "no dipole: dP 0; the other is a group-contribution estimate"),
    "ClC(Cl)(Cl)Br": ("Bromotrichloro Methane #1", "the entry from the dipole moment; #2-Gc is a group "
                      "contribution, #3 a variant"),  # fmt: skip
    "Cc1c([N+](=O)[O-])cc([N+](=O)[O-])cc1[N+](=O)[O-]": (
        "Trinitrotoluene (TNT) (DM)", "dP from the dipole moment, preferred to the group contribution (G.C.)"),
    "NC(N)=O": ("Urea For Ro Equal 19.4", "two fitted spheres; the first in file order"),
    "NC(N)=S": ("Thiourea", "the direct entry; the other is derived from urea's sphere"),
    "CC": ("Ethane", "the two rows agree within 0.1; the one without the boiling-point qualifier"),
    "C=CCC#N": ("Allyl Cyanide", "the two rows agree within 0.2; the first in file order"),
    "COCCOC": ("Dimethyl Cellosolve", "the two rows agree within 0.3; the first in file order"),
    "CCSC": ("Ethyl Methyl Sulfide", "two tabulations disagree (up to 2.8 in dH); the named entry, first in file"),
    "C1CCC2CCCCC2C1": (MEAN, "cis and trans decalin; the SMILES has no stereo, so the key is the isomer mixture"),
    "ClC=CCl": (MEAN, "cis and trans 1,2-dichloroethylene; the SMILES has no stereo"),
}


@dataclass
class HansenData:
    """table: one row per molecule, indexed by its canonical key (``key``), with ``dD``, ``dP``,
    ``dH`` (MPa^0.5), ``molar_volume`` (cm3/mol), ``name``, ``smiles`` and ``rows`` (the file lines
    it comes from, ``;``-joined); excluded: ``row``, ``name``, ``smiles``, ``reason`` of every row not used."""

    table: pd.DataFrame
    excluded: pd.DataFrame


def load_hansen(path: str | Path | None = None) -> HansenData:
    """The Hansen table (``path``: a file of the same columns; default the bundled one)."""
    raw = pd.read_csv(path or HERE / "hsp_compounds.csv", dtype=str, keep_default_na=False)
    kept, excluded = [], []
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 2  # the file's line, header = 1
        reason, values, key = "", {}, ""
        try:
            key = canonical_key(make_mol(rec["SMILES"], "solvent", row), "solvent")
        except InvalidSmilesError as err:
            reason = f"SMILES: {err.reason}"
        if not reason:
            values = {new: pd.to_numeric(rec[old].strip(), errors="coerce") for old, new in COLUMNS.items()}
            bad = [old for old, new in COLUMNS.items() if not np.isfinite(values[new]) or values[new] < 0]
            if values["molar_volume"] <= 0 and "Mvol" not in bad:
                bad.append("Mvol")
            if bad:
                reason = f"{', '.join(bad)}: not a finite number >= 0 (Mvol > 0)"
        if reason:
            excluded.append({"row": row, "name": rec["Name"], "smiles": rec["SMILES"], "reason": reason})
            continue
        kept.append({"key": key, **values, "name": rec["Name"], "smiles": rec["SMILES"], "row": row})
    table, dropped = _resolve_duplicates(pd.DataFrame(kept))
    excluded = pd.DataFrame(excluded + dropped, columns=["row", "name", "smiles", "reason"])
    return HansenData(table, excluded.sort_values("row", kind="stable").reset_index(drop=True))


def _resolve_duplicates(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """One row per key (see the module docstring); the rows dropped, with their reasons."""
    values = list(COLUMNS.values())
    out, dropped = [], []
    for key, group in rows.groupby("key", sort=True):
        lines = ";".join(str(r) for r in group["row"])
        if len(group) == 1:
            out.append({**group.iloc[0].drop("row").to_dict(), "rows": lines})
            continue
        choice, why = REVIEWED.get(key, (None, ""))
        if choice == MEAN:
            first = group.iloc[0]
            out.append({"key": key, **group[values].mean().to_dict(), "name": " / ".join(group["name"]),
                        "smiles": first["smiles"], "rows": lines})  # fmt: skip
            continue
        if choice is None:
            if (group[values].nunique() == 1).all():
                choice, why = group["name"].iloc[0], "the rows agree; the first in file order"
            else:
                dropped += [{**_who(r), "reason": f"same molecule ({key}) as rows {lines} with other values, "
                             "and no reviewed decision: all excluded"} for _, r in group.iterrows()]  # fmt: skip
                continue
        chosen = group[group["name"] == choice]
        if len(chosen) != 1:
            raise ValueError(f"hansen: the reviewed choice {choice!r} for {key} names {len(chosen)} rows of {lines}")
        winner = chosen.iloc[0]
        out.append({**winner.drop("row").to_dict(), "rows": str(winner["row"])})
        dropped += [
            {**_who(r), "reason": f"same molecule ({key}) as row {winner['row']} ({winner['name']}), kept: {why}"}
            for _, r in group.iterrows()
            if r["row"] != winner["row"]
        ]
    table = pd.DataFrame(out, columns=["key", *values, "name", "smiles", "rows"]).set_index("key")
    return table, dropped


def _who(record: pd.Series) -> dict:
    return {"row": int(record["row"]), "name": record["name"], "smiles": record["smiles"]}


if __name__ == "__main__":
    data = load_hansen()
    data.excluded.to_csv(EXCLUDED_FILE, index=False)
    print(f"{len(data.table)} molecules; excluded {len(data.excluded)} rows -> {EXCLUDED_FILE}")
