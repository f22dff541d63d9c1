"""The bundled data: row counts, the PolySol conversion and its committed exclusion list."""

import pandas as pd
from rdkit import Chem

from gnnchi.chem import make_mol
from gnnchi.datasets import bundled_pairs, load_chi_cosmo, load_chi_exp
from gnnchi.datasets.polysol import (
    EXCLUDED_FILE,
    HERE,
    formula,
    load_repeat_unit_table,
    load_soluble,
    same_formula_per_unit,
    vinyl_rule,
)


def test_chi_tables_are_complete():
    chi, cosmo = load_chi_exp(), load_chi_cosmo()
    assert len(chi) == 1190 and chi["fold"].notna().all() and chi["polymer"].str.count(r"\*").eq(2).all()
    assert len(cosmo) == 1206 and cosmo["polymer"].notna().all()
    assert chi["temperature_K"].between(273.0, 503.0).all()


def test_soluble_keeps_at_least_1500_rows_and_every_exclusion_has_a_reason():
    data = load_soluble()
    assert len(data.table) >= 1500
    assert len(data.table) + len(data.excluded) == 1818
    assert data.excluded["reason"].str.len().gt(0).all()
    assert set(data.table["soluble"]) == {0.0, 1.0}


def test_committed_exclusion_file_is_current():
    data = load_soluble()
    committed = pd.read_csv(EXCLUDED_FILE, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(committed, data.excluded.astype(str), check_dtype=False)


def test_every_converted_repeat_unit_passes_the_gate_and_the_rule_keeps_formulas():
    raw = pd.read_csv(HERE / "homopolymer_solubility.csv", sep=";", dtype=str)
    monomer = dict(zip(raw["polymer"], raw["mono_smiles"]))
    reviewed = load_repeat_unit_table()
    assert set(reviewed.index) == set(raw["polymer"])
    for name, entry in reviewed.iterrows():
        if entry["decision"] == "rule":
            unit = vinyl_rule(monomer[name])
            assert formula(Chem.MolFromSmiles(unit)) == formula(Chem.MolFromSmiles(monomer[name])), name
        elif entry["decision"] == "name":
            mol = make_mol(entry["repeat_unit"], "polymer")
            assert sum(a.GetAtomicNum() == 0 for a in mol.GetAtoms()) == 2
            if entry["monomer"]:
                assert same_formula_per_unit(entry["repeat_unit"], entry["monomer"]), name
    assert (reviewed["monomer"] != "").sum() >= 100  # ring-opening, diene, acetylene... polymers checked too


def test_formula_check_catches_a_wrong_unit():
    assert same_formula_per_unit("*CCO*", "C1CO1")
    assert same_formula_per_unit("*OC(C)C(*)=O", "CC1OC(=O)C(C)OC1=O")  # lactide: two units
    assert not same_formula_per_unit("*CCCO*", "C1CO1")
    assert not same_formula_per_unit("*CC=CC*", "C=CC=CC")


def test_vinyl_rule():
    assert vinyl_rule("C=Cc1ccccc1") == Chem.MolToSmiles(Chem.MolFromSmiles("*CC(*)c1ccccc1"))
    assert vinyl_rule("C=CC=C") is None  # two C=C: not a vinyl monomer
    assert vinyl_rule("c1ccccc1") is None


def test_bundled_pairs_has_each_task():
    table = bundled_pairs()
    counts = table[["soluble", "chi_exp", "chi_cosmo"]].notna().sum()
    assert counts["chi_exp"] == 1190 and counts["chi_cosmo"] == 1206 and counts["soluble"] >= 1500
    assert (table[["soluble", "chi_exp", "chi_cosmo"]].notna().sum(axis=1) == 1).all()
