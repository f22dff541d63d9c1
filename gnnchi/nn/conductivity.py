"""The conductivity head of the electrolyte system: a mixture encoding + temperature + Mn -> log10 sigma.

The mixture encoding goes through an MLP (with the polymer's log10 Mn and a flag for an unknown Mn) to
the temperature law's parameters of that formulation (``readout``):

- ``arrhenius``: log10 sigma = log10 A - Ea / (R T ln 10), Ea > 0;
- ``vft`` (Vogel-Fulcher-Tammann): log10 sigma = log10 A - Ea / (R (T - T0) ln 10), Ea > 0,
  0 < T0 < :data:`MAX_T0_K`, below the system's lowest accepted temperature;
- ``free``: no temperature physics; the MLP reads the standardised 1/T beside the encoding and gives
  log10 sigma itself (the ablation of the physics).

With physics, the MLP gives log10 sigma at the training rows' mean 1/T (T_ref) and Ea, not log10 A:
the two are far less correlated, and log10 A = log10 sigma(T_ref) + Ea / (R (T_ref - T0) ln 10).
So conductivity rises with temperature by construction, at the rate Ea says.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

GAS_CONSTANT_KJ = 8.314462618e-3  # kJ / (mol K)
LN10 = math.log(10.0)
READOUTS = ("arrhenius", "vft", "free")
EA_SCALE_KJ = 40.0  # Ea = 40 kJ/mol * softplus(output): about 28 kJ/mol at the start
MAX_T0_K = 150.0  # VFT's T0 stays below this (the system accepts temperatures from 180 K)


class ConductivityHead(nn.Module):
    """Mixture encoding [P, M] + temperature_K [P] + mn_g_mol [P] (NaN: unknown) -> log10 sigma [P, 1].

    Scalers (buffers fitted on the training rows, saved with the weights): 1/T, log10 Mn, the target.
    """

    def __init__(self, mixture_dim: int, hidden_dim: int = 256, readout: str = "arrhenius", dropout: float = 0.0):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.readout = readout
        self.num_outputs = {"arrhenius": 2, "vft": 3, "free": 1}[readout]
        inputs = mixture_dim + 2 + (1 if readout == "free" else 0)  # + (log10 Mn, unknown-Mn flag) [+ 1/T]
        self.mlp = nn.Sequential(
            nn.Linear(inputs, hidden_dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden_dim, self.num_outputs)
        )
        for name, value in (("inv_t_mean", 1.0 / 330.0), ("inv_t_std", 4e-4), ("log_mn_mean", 4.0), ("log_mn_std", 1.0),
                            ("target_mean", -5.0), ("target_std", 1.5)):  # fmt: skip
            self.register_buffer(name, torch.tensor(value))

    def set_scalers(self, statistics: dict) -> None:
        """Copy the training rows' statistics into the buffers."""
        for name in ("inv_t_mean", "inv_t_std", "log_mn_mean", "log_mn_std", "target_mean", "target_std"):
            getattr(self, name).copy_(torch.as_tensor(statistics[name], dtype=torch.float32))

    def output_scale(self) -> Tensor:
        """[1]: the loss divides the error by the training target's std."""
        return self.target_std.reshape(1)

    def _inputs(self, mixture: Tensor, mn_g_mol: Tensor) -> Tensor:
        """[P, M], [P] -> [P, M + 2]: the encoding, the standardised log10 Mn (0 where unknown) and the unknown flag."""
        known = torch.isfinite(mn_g_mol) & (mn_g_mol > 0)
        log_mn = torch.log10(torch.where(known, mn_g_mol, torch.ones_like(mn_g_mol)))
        scaled = torch.where(known, (log_mn - self.log_mn_mean) / self.log_mn_std, torch.zeros_like(log_mn))
        return torch.cat([mixture, scaled.unsqueeze(1), (~known).to(mixture.dtype).unsqueeze(1)], dim=1)

    def temperature_law(self, mixture: Tensor, mn_g_mol: Tensor) -> Tensor:
        """[P, M], [P] -> [P, 3]: log10 A, Ea (kJ/mol) and T0 (K; 0 for Arrhenius) of each formulation.
        Undefined (NaN) for the ``free`` readout."""
        if self.readout == "free":
            return mixture.new_full((mixture.shape[0], 3), float("nan"))
        out = self.mlp(self._inputs(mixture, mn_g_mol))  # [P, 2 or 3]
        at_reference = self.target_mean + self.target_std * out[:, 0]
        activation = EA_SCALE_KJ * F.softplus(out[:, 1])
        t0 = MAX_T0_K * torch.sigmoid(out[:, 2]) if self.readout == "vft" else torch.zeros_like(at_reference)
        t_reference = 1.0 / self.inv_t_mean
        log_a = at_reference + activation / (GAS_CONSTANT_KJ * LN10 * (t_reference - t0))
        return torch.stack([log_a, activation, t0], dim=1)

    def forward(self, mixture: Tensor, temperature_K: Tensor, mn_g_mol: Tensor) -> Tensor:
        """-> log10 sigma [P, 1]."""
        if self.readout == "free":
            t = ((1.0 / temperature_K - self.inv_t_mean) / self.inv_t_std).unsqueeze(1)
            out = self.mlp(torch.cat([self._inputs(mixture, mn_g_mol), t], dim=1))
            return self.target_mean + self.target_std * out
        law = self.temperature_law(mixture, mn_g_mol)
        log_a, activation, t0 = law.unbind(dim=1)
        return (log_a - activation / (GAS_CONSTANT_KJ * LN10 * (temperature_K - t0))).unsqueeze(1)
