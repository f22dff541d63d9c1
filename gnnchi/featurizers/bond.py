"""Bond features: bond type and E/Z stereo one-hots, each with an "unknown" slot; conjugation and ring flags."""

from __future__ import annotations

import numpy as np
from rdkit import Chem

from gnnchi.featurizers.atom import one_hot

BOND_TYPES = [Chem.BondType.SINGLE, Chem.BondType.DOUBLE, Chem.BondType.TRIPLE, Chem.BondType.AROMATIC]
# CIP-based E/Z labels do not depend on how the SMILES was written (cis/trans labels do)
STEREO = [Chem.BondStereo.STEREONONE, Chem.BondStereo.STEREOZ, Chem.BondStereo.STEREOE]
BOND_DIM = len(BOND_TYPES) + 1 + len(STEREO) + 1 + 2


def bond_features(
    bond_type: Chem.BondType, stereo: Chem.BondStereo, conjugated: bool, in_ring: bool
) -> list[float]:
    """Feature vector of one bond, length ``BOND_DIM``."""
    return one_hot(bond_type, BOND_TYPES) + one_hot(stereo, STEREO) + [float(conjugated), float(in_ring)]


def rdkit_bond_values(bond: Chem.Bond) -> tuple:
    """The arguments of :func:`bond_features` for an RDKit bond."""
    return bond.GetBondType(), bond.GetStereo(), bond.GetIsConjugated(), bond.IsInRing()


_TYPE_SLOT = {t: i for i, t in enumerate(BOND_TYPES)}
_STEREO_SLOT = {s: len(BOND_TYPES) + 1 + i for i, s in enumerate(STEREO)}


def bond_feature_matrix(values: list[tuple]) -> np.ndarray:
    """[len(values), BOND_DIM] float32 from :func:`bond_features` arguments (vectorised for speed)."""
    attr = np.zeros((len(values), BOND_DIM), dtype=np.float32)
    rows = np.arange(len(values))
    attr[rows, [_TYPE_SLOT.get(v[0], len(BOND_TYPES)) for v in values]] = 1.0
    attr[rows, [_STEREO_SLOT.get(v[1], BOND_DIM - 3) for v in values]] = 1.0
    attr[:, BOND_DIM - 2 :] = np.array([v[2:] for v in values], dtype=np.float32).reshape(len(values), 2)
    return attr
