"""The molecule descriptors beside the graph: values checked against hand-written oligomers and by
hand, and the same invariances as the graph (a repeat unit, its rotations and multiples)."""

import numpy as np
import pytest

from gnnchi.chem import make_mol
from gnnchi.featurizers import ATOM_DIM, featurize
from gnnchi.featurizers.descriptors import DESCRIPTOR_DIM, DESCRIPTOR_NAMES, descriptor_vector, raw_descriptors


def squash(values):
    return np.sign(values) * np.log1p(np.abs(values))


def vector(smiles, kind="polymer"):
    return descriptor_vector(make_mol(smiles, kind))


def column(name):
    return DESCRIPTOR_NAMES.index(name)


def test_polyethylene_by_hand():
    """Per heavy atom of -CH2-: mass 12.011, 6 valence electrons (C 4 + 2 H); size entry 0."""
    values = vector("*CC*")
    assert values.shape == (DESCRIPTOR_DIM,)
    assert values[column("HeavyAtomMolWt")] == pytest.approx(np.log1p(12.011), abs=1e-5)
    assert values[column("NumValenceElectrons")] == pytest.approx(np.log1p(6.0), abs=1e-6)
    assert values[column("NumHDonors")] == 0.0 and values[-1] == 0.0


@pytest.mark.parametrize(
    "unit, trimer, tetramer",
    [
        ("*CC(*)c1ccccc1", "CC(c1ccccc1)CC(c1ccccc1)CCc1ccccc1", "CC(c1ccccc1)CC(c1ccccc1)CC(c1ccccc1)CCc1ccccc1"),
        ("*CC(*)C(=O)OC", "CC(C(=O)OC)CC(C(=O)OC)CCC(=O)OC", "CC(C(=O)OC)CC(C(=O)OC)CC(C(=O)OC)CCC(=O)OC"),
        ("*CCO*", "CCOCCOCCO", "CCOCCOCCOCCO"),
    ],
)
def test_repeat_unit_values_are_the_increment_of_hand_written_oligomers(unit, trimer, tetramer):
    """Polystyrene, poly(methyl acrylate), PEO: tetramer minus trimer, per heavy atom of the unit."""
    unit_atoms = make_mol(unit, "polymer").GetNumAtoms() - 2
    increment = raw_descriptors(make_mol(tetramer, "solvent")) - raw_descriptors(make_mol(trimer, "solvent"))
    expected = np.append(squash(increment / unit_atoms), 0.0)
    np.testing.assert_allclose(vector(unit), expected, rtol=0, atol=1e-5)


def test_a_solvent_is_per_heavy_atom_with_its_size():
    mol = make_mol("CCO", "solvent")
    expected = np.append(squash(raw_descriptors(mol) / 3), squash(np.log(3)))
    np.testing.assert_allclose(vector("CCO", "solvent"), expected, rtol=0, atol=1e-6)
    assert vector("CCCCCCO", "solvent")[-1] > vector("CCO", "solvent")[-1]


@pytest.mark.parametrize(
    "units",
    [
        ["*CCO*", "*OCC*", "*COC*", "*CCOCCO*", "*CCOCCOCCO*"],
        ["*CC(*)c1ccccc1", "*CC(c1ccccc1)CC(*)c1ccccc1"],
        ["*C*", "*CC*", "*CCC*"],
        ["*O[Si](C)(C)*", "*[Si](C)(C)O*"],
        ["*NCCCCCC(*)=O", "*C(=O)NCCCCC*", "*CCC(=O)NCCC*"],
        ["*c1ccc(*)cc1", "*c1ccc(-c2ccc(*)cc2)cc1"],
        ["*C=C*", "*C=CC=C*"],
    ],
)
def test_rotated_and_multiplied_units_give_one_vector(units):
    vectors = [vector(u) for u in units]
    for other in vectors[1:]:
        np.testing.assert_allclose(other, vectors[0], rtol=0, atol=1e-6)


def test_different_polymers_differ_and_the_graph_carries_the_vector_on_every_atom():
    assert np.abs(vector("*CC*") - vector("*CC(*)C(=O)OC")).max() > 0.1
    graph = featurize(make_mol("*CC(*)C(=O)OC", "polymer"))
    np.testing.assert_array_equal(graph.x[:, ATOM_DIM:], np.tile(vector("*CC(*)C(=O)OC"), (graph.x.shape[0], 1)))
