"""The ionic-liquid pair model as a pure ``torch.nn.Module`` (the export target): a cation encoder and an
anion encoder (D-MPNN, optionally with RDKit descriptors) feeding the isotherm head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnchi.errors import ModelFileError
from gnnchi.featurizers import DESCRIPTOR_DIM
from gnnchi.nn import BondMessagePassingEncoder
from gnnchi.nn.isotherm import IsothermHead


class IonicLiquidNet(nn.Module):
    """Cation and anion graphs + temperature_K [P] + pressure_kPa [P] -> x_CO2 [P, 1]."""

    molecule_kinds = ("cation", "anion")
    system_name = "co2_il"

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        descriptors: bool = True,
        interaction_rank: int = 4,
        langmuir_pressures_kPa: tuple[float, ...] = (100.0, 1000.0, 10000.0),
        temperature_order: int = 1,
        fugacity: bool = False,
        supercritical_density: bool = False,
        shared_encoder: bool = False,
    ):
        super().__init__()
        self.head = IsothermHead(
            tuple(langmuir_pressures_kPa), interaction_rank, temperature_order, fugacity, supercritical_density
        )
        descriptor_dim = DESCRIPTOR_DIM if descriptors else 0
        self.encoding_dim = self.head.encoding_dim

        def encoder() -> BondMessagePassingEncoder:
            return BondMessagePassingEncoder(
                atom_dim, bond_dim, self.encoding_dim, hidden_dim, depth, ffn_hidden_dim, dropout, descriptor_dim
            )

        self.cation_encoder = encoder()
        self.anion_encoder = self.cation_encoder if shared_encoder else encoder()  # shared: both ions' graphs train one

    def encode_cations(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """A batch of cation graphs -> [num_graphs, J (1 + R)]."""
        return self.cation_encoder(x, edge_index, edge_attr, batch, num_graphs)

    def encode_anions(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """A batch of anion graphs -> [num_graphs, J (1 + R)]."""
        return self.anion_encoder(x, edge_index, edge_attr, batch, num_graphs)

    def pair_head(self, cation_latent: Tensor, anion_latent: Tensor, temperature_K: Tensor, pressure_kPa: Tensor) -> Tensor:
        """[P, J (1 + R)] each, [P], [P] -> x_CO2 [P, 1]."""
        return self.head(cation_latent, anion_latent, temperature_K, pressure_kPa)

    def forward(
        self,
        cation_x: Tensor,
        cation_edge_index: Tensor,
        cation_edge_attr: Tensor,
        cation_batch: Tensor,
        anion_x: Tensor,
        anion_edge_index: Tensor,
        anion_edge_attr: Tensor,
        anion_batch: Tensor,
        temperature_K: Tensor,
        pressure_kPa: Tensor,
    ) -> Tensor:
        """One cation graph and one anion graph per ionic liquid -> x_CO2 [P, 1]."""
        num_pairs = temperature_K.shape[0]
        cation = self.encode_cations(cation_x, cation_edge_index, cation_edge_attr, cation_batch, num_pairs)
        anion = self.encode_anions(anion_x, anion_edge_index, anion_edge_attr, anion_batch, num_pairs)
        return self.pair_head(cation, anion, temperature_K, pressure_kPa)


class IonicLiquidEnsemble(IonicLiquidNet):
    """n trained :class:`IonicLiquidNet` as one module: encodings [G, n E] (member m in columns m E ..
    (m + 1) E), outputs [P, n, 1]."""

    def __init__(self, members: list[IonicLiquidNet]):
        nn.Module.__init__(self)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if len({m.encoding_dim for m in members}) != 1:
            raise ModelFileError("ensemble members must share their encoding size (interaction_rank and terms)")
        self.members = nn.ModuleList(members)
        self.encoding_dim = members[0].encoding_dim

    @property
    def num_members(self) -> int:
        return len(self.members)

    def encode_cations(self, *graph: Tensor) -> Tensor:
        return torch.cat([m.encode_cations(*graph) for m in self.members], dim=1)

    def encode_anions(self, *graph: Tensor) -> Tensor:
        return torch.cat([m.encode_anions(*graph) for m in self.members], dim=1)

    def pair_head(self, cation_latent: Tensor, anion_latent: Tensor, temperature_K: Tensor, pressure_kPa: Tensor) -> Tensor:
        """[P, n E] each, [P], [P] -> [P, n, 1]."""
        e = self.encoding_dim
        outputs = [
            m.pair_head(cation_latent[:, i * e : (i + 1) * e], anion_latent[:, i * e : (i + 1) * e], temperature_K, pressure_kPa)
            for i, m in enumerate(self.members)
        ]
        return torch.stack(outputs, dim=1)
