"""What a model's training data covered, and how far a new molecule is from it (numpy and RDKit only).

Per molecule kind: the Morgan fingerprints (radius 2, 2048 bits) of the training molecules, their
elements and their ring systems (fused rings taken together). A new molecule gets its novelty,
1 - the highest Tanimoto similarity to a training molecule of its kind (0: seen, 1: nothing in
common), and a warning when it brings an element or a ring system no training molecule had, or
when no training molecule is similar to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from rdkit import Chem, rdBase
from rdkit.Chem import rdFingerprintGenerator

FINGERPRINT_BITS = 2048
FINGERPRINT_RADIUS = 2
# below this highest similarity a molecule has no close relative in training: for the bundled
# polymers held out of training (leave-polymer-out) the median is about 0.3 (docs/evaluation)
LOW_SIMILARITY = 0.2


def _generator():
    return rdFingerprintGenerator.GetMorganGenerator(radius=FINGERPRINT_RADIUS, fpSize=FINGERPRINT_BITS)


def fingerprint_bits(mol: Chem.Mol) -> list[int]:
    """On-bits of the Morgan fingerprint of a checked molecule (a repeat unit's `*` are atoms of their own)."""
    with rdBase.BlockLogs():
        return list(_generator().GetFingerprint(mol).GetOnBits())


def elements(mol: Chem.Mol) -> set[str]:
    """Element symbols of a molecule, without the `*` of a repeat unit."""
    return {a.GetSymbol() for a in mol.GetAtoms() if a.GetAtomicNum() > 0}


def ring_systems(mol: Chem.Mol) -> set[str]:
    """Canonical SMILES of each ring system (rings sharing an atom merged), atoms as they are bonded in the ring."""
    rings = [set(r) for r in mol.GetRingInfo().AtomRings()]
    systems: list[set[int]] = []
    for ring in rings:
        joined = [s for s in systems if s & ring]
        for s in joined:
            systems.remove(s)
            ring = ring | s
        systems.append(ring)
    out = set()
    for atoms in systems:
        bonds = [b.GetIdx() for b in mol.GetBonds() if b.GetBeginAtomIdx() in atoms and b.GetEndAtomIdx() in atoms]
        with rdBase.BlockLogs():
            fragment = Chem.PathToSubmol(mol, bonds)
            out.add(Chem.MolToSmiles(fragment))
    return out


class KindDomain(NamedTuple):
    """The training molecules of one kind: fingerprints [M, FINGERPRINT_BITS] (bool), elements, ring systems."""

    fingerprints: np.ndarray
    elements: frozenset[str]
    ring_systems: frozenset[str]

    @classmethod
    def of(cls, mols: Iterable[Chem.Mol]) -> KindDomain:
        mols = list(mols)
        matrix = np.zeros((len(mols), FINGERPRINT_BITS), bool)
        found_elements, found_rings = set(), set()
        for i, mol in enumerate(mols):
            matrix[i, fingerprint_bits(mol)] = True
            found_elements |= elements(mol)
            found_rings |= ring_systems(mol)
        return cls(matrix, frozenset(found_elements), frozenset(found_rings))

    def to_json(self) -> dict:
        return {
            "fingerprints": [np.flatnonzero(row).tolist() for row in self.fingerprints],
            "elements": sorted(self.elements),
            "ring_systems": sorted(self.ring_systems),
        }

    @classmethod
    def from_json(cls, data: dict) -> KindDomain:
        matrix = np.zeros((len(data["fingerprints"]), FINGERPRINT_BITS), bool)
        for i, bits in enumerate(data["fingerprints"]):
            matrix[i, bits] = True
        return cls(matrix, frozenset(data["elements"]), frozenset(data["ring_systems"]))

    def highest_similarity(self, mols: list[Chem.Mol]) -> np.ndarray:
        """[len(mols)] the highest Tanimoto similarity of each molecule to a training molecule (0 with none)."""
        if not len(self.fingerprints) or not mols:
            return np.zeros(len(mols))
        query = np.zeros((len(mols), FINGERPRINT_BITS), np.float32)
        for i, mol in enumerate(mols):
            query[i, fingerprint_bits(mol)] = 1.0
        train = self.fingerprints.astype(np.float32)
        common = query @ train.T  # [Q, M]
        union = query.sum(1, keepdims=True) + train.sum(1)[None, :] - common
        return (common / np.maximum(union, 1.0)).max(axis=1)

    def notes(self, mol: Chem.Mol, similarity: float, kind: str) -> str:
        """"" or what in this molecule the training data did not have."""
        notes = []
        new_elements = sorted(elements(mol) - self.elements)
        if new_elements:
            notes.append(f"element{'s' if len(new_elements) > 1 else ''} {', '.join(new_elements)} not in the training {kind}s")
        new_rings = sorted(ring_systems(mol) - self.ring_systems)
        if new_rings:
            notes.append(f"ring system{'s' if len(new_rings) > 1 else ''} {', '.join(new_rings)} not in the training {kind}s")
        if similarity < LOW_SIMILARITY:
            notes.append(f"no similar training {kind} (highest Tanimoto similarity {similarity:.2f})")
        return "; ".join(notes)


class Domain(NamedTuple):
    """The training molecules of each kind (``polymer``, ``solvent``)."""

    kinds: dict[str, KindDomain]

    @classmethod
    def of(cls, mols_by_kind: dict[str, Iterable[Chem.Mol]]) -> Domain:
        return cls({kind: KindDomain.of(mols) for kind, mols in mols_by_kind.items()})

    def to_json(self) -> dict:
        return {kind: domain.to_json() for kind, domain in self.kinds.items()}

    @classmethod
    def from_json(cls, data: dict) -> Domain:
        return cls({kind: KindDomain.from_json(d) for kind, d in data.items()})

    def assess(self, mols: list[Chem.Mol], kind: str) -> tuple[np.ndarray, list[str]]:
        """Novelty [len(mols)] (1 - highest similarity) and a note per molecule ("" when it looks like training)."""
        domain = self.kinds[kind]
        similarity = domain.highest_similarity(mols)
        return 1.0 - similarity, [domain.notes(m, float(s), kind) for m, s in zip(mols, similarity)]
