"""RDKit molecules to graph arrays."""

from gnnchi.featurizers.atom import ATOM_DIM
from gnnchi.featurizers.bond import BOND_DIM
from gnnchi.featurizers.descriptors import DESCRIPTOR_DIM
from gnnchi.featurizers.graph import FEATURIZER_VERSION, NODE_DIM, GraphBatch, MolGraph, collate_graphs, featurize

__all__ = [
    "ATOM_DIM", "BOND_DIM", "DESCRIPTOR_DIM", "FEATURIZER_VERSION", "NODE_DIM",
    "GraphBatch", "MolGraph", "collate_graphs", "featurize",
]  # fmt: skip
