"""ChiNet: the whole pair model as a pure ``torch.nn.Module`` (the export target)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnchi.nn import BondMessagePassingEncoder, ChiHead
from gnnchi.nn.heads import hansen_distance


class PairModel(nn.Module):
    """The forward pass shared by :class:`ChiNet` and the ensemble: encode both molecules of each
    pair, then the pair head. Subclasses give ``encode_polymers``, ``encode_solvents``, ``pair_head``."""

    def forward(
        self,
        polymer_x: Tensor,
        polymer_edge_index: Tensor,
        polymer_edge_attr: Tensor,
        polymer_batch: Tensor,
        solvent_x: Tensor,
        solvent_edge_index: Tensor,
        solvent_edge_attr: Tensor,
        solvent_batch: Tensor,
        temperature_K: Tensor,
    ) -> Tensor:
        """One polymer graph and one solvent graph per pair; temperature_K [P] -> the pair head's output."""
        num_pairs = temperature_K.shape[0]
        polymer = self.encode_polymers(polymer_x, polymer_edge_index, polymer_edge_attr, polymer_batch, num_pairs)
        solvent = self.encode_solvents(solvent_x, solvent_edge_index, solvent_edge_attr, solvent_batch, num_pairs)
        return self.pair_head(polymer, solvent, temperature_K)


class ChiNet(PairModel):
    """Polymer and solvent graphs + temperature -> [P, 1 + num_chi_tasks]: logit(soluble), chi per task.

    Each encoder maps a molecule to 2k numbers, ``u`` (first k) and ``r`` (last k).
    """

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        latent_dim: int = 16,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        shared_encoder: bool = False,
        num_chi_tasks: int = 2,
        temperature_order: int = 1,
    ):
        super().__init__()
        self.latent_dim = latent_dim

        def encoder() -> BondMessagePassingEncoder:
            return BondMessagePassingEncoder(atom_dim, bond_dim, 2 * latent_dim, hidden_dim, depth, ffn_hidden_dim, dropout)

        self.polymer_encoder = encoder()
        self.solvent_encoder = self.polymer_encoder if shared_encoder else encoder()
        self.head = ChiHead(latent_dim, num_chi_tasks, temperature_order)

    def encode_polymers(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """Periodic polymer graphs -> [num_graphs, 2k]."""
        return self.polymer_encoder(x, edge_index, edge_attr, batch, num_graphs)

    def encode_solvents(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """Solvent graphs -> [num_graphs, 2k]."""
        return self.solvent_encoder(x, edge_index, edge_attr, batch, num_graphs)

    def pair_head(self, polymer_latent: Tensor, solvent_latent: Tensor, temperature_K: Tensor) -> Tensor:
        """[P, 2k], [P, 2k], [P] -> [P, 1 + num_chi_tasks]."""
        k = self.latent_dim
        z = hansen_distance(polymer_latent[:, :k], polymer_latent[:, k:], solvent_latent[:, :k], solvent_latent[:, k:])
        logit, chi = self.head(z, temperature_K)
        return torch.cat([logit.unsqueeze(1), chi], dim=1)
