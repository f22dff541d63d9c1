"""The pair models as pure ``torch.nn.Module``\\ s (the export targets).

:class:`HansenPairNet` is any two encoders feeding the Hansen-like pair head; :class:`ChiNet` is
that with the two graph encoders (gnnchi), and the descriptor baseline is that with MLPs on
RDKit descriptors. :class:`PairModel` is the graph forward pass shared with the ensemble.
"""

from __future__ import annotations

from torch import Tensor, nn

from gnnchi.featurizers import DESCRIPTOR_DIM
from gnnchi.nn import BondMessagePassingEncoder, ChiHead


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


class HansenPairNet(PairModel):
    """A polymer encoder and a solvent encoder, each mapping its inputs to [., 2k] (``u`` then ``r``),
    feeding one :class:`ChiHead`: [P, 1 + num_chi_tasks] = logit(soluble), chi per task."""

    def __init__(self, polymer_encoder: nn.Module, solvent_encoder: nn.Module, head: ChiHead):
        super().__init__()
        self.polymer_encoder, self.solvent_encoder, self.head = polymer_encoder, solvent_encoder, head
        self.latent_dim = head.linear.in_features

    def encode_polymers(self, *inputs) -> Tensor:
        """The polymer encoder's inputs -> [num_polymers, 2k]."""
        return self.polymer_encoder(*inputs)

    def encode_solvents(self, *inputs) -> Tensor:
        """The solvent encoder's inputs -> [num_solvents, 2k]."""
        return self.solvent_encoder(*inputs)

    def pair_head(self, polymer_latent: Tensor, solvent_latent: Tensor, temperature_K: Tensor) -> Tensor:
        """[P, 2k], [P, 2k], [P] -> [P, 1 + num_chi_tasks]."""
        return self.head.from_latents(polymer_latent, solvent_latent, temperature_K)


class ChiNet(HansenPairNet):
    """Polymer and solvent graphs + temperature -> [P, 1 + num_chi_tasks]: logit(soluble), chi per task.

    Each D-MPNN encoder maps a molecule graph to 2k numbers, ``u`` (first k) and ``r`` (last k);
    with ``descriptors`` it also reads the molecule's RDKit descriptors beside its pooled atom states.
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
        solubility_chi_slope: float = 0.0,
        descriptors: bool = False,
    ):
        descriptor_dim = DESCRIPTOR_DIM if descriptors else 0

        def encoder() -> BondMessagePassingEncoder:
            return BondMessagePassingEncoder(
                atom_dim, bond_dim, 2 * latent_dim, hidden_dim, depth, ffn_hidden_dim, dropout, descriptor_dim
            )

        polymer_encoder = encoder()
        solvent_encoder = polymer_encoder if shared_encoder else encoder()
        super().__init__(polymer_encoder, solvent_encoder, ChiHead(latent_dim, num_chi_tasks, temperature_order, solubility_chi_slope))
