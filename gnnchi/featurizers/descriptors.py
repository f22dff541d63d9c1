"""Molecule -> a fixed vector of RDKit descriptors (numpy), the hybrid encoders' second input.

Every descriptor here is a sum of atom or group contributions (Crippen logP and MR, TPSA, the VSA
bins, functional-group counts, ...), so it has an exact value per repeat unit: the increment from
the hydrogen-capped trimer to the tetramer, where the chain ends cancel. Divided by the unit's heavy
atoms it is the same for a unit, its rotations and its multiples, like the graph encoding. A
solvent's values are divided by its heavy atoms too, and its size is one more entry (ln of its heavy
atoms; 0 for a polymer, a chain of no fixed size). Values are squashed by sign(v) ln(1 + |v|).

The list keeps the contribution descriptors of ``rdkit.Chem.Descriptors`` whose per-unit increments
were exactly equal (1e-6) for 300 bundled polymers and their doubled units (the EState VSA bins were
not), less those that are zero for every bundled molecule.
"""

from __future__ import annotations

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import Descriptors

from gnnchi.chem import atoms_of, capped_oligomer

DESCRIPTOR_NAMES = (
    "HeavyAtomMolWt", "NumValenceElectrons", "Chi0", "Chi0n", "Chi0v", "Chi1", "Chi1n", "Chi1v", "HallKierAlpha",
    "LabuteASA", "TPSA", "MolLogP", "MolMR", "NHOHCount", "NOCount", "NumHAcceptors", "NumHDonors",
    "NumHeteroatoms", "NumRotatableBonds", "RingCount", "NumAliphaticRings", "NumSaturatedRings",
    "NumAromaticRings", "NumAromaticCarbocycles", "NumAromaticHeterocycles",
    *(f"PEOE_VSA{i}" for i in range(1, 15)),
    *(f"SMR_VSA{i}" for i in range(1, 11) if i != 8),
    *(f"SlogP_VSA{i}" for i in range(1, 13) if i != 9),
    "fr_Al_COO", "fr_Al_OH", "fr_Ar_N", "fr_Ar_OH", "fr_COO", "fr_C_O", "fr_NH0", "fr_NH1", "fr_NH2", "fr_N_O",
    "fr_alkyl_halide", "fr_amide", "fr_aniline", "fr_aryl_methyl", "fr_benzene", "fr_bicyclic", "fr_ester",
    "fr_ether", "fr_halogen", "fr_imide", "fr_ketone", "fr_methoxy", "fr_nitrile", "fr_nitro", "fr_phenol",
    "fr_pyridine", "fr_sulfide", "fr_sulfone", "fr_unbrch_alkane", "fr_urea",
)  # fmt: skip
DESCRIPTOR_DIM = len(DESCRIPTOR_NAMES) + 1  # + the size entry
_FUNCTIONS = dict(Descriptors._descList)


def raw_descriptors(mol: Chem.Mol) -> np.ndarray:
    """[len(DESCRIPTOR_NAMES)] float64: the descriptors of a small molecule, unscaled."""
    with rdBase.BlockLogs():
        return np.array([_FUNCTIONS[name](mol) for name in DESCRIPTOR_NAMES], dtype=np.float64)


def descriptor_vector(mol: Chem.Mol) -> np.ndarray:
    """[DESCRIPTOR_DIM] float32 of a checked molecule from :func:`gnnchi.chem.make_mol` (a repeat
    unit if it has `*` atoms): per-heavy-atom descriptors, then the size entry, squashed."""
    if any(a.GetAtomicNum() == 0 for a in atoms_of(mol)):
        unit_atoms = mol.GetNumAtoms() - 2
        increment = raw_descriptors(capped_oligomer(mol, 4)) - raw_descriptors(capped_oligomer(mol, 3))
        values = np.append(increment / unit_atoms, 0.0)
    else:
        values = np.append(raw_descriptors(mol) / mol.GetNumAtoms(), np.log(mol.GetNumAtoms()))
    values[~np.isfinite(values)] = 0.0
    return (np.sign(values) * np.log1p(np.abs(values))).astype(np.float32)
