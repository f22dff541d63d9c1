"""Atom features: one-hot blocks, each with a final "unknown" slot, plus two flags and a scaled mass."""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from gnnchi.chem import atoms_of

ELEMENTS = ["H", "B", "C", "N", "O", "F", "Si", "P", "S", "Cl", "Ge", "Se", "Br", "Sn", "I"]
DEGREES = [0, 1, 2, 3, 4, 5, 6]
FORMAL_CHARGES = [-2, -1, 0, 1, 2]
NUM_HYDROGENS = [0, 1, 2, 3, 4]
HYBRIDIZATIONS = [
    Chem.HybridizationType.S,
    Chem.HybridizationType.SP,
    Chem.HybridizationType.SP2,
    Chem.HybridizationType.SP3,
    Chem.HybridizationType.SP3D,
    Chem.HybridizationType.SP3D2,
]
_BLOCKS = (ELEMENTS, DEGREES, FORMAL_CHARGES, NUM_HYDROGENS, HYBRIDIZATIONS)
ATOM_DIM = sum(len(b) + 1 for b in _BLOCKS) + 3  # one-hots with unknown slot; aromatic, ring, mass


def one_hot(value, choices: list) -> list[float]:
    """One-hot of ``value`` over ``choices`` plus a last slot for anything else."""
    vec = [0.0] * (len(choices) + 1)
    vec[choices.index(value) if value in choices else len(choices)] = 1.0
    return vec


def unknown_features(atom: Chem.Atom) -> list[str]:
    """Names of the feature blocks where ``atom`` falls into the unknown slot (empty if none)."""
    values = atom_values(atom)
    names = ("element", "degree", "formal charge", "hydrogen count", "hybridisation")
    return [f"{n} {v}" for n, v, c in zip(names, values, _BLOCKS) if v not in c]


def vocabulary_warning(mol: Chem.Mol) -> str:
    """"" or a note naming the atom values that fall into an unknown slot (e.g. ``element U``)."""
    found = sorted({f for atom in mol.GetAtoms() if atom.GetAtomicNum() > 0 for f in unknown_features(atom)})
    return f"outside the featurizer's vocabulary, encoded as 'unknown': {', '.join(found)}" if found else ""


def atom_values(atom: Chem.Atom) -> tuple:
    return (
        atom.GetSymbol(),
        atom.GetDegree(),
        atom.GetFormalCharge(),
        atom.GetTotalNumHs(),
        atom.GetHybridization(),
    )


def atom_features(atom: Chem.Atom) -> list[float]:
    """Feature vector of one atom, length ``ATOM_DIM``."""
    vec: list[float] = []
    for value, choices in zip(atom_values(atom), _BLOCKS):
        vec += one_hot(value, choices)
    vec += [float(atom.GetIsAromatic()), float(atom.IsInRing()), atom.GetMass() / 100.0]
    return vec


def _slot_tables() -> list[tuple[int, dict, int]]:
    """(offset, value -> slot, unknown slot) of each one-hot block."""
    tables, offset = [], 0
    for choices in _BLOCKS:
        tables.append((offset, {v: i for i, v in enumerate(choices)}, len(choices)))
        offset += len(choices) + 1
    return tables


_SLOTS = _slot_tables()
_FLAGS = ATOM_DIM - 3  # column of the aromatic flag; ring and mass follow


def atom_feature_matrix(mol: Chem.Mol, indices: list[int] | None = None) -> np.ndarray:
    """[num_atoms, ATOM_DIM] float32 (of ``indices`` only, if given), equal to stacking
    :func:`atom_features` (vectorised for speed)."""
    atoms = atoms_of(mol) if indices is None else [mol.GetAtomWithIdx(i) for i in indices]
    cols = [
        offset + slots.get(value, unknown)
        for atom in atoms
        for (offset, slots, unknown), value in zip(_SLOTS, atom_values(atom))
    ]
    x = np.zeros((len(atoms), ATOM_DIM), dtype=np.float32)
    x[np.repeat(np.arange(len(atoms)), len(_SLOTS)), cols] = 1.0
    x[:, _FLAGS:] = np.array(
        [(a.GetIsAromatic(), a.IsInRing(), a.GetMass() / 100.0) for a in atoms], dtype=np.float32
    ).reshape(len(atoms), 3)
    return x
