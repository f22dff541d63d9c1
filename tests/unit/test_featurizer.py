import numpy as np
import pytest

from gnnchi.chem import make_mol
from gnnchi.featurizers import ATOM_DIM, BOND_DIM, NODE_DIM, collate_graphs, featurize
from gnnchi.featurizers.atom import ELEMENTS, unknown_features


def graph(smiles, kind="solvent"):
    return featurize(make_mol(smiles, kind))


@pytest.mark.parametrize("smiles", ["O", "C", "[Cl-]", "[NH4+]"])
def test_molecules_without_bonds(smiles):
    g = graph(smiles)
    assert g.x.shape == (1, NODE_DIM)
    assert g.edge_index.shape == (2, 0) and g.edge_attr.shape == (0, BOND_DIM)


def test_edges_come_in_reverse_pairs():
    g = graph("CC(=O)Oc1ccccc1")
    assert g.edge_index.shape[1] == 2 * 10
    assert (g.edge_index[:, 0::2] == g.edge_index[::-1, 1::2]).all()
    assert (g.edge_attr[0::2] == g.edge_attr[1::2]).all()


def test_one_hot_blocks_have_one_hot_each():
    g = graph("CC(=O)[O-].O=S(=O)(O)c1ccccc1".split(".")[1])
    # 5 one-hot blocks -> 5 ones among the first ATOM_DIM - 3 columns of every atom
    assert (g.x[:, : ATOM_DIM - 3].sum(1) == 5).all()
    assert (graph("CCO").edge_attr[:, :-2].sum(1) == 2).all()  # bond type + stereo


def test_out_of_vocabulary_element_goes_to_unknown_slot():
    mol = make_mol("[Te](C)C", "solvent")
    te = mol.GetAtomWithIdx(0)
    assert unknown_features(te) == ["element Te"]
    g = featurize(mol)
    assert g.x[0, len(ELEMENTS)] == 1.0 and g.x[0, : len(ELEMENTS)].sum() == 0


def test_polymer_features_come_from_the_open_unit():
    g = graph("*CC(*)c1ccccc1", "polymer")
    assert g.x.shape[0] == 8  # the two '*' are gone
    # backbone CH2 keeps degree 2 and 2 hydrogens as in the chain (not a methyl)
    methylene = g.x[0]
    assert methylene[len(ELEMENTS) + 1 + 2] == 1.0  # degree slot 2


def test_closing_bond_self_loop_and_duplicate():
    loop = graph("*C*", "polymer")
    assert loop.edge_index.tolist() == [[0, 0], [0, 0]]
    double = graph("*CC*", "polymer")
    assert double.edge_index.shape[1] == 4  # the C-C bond and the closing bond, both kept


def test_e_z_stereo_is_a_feature():
    cis, trans = graph("*C/C=C\\C*", "polymer"), graph("*C/C=C/C*", "polymer")
    assert not np.array_equal(cis.edge_attr, trans.edge_attr)
    assert np.array_equal(graph("C/C=C/C").edge_attr, graph("C(\\C)=C/C").edge_attr)


def test_collate_offsets_edges_and_builds_batch_vector():
    graphs = [graph("O"), graph("CCO"), graph("C")]
    batch = collate_graphs(graphs)
    assert batch.x.shape[0] == 5
    assert batch.batch.tolist() == [0, 1, 1, 1, 2]
    assert batch.edge_index.min() >= 1 and batch.edge_index.max() <= 3


@pytest.mark.parametrize("smiles, kind", [("CC(=O)Oc1ccccc1C(=O)[O-]", "solvent"), ("[Te](C)C", "solvent"),
                                          ("*C/C=C\\C(*)c1ccc[nH]1", "polymer"), ("C#N", "solvent")])  # fmt: skip
def test_vectorised_features_equal_the_reference_functions(smiles, kind):
    from gnnchi.featurizers.atom import atom_feature_matrix, atom_features
    from gnnchi.featurizers.bond import bond_feature_matrix, bond_features, rdkit_bond_values

    mol = make_mol(smiles, kind)
    expected_x = np.array([atom_features(a) for a in mol.GetAtoms()], dtype=np.float32)
    np.testing.assert_allclose(atom_feature_matrix(mol), expected_x, rtol=1e-6)
    values = [rdkit_bond_values(b) for b in mol.GetBonds()]
    expected_e = np.array([bond_features(*v) for v in values], dtype=np.float32)
    np.testing.assert_array_equal(bond_feature_matrix(values), expected_e)
