"""Directed bond message passing (D-MPNN, Yang et al. 2019) with a size-independent readout.

Edges come in reverse pairs (``2i``: u->v, ``2i+1``: v->u); the message along an edge sums
the states entering its source atom, minus the state of its own reverse edge. Self-loops
and duplicated edges (periodic polymer graphs) follow the same rule, so a repeat unit, its
rotations and its multiples give identical atom states and, after mean pooling, one output.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def scatter_sum(src: Tensor, index: Tensor, num_rows: int) -> Tensor:
    """out[index[i]] += src[i]; src [M, D], index [M] -> [num_rows, D]."""
    out = src.new_zeros((num_rows, src.shape[1]))
    return out.index_add_(0, index, src)


def mean_pool(h: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
    """Mean of atom states per graph: h [N, D], batch [N] -> [num_graphs, D]."""
    total = scatter_sum(h, batch, num_graphs)
    count = scatter_sum(torch.ones_like(h[:, :1]), batch, num_graphs)
    return total / count.clamp(min=1.0)


class BondMessagePassingEncoder(nn.Module):
    """Molecule graph -> ``out_dim`` numbers (the ``u`` and ``r`` halves of the latent vector).

    ``x``'s first ``atom_dim`` columns are atom features; the next ``descriptor_dim`` (0: none read)
    are the molecule's descriptors, equal on all its atoms, which join the pooled atom states before
    the readout MLP (a hybrid of graph and descriptors). Further columns are ignored.
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        out_dim: int,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        descriptor_dim: int = 0,
    ):
        super().__init__()
        self.depth, self.atom_dim, self.descriptor_dim = depth, atom_dim, descriptor_dim
        self.W_i = nn.Linear(atom_dim + bond_dim, hidden_dim, bias=False)
        self.W_h = nn.Linear(hidden_dim, hidden_dim, bias=False)
        self.W_o = nn.Linear(atom_dim + hidden_dim, hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.ffn = nn.Sequential(
            nn.Linear(hidden_dim + descriptor_dim, ffn_hidden_dim),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(ffn_hidden_dim, out_dim),
        )

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """x [N, >= atom_dim + descriptor_dim], edge_index [2, E], edge_attr [E, bond_dim], batch [N]
        -> [num_graphs, out_dim]."""
        descriptors = x[:, self.atom_dim : self.atom_dim + self.descriptor_dim]  # [N, D]
        x = x[:, : self.atom_dim]
        src, dst = edge_index[0], edge_index[1]
        num_atoms = x.shape[0]
        h0 = torch.relu(self.W_i(torch.cat([x[src], edge_attr], dim=1)))  # [E, H]
        h = h0
        for _ in range(self.depth - 1):
            into_atom = scatter_sum(h, dst, num_atoms)  # [N, H]
            reverse = h.reshape(-1, 2, h.shape[1]).flip(1).reshape(-1, h.shape[1])  # [E, H]
            h = self.dropout(torch.relu(h0 + self.W_h(into_atom[src] - reverse)))
        into_atom = scatter_sum(h, dst, num_atoms)  # [N, H]; zeros for atoms without bonds
        atom_h = self.dropout(torch.relu(self.W_o(torch.cat([x, into_atom], dim=1))))  # [N, H]
        readout = mean_pool(atom_h, batch, num_graphs)  # [G, H]
        if self.descriptor_dim:
            readout = torch.cat([readout, mean_pool(descriptors, batch, num_graphs)], dim=1)  # [G, H + D]
        return self.ffn(readout)
