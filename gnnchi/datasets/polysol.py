"""PolySol solvent / non-solvent labels, with each guessed monomer converted to a repeat unit.

Conversion, per polymer: the reviewed table ``polysol/repeat_units.csv`` decides
(``rule``: open the vinyl monomer's single non-aromatic C=C into ``*C-C*``; ``name``: a
repeat unit written from the polymer's name; ``exclude``: the structure cannot be told).
Every conversion is checked: a valid RDKit repeat unit with exactly two `*`, and for addition
polymers (the vinyl rule, and ``name`` rows whose ``monomer`` column gives the real monomer)
the repeat unit's formula equals the monomer's. Rows that fail are written,
with their reasons, to ``polysol/excluded_rows.csv`` by ``python -m gnnchi.datasets.polysol``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from rdkit import Chem, rdBase

from gnnchi.chem import make_mol
from gnnchi.errors import InvalidSmilesError

HERE = Path(__file__).parent / "polysol"
SOURCE = "polysol/homopolymer_solubility.csv"
EXCLUDED_FILE = HERE / "excluded_rows.csv"


@dataclass
class SolubleData:
    """table: converted rows (polymer, solvent, soluble, source, row); excluded: row, polymer, solvent, reason."""

    table: pd.DataFrame
    excluded: pd.DataFrame


def vinyl_rule(monomer_smiles: str) -> str | None:
    """Repeat unit of a monomer with exactly one non-aromatic C=C (``C=CC`` -> ``*CC(*)C``), else None."""
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(monomer_smiles)
    if mol is None:
        return None
    double = [
        b
        for b in mol.GetBonds()
        if b.GetBondType() == Chem.BondType.DOUBLE
        and b.GetBeginAtom().GetSymbol() == "C"
        and b.GetEndAtom().GetSymbol() == "C"
    ]
    if len(double) != 1:
        return None
    unit = Chem.RWMol(mol)
    unit.GetBondWithIdx(double[0].GetIdx()).SetBondType(Chem.BondType.SINGLE)
    for idx in (double[0].GetBeginAtomIdx(), double[0].GetEndAtomIdx()):
        unit.AddBond(idx, unit.AddAtom(Chem.Atom(0)), Chem.BondType.SINGLE)
    Chem.SanitizeMol(unit)
    return Chem.MolToSmiles(unit)


def formula(mol: Chem.Mol) -> Counter:
    """Element counts, hydrogens included, `*` atoms left out."""
    counts: Counter = Counter()
    for atom in mol.GetAtoms():
        if atom.GetAtomicNum():
            counts[atom.GetSymbol()] += 1
            counts["H"] += atom.GetTotalNumHs()
    return counts


def same_formula_per_unit(unit: str, monomer: str) -> bool:
    """An addition (or ring-opening) polymer's unit has the monomer's formula, or a whole
    fraction of it for cyclic oligomer monomers (lactide gives two lactic units)."""
    with rdBase.BlockLogs():
        unit_mol, monomer_mol = Chem.MolFromSmiles(unit), Chem.MolFromSmiles(monomer)
    if unit_mol is None or monomer_mol is None:
        return False
    per_unit, whole = formula(unit_mol), formula(monomer_mol)
    copies = whole["C"] // per_unit["C"] if per_unit["C"] else 1
    return copies >= 1 and Counter({k: v * copies for k, v in per_unit.items()}) == whole


def load_repeat_unit_table() -> pd.DataFrame:
    table = pd.read_csv(HERE / "repeat_units.csv", dtype=str, keep_default_na=False)
    duplicated = table["polymer"][table["polymer"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"repeat_units.csv lists these polymers twice: {duplicated}")
    return table.set_index("polymer")


def convert_polymer(name: str, monomer: str, reviewed: pd.DataFrame) -> tuple[str | None, str]:
    """(repeat unit or None, reason when None) for one PolySol polymer."""
    if name not in reviewed.index:
        return None, "polymer missing from the reviewed table repeat_units.csv"
    entry = reviewed.loc[name]
    if entry["decision"] == "exclude":
        return None, f"excluded in review: {entry['note']}"
    if entry["decision"] == "rule":
        unit = vinyl_rule(monomer)
        if unit is None:
            return None, "the vinyl rule does not apply to the monomer"
        if formula(Chem.MolFromSmiles(unit)) != formula(Chem.MolFromSmiles(monomer)):
            return None, "vinyl rule: repeat unit formula differs from the monomer's"
    elif entry["decision"] == "name":
        unit = entry["repeat_unit"]
        if entry["monomer"] and not same_formula_per_unit(unit, entry["monomer"]):
            return None, f"repeat unit {unit!r} and its addition monomer {entry['monomer']!r} differ in formula"
    else:
        return None, f"unknown decision {entry['decision']!r} in repeat_units.csv"
    try:
        make_mol(unit, "polymer")
    except InvalidSmilesError as err:
        return None, f"repeat unit {unit!r} fails the check: {err.reason}"
    return unit, ""


def load_soluble() -> SolubleData:
    """Converted PolySol rows and the excluded ones with their reasons."""
    raw = pd.read_csv(HERE / "homopolymer_solubility.csv", sep=";", dtype=str, keep_default_na=False)
    reviewed = load_repeat_unit_table()
    units = {
        name: convert_polymer(name, monomer, reviewed)
        for name, monomer in raw[["polymer", "mono_smiles"]].drop_duplicates().itertuples(index=False)
    }
    kept, excluded = [], []
    for i, rec in enumerate(raw.itertuples(index=False)):
        row = i + 2
        unit, reason = units[rec.polymer]
        if unit is not None:
            try:
                make_mol(rec.solvent_smiles, "solvent")
            except InvalidSmilesError as err:
                unit, reason = None, f"solvent {rec.solvent_smiles!r}: {err.reason}"
        if unit is None:
            excluded.append({"row": row, "polymer": rec.polymer, "solvent": rec.solvent, "reason": reason})
            continue
        kept.append(
            {
                "polymer": unit,
                "solvent": rec.solvent_smiles,
                "soluble": float(rec.solvent_characteristic),
                "source": SOURCE,
                "row": row,
            }
        )
    return SolubleData(pd.DataFrame(kept), pd.DataFrame(excluded, columns=["row", "polymer", "solvent", "reason"]))


if __name__ == "__main__":
    data = load_soluble()
    data.excluded.to_csv(EXCLUDED_FILE, index=False)
    print(f"kept {len(data.table)} rows, excluded {len(data.excluded)} -> {EXCLUDED_FILE}")
