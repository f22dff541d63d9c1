"""The electrolyte model as a pure ``torch.nn.Module`` (the export target): one graph encoder for every
component (polymer repeat unit, salt, additive; D-MPNN, optionally with RDKit descriptors), the
components' encodings summed with their mole fractions as weights (and, with ``mixture_pooling:
fraction_and_mean``, their plain mean beside that sum), and the conductivity head."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnchi.errors import ModelFileError
from gnnchi.featurizers import DESCRIPTOR_DIM
from gnnchi.nn import BondMessagePassingEncoder
from gnnchi.nn.conductivity import ConductivityHead

MIXTURE_POOLINGS = {"fraction": 1, "fraction_and_mean": 2}  # pooling -> the mixture encoding's width in units of M


def mixture_encoding(components: Tensor, fractions: Tensor, pooling: str = "fraction") -> Tensor:
    """[P, C, M] component encodings, [P, C] mole fractions (0 for an empty slot) -> [P, M] (``fraction``:
    their fraction-weighted sum) or [P, 2M] (``fraction_and_mean``: that sum, then the plain mean of the
    components present, so a salt at a mole fraction of 0.05 still shows who it is at full scale); the
    same for any order of the components."""
    weighted = (fractions.unsqueeze(2) * components).sum(dim=1)
    if pooling == "fraction":
        return weighted
    present = (fractions > 0).to(components.dtype).unsqueeze(2)  # [P, C, 1]
    mean = (present * components).sum(dim=1) / present.sum(dim=1).clamp(min=1.0)
    return torch.cat([weighted, mean], dim=1)


class ElectrolyteNet(nn.Module):
    """Component graphs + [P, C] slots + [P, C] mole fractions + temperature_K [P] + mn_g_mol [P] -> log10 sigma [P, 1]."""

    molecule_kinds = ("component",)
    system_name = "electrolyte"

    def __init__(
        self,
        atom_dim: int,
        bond_dim: int,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        descriptors: bool = True,
        mixture_dim: int = 64,
        readout: str = "arrhenius",
        mixture_pooling: str = "fraction",
    ):
        super().__init__()
        if mixture_pooling not in MIXTURE_POOLINGS:
            raise ValueError(f"mixture_pooling must be one of {list(MIXTURE_POOLINGS)}, got {mixture_pooling!r}")
        self.encoding_dim, self.mixture_pooling = mixture_dim, mixture_pooling
        self.component_encoder = BondMessagePassingEncoder(
            atom_dim, bond_dim, mixture_dim, hidden_dim, depth, ffn_hidden_dim, dropout,
            DESCRIPTOR_DIM if descriptors else 0,
        )  # fmt: skip
        self.head = ConductivityHead(MIXTURE_POOLINGS[mixture_pooling] * mixture_dim, ffn_hidden_dim, readout, dropout)

    def encode_components(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """A batch of compound graphs -> [num_graphs, M]."""
        return self.component_encoder(x, edge_index, edge_attr, batch, num_graphs)

    def mixture_head(self, components: Tensor, fractions: Tensor, temperature_K: Tensor, mn_g_mol: Tensor) -> Tensor:
        """[P, C, M], [P, C], [P], [P] -> log10 sigma [P, 1]."""
        return self.head(mixture_encoding(components, fractions, self.mixture_pooling), temperature_K, mn_g_mol)

    def temperature_law(self, components: Tensor, fractions: Tensor, mn_g_mol: Tensor) -> Tensor:
        """[P, C, M], [P, C], [P] -> [P, 3]: log10 A, Ea (kJ/mol), T0 (K) of each formulation."""
        return self.head.temperature_law(mixture_encoding(components, fractions, self.mixture_pooling), mn_g_mol)

    def outputs(self, components: Tensor, fractions: Tensor, temperature_K: Tensor, mn_g_mol: Tensor) -> Tensor:
        """[P, C, M], [P, C], [P], [P] -> [P, 4]: log10 sigma, then the law's log10 A, Ea (kJ/mol), T0 (K)."""
        mixture = mixture_encoding(components, fractions, self.mixture_pooling)
        law = self.head.temperature_law(mixture, mn_g_mol)
        return torch.cat([self.head(mixture, temperature_K, mn_g_mol), law], dim=1)

    def forward(
        self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, components: Tensor, fractions: Tensor,
        temperature_K: Tensor, mn_g_mol: Tensor,
    ) -> Tensor:  # fmt: skip
        """The distinct compounds' graphs, [P, C] each slot's compound among them, [P, C] fractions, [P], [P] -> [P, 1]."""
        num_compounds = int(batch.max()) + 1 if batch.numel() else 0
        encoded = self.encode_components(x, edge_index, edge_attr, batch, num_compounds)  # [G, M]
        return self.mixture_head(encoded[components], fractions, temperature_K, mn_g_mol)


class ElectrolyteEnsemble(nn.Module):
    """n trained :class:`ElectrolyteNet` as one module (the export target): encodings [G, n M] (member m in
    columns m M .. (m + 1) M), outputs [P, n, 4] (:meth:`ElectrolyteNet.outputs` per member)."""

    system_name = "electrolyte"

    def __init__(self, members: list[ElectrolyteNet]):
        super().__init__()
        if not members:
            raise ValueError("an ensemble needs at least one member")
        if len({m.encoding_dim for m in members}) != 1:
            raise ModelFileError("ensemble members must share their encoding size (mixture_dim)")
        self.members = nn.ModuleList(members)
        self.encoding_dim = members[0].encoding_dim

    @property
    def num_members(self) -> int:
        return len(self.members)

    def encode_components(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """A batch of compound graphs -> [num_graphs, n M]."""
        return torch.cat([m.encode_components(x, edge_index, edge_attr, batch, num_graphs) for m in self.members], dim=1)

    def mixture_outputs(self, components: Tensor, fractions: Tensor, temperature_K: Tensor, mn_g_mol: Tensor) -> Tensor:
        """[P, C, n M], [P, C], [P], [P] -> [P, n, 4]."""
        m = self.encoding_dim
        return torch.stack(
            [net.outputs(components[:, :, i * m : (i + 1) * m], fractions, temperature_K, mn_g_mol)
             for i, net in enumerate(self.members)], dim=1,
        )  # fmt: skip
