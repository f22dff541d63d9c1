"""Molecule -> graph arrays (numpy, so a torch-free predictor can use them too).

Edges are directed and stored in pairs: edge ``2i`` is ``u -> v`` and edge ``2i+1`` is
``v -> u``, so an edge's reverse is its neighbour in the pair (the encoder relies on it).

A polymer repeat unit becomes a periodic graph: its atoms, with the `*` atoms removed and
their two neighbours bonded to each other. Features are computed on the open chain, never
on the closed ring (which would flag every atom as a ring atom): on the middle copy of a
linear trimer, where each atom has its chain neighbours, so degrees, hydrogens,
hybridisation and conjugation do not depend on where the unit was cut. The closing bond
may duplicate an existing bond (``*CC*``) or be a self-loop (``*C*``); both are kept, so a
unit, its rotations and its multiples all look locally identical to message passing.

Each atom row of ``x`` ends with the molecule's descriptor vector
(:mod:`gnnchi.featurizers.descriptors`), the same on every atom: molecule-level inputs then travel
with the graph through batching, encoding caches and export unchanged, and an encoder reads them
back by pooling those columns (:class:`gnnchi.nn.BondMessagePassingEncoder`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from rdkit import Chem

from gnnchi.chem import atoms_of, bonds_of, linear_trimer
from gnnchi.featurizers.atom import ATOM_DIM, atom_feature_matrix
from gnnchi.featurizers.bond import BOND_DIM, bond_feature_matrix, rdkit_bond_values
from gnnchi.featurizers.descriptors import DESCRIPTOR_DIM, descriptor_vector

FEATURIZER_VERSION = 2  # bump whenever features change: models trained on another version are refused
NODE_DIM = ATOM_DIM + DESCRIPTOR_DIM  # the width of x: atom features, then the molecule's descriptors


class MolGraph(NamedTuple):
    """x [num_atoms, NODE_DIM] float32 (atom features, then the molecule's descriptors);
    edge_index [2, num_edges] int64; edge_attr [num_edges, BOND_DIM] float32."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray


def featurize(mol: Chem.Mol) -> MolGraph:
    """Graph of a checked molecule from :func:`gnnchi.chem.make_mol`; periodic if it has `*` atoms."""
    if any(a.GetAtomicNum() == 0 for a in atoms_of(mol)):
        graph = _periodic_graph(mol)
    else:
        bonds = bonds_of(mol)
        pairs = [(b.GetBeginAtomIdx(), b.GetEndAtomIdx()) for b in bonds]
        graph = _graph(atom_feature_matrix(mol), pairs, [rdkit_bond_values(b) for b in bonds])
    descriptors = np.broadcast_to(descriptor_vector(mol), (graph.x.shape[0], DESCRIPTOR_DIM))
    return graph._replace(x=np.concatenate([graph.x, descriptors], axis=1))


def _periodic_graph(unit: Chem.Mol) -> MolGraph:
    """The repeat unit as a ring of its atoms, featurized as the middle copy of a linear trimer.

    In the trimer every atom of the middle copy has its real chain neighbours, so degrees,
    hydrogens, hybridisation and conjugation are those of the polymer wherever the unit was
    cut; the bonds between copies are chain bonds, so ring flags stay those of the unit.
    """
    trimer, size, num_bonds = linear_trimer(unit)
    # the middle copy's bonds, then the bond from the middle copy to the next: the closing bond
    bonds = [trimer.GetBondWithIdx(i) for i in range(num_bonds, 2 * num_bonds)]
    bonds.append(trimer.GetBondWithIdx(3 * num_bonds + 1))
    pairs = [((b.GetBeginAtomIdx() - size) % size, (b.GetEndAtomIdx() - size) % size) for b in bonds]
    values = [rdkit_bond_values(b) for b in bonds]
    return _graph(atom_feature_matrix(trimer, list(range(size, 2 * size))), pairs, values)


def _graph(x: np.ndarray, pairs: list[tuple[int, int]], values: list[tuple]) -> MolGraph:
    edge_index = np.asarray([p for u, v in pairs for p in ((u, v), (v, u))], dtype=np.int64).reshape(-1, 2).T
    edge_attr = np.repeat(bond_feature_matrix(values), 2, axis=0)  # both directions of each bond
    return MolGraph(x, np.ascontiguousarray(edge_index), edge_attr)


class GraphBatch(NamedTuple):
    """Several graphs as one disconnected graph (PyG's layout).

    x [N, NODE_DIM]; edge_index [2, E] (edges still in reverse pairs); edge_attr [E, BOND_DIM];
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


__all__ = [
    "ATOM_DIM", "BOND_DIM", "FEATURIZER_VERSION", "NODE_DIM", "GraphBatch", "MolGraph", "collate_graphs", "featurize",
]  # fmt: skip
