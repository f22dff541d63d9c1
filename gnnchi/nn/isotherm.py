"""The absorption-isotherm head of the ionic-liquid system: ion encodings + (T, P) -> x_CO2.

The mole ratio of absorbed CO2 to ionic liquid, m = x / (1 - x), is a sum of K non-negative terms,
each a fixed increasing function of pressure that is 0 at P = 0, scaled by a van 't Hoff factor:

    m(T, P) = sum_k exp(a_k + b_k t [+ c_k t^2]) phi_k(P),   t = (1/T - mean) / std,   x = m / (1 + m)

with phi_0 = P / P_ref (Henry's law: physical absorption, linear at low pressure), phi_1 = (P / P_ref)^2
(the steeper rise toward the CO2 saturation pressure) and phi_k = P / (P + p_k) for the Langmuir
pressures p_k (chemical absorption and other saturating sites). So, whatever the weights:
x is in [0, 1) (m is capped at 1e6), x never falls as P rises at fixed T, x -> 0 as P -> 0, and
Henry's constant P / x at P -> 0 is P_ref / exp(a_0 + b_0 t) + ... (van 't Hoff in T; with
``temperature_order`` 2 the c_k t^2 term lets the enthalpy of absorption change with T, as a heat
capacity of solution does, like the Clarke-Glew form of gas solubility).

With ``fugacity``, the pressure terms read the fugacity f(T, P) of pure CO2 (Peng-Robinson,
:func:`gnnchi.physics.co2_fugacity_kPa`) in place of P: Henry's law holds in fugacity, x H = f, and
f / P falls from 1 at low pressure to 0.2-0.7 at 50 MPa (0.3 at 313 K and 30 MPa), so an isotherm
flattens where the compressed gas stops adding chemical potential. f rises with P at fixed T and is 0
at P = 0, so the guarantees above hold unchanged.

With ``supercritical_density``, one more term phi_K = rho(max(T, 310 K), P) / rho_c reads CO2's own
density (:func:`gnnchi.physics.co2_supercritical_density`): compressed CO2 densifies steeply near and
above its critical pressure, and the density tracks the high-pressure rise of an isotherm better than
any function of f alone (the form fitted freely per ionic liquid, docs/evaluation/co2_il). Below 310 K
the term follows the 310 K isotherm, which is supercritical, so the term, like x, is continuous in P
where the density itself would jump at the saturation pressure. It rises with P and is 0 at P = 0: the
guarantees hold.

The K (order + 1) coefficients of an ionic liquid are the sum of a cation part, an anion part and a
rank-R cation x anion interaction: coef_j = c_j + d_j + sum_r f_jr g_jr + bias_j. Each encoder gives
its ion's [J (1 + R)] numbers (J = K (order + 1)), so every cation x anion combination costs one small
product (screening, :mod:`gnnchi.inference.isotherm`).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnchi.isotherm_terms import MAX_EXPONENT, MAX_MOLE_RATIO
from gnnchi.isotherm_terms import condition_basis as _condition_basis


def condition_basis(head: IsothermHead, temperature_K: Tensor, pressure_kPa: Tensor) -> Tensor:
    """[P] K, [P] kPa -> [P, K]: the head's terms at each condition (:func:`gnnchi.isotherm_terms.condition_basis`)."""
    return _condition_basis(
        temperature_K, pressure_kPa, head.langmuir_pressures_kPa, head.fugacity, head.supercritical_density, torch
    )


class IsothermHead(nn.Module):
    """Cation and anion encodings [P, J (1 + R)] + temperature_K [P] + pressure_kPa [P] -> x_CO2 [P, 1].

    ``langmuir_pressures_kPa``: the p_k of the saturating terms (K = 2 + their number).
    ``interaction_rank``: R. ``temperature_order``: 1 (van 't Hoff) or 2 (+ c_k t^2).
    ``fugacity``: the pressure terms read the fugacity of CO2 at (T, P) in place of P.
    ``supercritical_density``: one more term, CO2's density read at max(T, 310 K) (K = 3 + Langmuir pressures).
    The 1/T scaler is a buffer fitted on the training rows, saved with the weights.
    """

    def __init__(
        self,
        langmuir_pressures_kPa: tuple[float, ...] = (100.0, 1000.0, 10000.0),
        interaction_rank: int = 4,
        temperature_order: int = 1,
        fugacity: bool = False,
        supercritical_density: bool = False,
    ):
        super().__init__()
        if any(p <= 0 for p in langmuir_pressures_kPa):
            raise ValueError(f"Langmuir pressures must be > 0 kPa, got {list(langmuir_pressures_kPa)}")
        if interaction_rank < 0:
            raise ValueError(f"interaction_rank must be >= 0, got {interaction_rank}")
        if temperature_order not in (1, 2):
            raise ValueError(f"temperature_order must be 1 or 2, got {temperature_order}")
        self.order, self.fugacity, self.supercritical_density = temperature_order, fugacity, supercritical_density
        self.num_terms = 2 + len(langmuir_pressures_kPa) + int(supercritical_density)
        self.num_coefficients, self.rank = self.num_terms * (temperature_order + 1), interaction_rank
        self.register_buffer("langmuir_pressures_kPa", torch.tensor([float(p) for p in langmuir_pressures_kPa]))
        self.register_buffer("inv_t_mean", torch.tensor(1.0 / 320.0))
        self.register_buffer("inv_t_std", torch.tensor(2.3e-4))
        # start near a plain physical absorber: m = 0.2 at 1 MPa (x about 0.17), the other terms small
        start = torch.zeros(self.num_terms, temperature_order + 1)
        start[:, 0] = torch.tensor([-1.6, *([-4.0] * (self.num_terms - 1))])
        start = start.reshape(-1)
        self.bias = nn.Parameter(start)

    @property
    def encoding_dim(self) -> int:
        """J (1 + R): what each ion encoder must output."""
        return self.num_coefficients * (1 + self.rank)

    def set_scalers(self, statistics: dict) -> None:
        """Copy the training rows' 1/T mean and std into the buffers."""
        for name in ("inv_t_mean", "inv_t_std"):
            getattr(self, name).copy_(torch.as_tensor(statistics[name], dtype=torch.float32))

    def output_scale(self) -> Tensor:
        """[1]: the loss divides x_CO2's error by this (x is already on a unit scale)."""
        return self.bias.new_ones(1)

    def coefficients(self, cation_latent: Tensor, anion_latent: Tensor) -> Tensor:
        """[P, J (1 + R)] each -> [P, K, order + 1]: (a_k, b_k[, c_k]) of each ionic liquid."""
        j, r = self.num_coefficients, self.rank
        coef = cation_latent[:, :j] + anion_latent[:, :j] + self.bias
        if r:
            f = cation_latent[:, j:].reshape(-1, j, r)
            g = anion_latent[:, j:].reshape(-1, j, r)
            coef = coef + (f * g).sum(dim=2)
        return coef.reshape(-1, self.num_terms, self.order + 1)

    def mole_ratio(self, coefficients: Tensor, temperature_K: Tensor, pressure_kPa: Tensor) -> Tensor:
        """coefficients [P, K, order + 1], temperature_K [P], pressure_kPa [P] -> m [P] (CO2 per ionic liquid, mol/mol)."""
        t = ((1.0 / temperature_K - self.inv_t_mean) / self.inv_t_std).unsqueeze(1)  # [P, 1]
        exponent = coefficients[:, :, 0] + coefficients[:, :, 1] * t
        if self.order == 2:
            exponent = exponent + coefficients[:, :, 2] * t * t
        exponent = exponent.clamp(max=MAX_EXPONENT)  # [P, K]
        terms = torch.exp(exponent) * condition_basis(self, temperature_K, pressure_kPa)
        return terms.sum(dim=1).clamp(max=MAX_MOLE_RATIO)

    def forward(self, cation_latent: Tensor, anion_latent: Tensor, temperature_K: Tensor, pressure_kPa: Tensor) -> Tensor:
        """-> x_CO2 [P, 1] in [0, 1)."""
        m = self.mole_ratio(self.coefficients(cation_latent, anion_latent), temperature_K, pressure_kPa)
        return (m / (1.0 + m)).unsqueeze(1)
