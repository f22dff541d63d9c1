"""Atom features: one-hot blocks, each with a final "unknown" slot, plus two flags and a scaled mass."""

from __future__ import annotations

import numpy as np
from rdkit import Chem

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


def atom_feature_matrix(mol: Chem.Mol) -> np.ndarray:
    """[num_atoms, ATOM_DIM] float32."""
    feats = [atom_features(a) for a in mol.GetAtoms()]
    return np.asarray(feats, dtype=np.float32).reshape(len(feats), ATOM_DIM)
