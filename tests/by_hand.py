"""Values the tests compare against, computed with RDKit directly rather than through gnnchi's code."""

import numpy as np
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator

from gnnchi.chem import make_mol


def novelty_by_hand(smiles: list[str], training: list[str], kind: str) -> np.ndarray:
    """1 - the highest Tanimoto similarity (Morgan radius 2, 2048 bits) of each molecule to the training ones."""
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    train = [generator.GetFingerprint(make_mol(s, kind)) for s in training]
    return np.array([1.0 - max(DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(make_mol(s, kind)), train))
                     for s in smiles])  # fmt: skip
