"""Molecule -> graph arrays (numpy, so a torch-free predictor can use them too).

Edges are directed and stored in pairs: edge ``2i`` is ``u -> v`` and edge ``2i+1`` is
``v -> u``, so an edge's reverse is its neighbour in the pair (the encoder relies on it).

A polymer repeat unit becomes a periodic graph: features are computed on the open unit
(with its `*` atoms, so degrees and hydrogen counts are those of the chain), then the `*`
atoms are removed and their two neighbours are bonded to each other. The closing bond may
duplicate an existing bond (``*CC*``) or be a self-loop (``*C*``); both are kept, so a unit,
its rotations and its multiples all look locally identical to message passing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from rdkit import Chem

from gnnchi.chem import atoms_of, bonds_of
from gnnchi.featurizers.atom import ATOM_DIM, atom_feature_matrix
from gnnchi.featurizers.bond import BOND_DIM, bond_feature_matrix, rdkit_bond_values

FEATURIZER_VERSION = 1  # bump whenever features change: models trained on another version are refused


class MolGraph(NamedTuple):
    """x [num_atoms, ATOM_DIM] float32; edge_index [2, num_edges] int64; edge_attr [num_edges, BOND_DIM] float32."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray


def featurize(mol: Chem.Mol) -> MolGraph:
    """Graph of a checked molecule from :func:`gnnchi.chem.make_mol`; periodic if it has `*` atoms."""
    x = atom_feature_matrix(mol)
    bonds = bonds_of(mol)
    pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in bonds]
    values = [rdkit_bond_values(b) for b in bonds]
    dummies = [a.GetIdx() for a in atoms_of(mol) if a.GetAtomicNum() == 0]
    if dummies:
        x, pairs, values = _close_periodic(mol, dummies, x, pairs, values)
    edge_index = np.asarray([p for u, v in pairs for p in ((u, v), (v, u))], dtype=np.int64).reshape(-1, 2).T
    edge_attr = np.repeat(bond_feature_matrix(values), 2, axis=0)  # both directions of each bond
    return MolGraph(x, np.ascontiguousarray(edge_index), edge_attr)


def _close_periodic(mol, dummies, x, pairs, values):
    """Remove the two `*` atoms and bond their neighbours (features of the open unit are kept)."""
    star_bonds = [mol.GetAtomWithIdx(d).GetBonds()[0] for d in dummies]
    head, tail = (b.GetOtherAtomIdx(d) for b, d in zip(star_bonds, dummies))
    closing = (
        star_bonds[0].GetBondType(),
        Chem.BondStereo.STEREONONE,
        any(b.GetIsConjugated() for b in star_bonds),  # symmetric in the two ends: rotation invariant
        False,  # the closing bond is a backbone bond, not a ring bond
    )
    keep = [i for i in range(mol.GetNumAtoms()) if i not in dummies]
    new_index = {old: new for new, old in enumerate(keep)}
    kept = [(new_index[u], new_index[v], f) for (u, v), f in zip(pairs, values) if u in new_index and v in new_index]
    pairs = [(u, v) for u, v, _ in kept] + [(new_index[head], new_index[tail])]
    values = [f for _, _, f in kept] + [closing]
    return x[keep], pairs, values


class GraphBatch(NamedTuple):
    """Several graphs as one disconnected graph (PyG's layout).

    x [N, ATOM_DIM]; edge_index [2, E] (edges still in reverse pairs); edge_attr [E, BOND_DIM];
    batch [N] graph index of each atom.
    """

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    batch: np.ndarray


def collate_graphs(graphs: list[MolGraph]) -> GraphBatch:
    """Concatenate graphs, offsetting edge indices; works for graphs without edges."""
    sizes = np.fromiter((g.x.shape[0] for g in graphs), dtype=np.int64, count=len(graphs))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    edge_index = np.concatenate(
        [g.edge_index + off for g, off in zip(graphs, offsets)] or [np.zeros((2, 0), np.int64)], axis=1
    )
    return GraphBatch(
        x=np.concatenate([g.x for g in graphs]),
        edge_index=edge_index.astype(np.int64),
        edge_attr=np.concatenate([g.edge_attr for g in graphs]),
        batch=np.repeat(np.arange(len(graphs), dtype=np.int64), sizes),
    )


__all__ = ["ATOM_DIM", "BOND_DIM", "FEATURIZER_VERSION", "GraphBatch", "MolGraph", "collate_graphs", "featurize"]
