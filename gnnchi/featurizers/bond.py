"""Bond features: bond type and E/Z stereo one-hots, each with an "unknown" slot; conjugation and ring flags."""

from __future__ import annotations

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


def rdkit_bond_features(bond: Chem.Bond) -> list[float]:
    return bond_features(bond.GetBondType(), bond.GetStereo(), bond.GetIsConjugated(), bond.IsInRing())
