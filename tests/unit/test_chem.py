import pytest
from rdkit.Chem.rdMolDescriptors import CalcMolFormula

from gnnchi.chem import canonical_key, cyclic_oligomer, make_mol
from gnnchi.errors import InvalidSmilesError


@pytest.mark.parametrize(
    "smiles, kind, reason",
    [
        ("", "solvent", "empty"),
        ("   ", "polymer", "empty"),
        ("C1CC", "solvent", "cannot parse"),
        ("C(C)(C)(C)(C)C", "solvent", "sanitize"),
        ("*CC", "polymer", "exactly two '*'"),
        ("*C(*)*", "polymer", "exactly two '*'"),
        ("CC", "polymer", "exactly two '*'"),
        ("*CC*.O", "polymer", "fragments"),
        ("*CC(*)", "solvent", "must not contain '*'"),
        ("CCO.O", "solvent", "fragments"),
        ("[Na+].[Cl-]", "solvent", "fragments"),
        ("[CH3]", "solvent", "radical"),
        ("**", "polymer", "bonded to each other"),
        ("*=CC*", "polymer", "same order"),
    ],
)
def test_gate_names_smiles_row_and_reason(smiles, kind, reason):
    with pytest.raises(InvalidSmilesError) as info:
        make_mol(smiles, kind, row=7)
    err = info.value
    assert reason in err.reason
    assert err.row == 7
    assert err.smiles in (smiles, smiles.strip())
    assert "row 7" in str(err)


def test_gate_limits_size():
    make_mol("C" * 30, "solvent", max_heavy_atoms=30)
    with pytest.raises(InvalidSmilesError, match="exceed the limit of 30"):
        make_mol("C" * 31, "solvent", max_heavy_atoms=30)


def test_gate_removes_explicit_hydrogens():
    assert make_mol("[H]C(Cl)(Cl)Cl", "solvent").GetNumAtoms() == 4


@pytest.mark.parametrize("unit", ["*CCO*", "*OCC*", "*COC*", "C(CO*)*"])
def test_polymer_key_ignores_where_the_unit_is_cut(unit):
    assert canonical_key(make_mol(unit, "polymer"), "polymer") == canonical_key(make_mol("*CCO*", "polymer"), "polymer")


def test_polymer_key_tells_polymers_apart():
    keys = {canonical_key(make_mol(s, "polymer"), "polymer") for s in ["*CCO*", "*CCCO*", "*CC(*)C", "*C/C=C\\C*", "*C/C=C/C*"]}
    assert len(keys) == 5


def test_cyclic_oligomer_keeps_formula():
    ring = cyclic_oligomer(make_mol("*CC(*)c1ccccc1", "polymer"), 3)
    assert CalcMolFormula(ring) == "C24H24"
