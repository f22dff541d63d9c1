"""The paper's pair head: a learned Hansen-like distance z, then one linear map to all tasks."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def hansen_distance(u_p: Tensor, r_p: Tensor, u_s: Tensor, r_s: Tensor) -> Tensor:
    """z = (u_p - u_s)^2 - r_p^2 - r_s^2, all [P, k] -> [P, k]."""
    return (u_p - u_s) ** 2 - r_p**2 - r_s**2


class ChiHead(nn.Module):
    """z [P, k] and temperature [P] (kelvin) -> solubility logit [P] and chi [P, num_chi_tasks].

    One linear map takes z to the logit and, per chi task, coefficients g0..g_order of
    chi(T) = g0 + g1 t + g2 t^2 with t = (1/T - mean) / std, i.e. chi = a + b/T (+ c/T^2).
    The 1/T scaler and each task's chi mean and std are buffers, saved with the weights.

    Solubility labels are measured at ``reference_temperature_K``; away from it the logit follows the
    first chi task: logit(T) = logit(T_ref) - solubility_chi_slope * (chi(T) - chi(T_ref)), so a
    polymer that mixes better as chi falls with T (UCST-like) grows more soluble, and the logit
    at T_ref, the only temperature its labels know, is untouched.
    """

    def __init__(
        self,
        latent_dim: int,
        num_chi_tasks: int = 2,
        temperature_order: int = 1,
        solubility_chi_slope: float = 0.0,
        reference_temperature_K: float = 298.15,
    ):
        super().__init__()
        if temperature_order not in (1, 2):
            raise ValueError(f"temperature_order must be 1 or 2, got {temperature_order}")
        if solubility_chi_slope < 0:
            raise ValueError(f"solubility_chi_slope must be >= 0 (solubility falls as chi rises), got {solubility_chi_slope}")
        self.num_chi_tasks, self.order = num_chi_tasks, temperature_order
        self.solubility_chi_slope, self.reference_temperature_K = float(solubility_chi_slope), float(reference_temperature_K)
        self.linear = nn.Linear(latent_dim, 1 + num_chi_tasks * (temperature_order + 1))
        self.register_buffer("inv_t_mean", torch.tensor(1.0 / 360.0))
        self.register_buffer("inv_t_std", torch.tensor(4e-4))
        self.register_buffer("chi_mean", torch.zeros(num_chi_tasks))
        self.register_buffer("chi_std", torch.ones(num_chi_tasks))

    def set_scalers(self, statistics: dict) -> None:
        """Copy the training rows' scalers (``inv_t_mean``, ``inv_t_std``, ``chi_mean``, ``chi_std``) into the buffers."""
        for name in ("inv_t_mean", "inv_t_std", "chi_mean", "chi_std"):
            getattr(self, name).copy_(torch.as_tensor(statistics[name], dtype=torch.float32))

    def output_scale(self) -> Tensor:
        """[1 + C]: the scale each output column's loss divides by (1 for the logit, the std of each chi task)."""
        return torch.cat([self.chi_std.new_ones(1), self.chi_std])

    def coefficients(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """z [P, k] -> logit [P], g [P, num_chi_tasks, order + 1] (on the scaled t)."""
        out = self.linear(z)
        return out[:, 0], out[:, 1:].reshape(-1, self.num_chi_tasks, self.order + 1)

    def chi(self, g: Tensor, temperature_K: Tensor) -> Tensor:
        """g [P, C, order + 1], temperature_K [P] -> chi [P, C]."""
        t = ((1.0 / temperature_K - self.inv_t_mean) / self.inv_t_std).unsqueeze(1)  # [P, 1]
        scaled = g[:, :, 0] + g[:, :, 1] * t
        if self.order == 2:
            scaled = scaled + g[:, :, 2] * t * t
        return self.chi_mean + self.chi_std * scaled

    def forward(self, z: Tensor, temperature_K: Tensor) -> tuple[Tensor, Tensor]:
        """z [P, k], temperature_K [P] -> logit [P] at temperature_K, chi [P, num_chi_tasks]."""
        logit, g = self.coefficients(z)
        chi = self.chi(g, temperature_K)
        if self.solubility_chi_slope:
            at_reference = self.chi(g, torch.full_like(temperature_K, self.reference_temperature_K))
            logit = logit - self.solubility_chi_slope * (chi[:, 0] - at_reference[:, 0])
        return logit, chi

    def from_latents(self, polymer_latent: Tensor, solvent_latent: Tensor, temperature_K: Tensor) -> Tensor:
        """Encodings [P, 2k] (``u`` then ``r``) of both molecules and temperature_K [P] -> [P, 1 + C]:
        the solubility logit, then chi per chi task."""
        k = self.linear.in_features
        z = hansen_distance(polymer_latent[:, :k], polymer_latent[:, k:], solvent_latent[:, :k], solvent_latent[:, k:])
        logit, chi = self(z, temperature_K)
        return torch.cat([logit.unsqueeze(1), chi], dim=1)
