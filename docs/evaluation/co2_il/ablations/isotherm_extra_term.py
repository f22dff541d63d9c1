"""Information (not package code): does one more pressure term let the isotherm form fit high pressures?

    PYTHONPATH=benchmarks python docs/evaluation/co2_il/ablations/isotherm_extra_term.py density

The same per-ionic-liquid free fit as ``benchmarks/isotherm_form.py`` (the shipped form, reading CO2's
fugacity f), with one more term in the basis: ``density``, CO2's Peng-Robinson density (the stable root)
over its critical density; ``cube``, (f / P_ref)^3; ``p2``, (P / P_ref)^2 in pressure, not fugacity;
``lang30``, a Langmuir term f / (f + 30 MPa). Prints the MAE of x_CO2 overall and per pressure band.
"""

from __future__ import annotations

import math
import sys

import isotherm_form  # benchmarks/
import numpy as np
import pandas as pd
import torch

from gnnchi import physics
from gnnchi.nn.isotherm import REFERENCE_PRESSURE_KPA, IsothermHead, pressure_basis

CO2_CRITICAL_DENSITY_MOL_L = 10.62
GAS_CONSTANT = 8.314462618  # J/(mol K); kPa / (J/mol) is mol/L


def co2_density_reduced(temperature_K: torch.Tensor, pressure_kPa: torch.Tensor) -> torch.Tensor:
    """CO2's density over its critical density from the Peng-Robinson root of lowest fugacity (the
    stable phase, as :func:`gnnchi.physics.co2_fugacity_kPa` chooses it). Below 304 K it jumps at the
    saturation pressure, from vapour to liquid."""
    tc, pc, omega = physics.CO2_CRITICAL_TEMPERATURE_K, physics.CO2_CRITICAL_PRESSURE_KPA, physics.CO2_ACENTRIC_FACTOR
    kappa = 0.37464 + 1.54226 * omega - 0.26992 * omega**2
    alpha = (1.0 + kappa * (1.0 - torch.sqrt(temperature_K / tc))) ** 2
    a = 0.45724 * alpha * (tc / temperature_K) ** 2 / pc * pressure_kPa
    b = 0.07780 * (tc / temperature_K) / pc * pressure_kPa
    roots = physics._cubic_real_roots(-(1.0 - b), a - 3.0 * b * b - 2.0 * b, -(a * b - b * b - b**3), torch)
    best_log_phi, best_z = None, None
    for z in roots:
        valid = z > b
        z = torch.where(valid, z, b + 1.0)
        log_phi = (
            z
            - 1.0
            - torch.log(z - b)
            - a
            / (2.0 * math.sqrt(2.0) * b.clamp(min=1e-30))
            * torch.log((z + (1.0 + math.sqrt(2.0)) * b) / (z + (1.0 - math.sqrt(2.0)) * b))
        )
        log_phi = torch.where(valid, log_phi, torch.full_like(log_phi, 1e30))
        if best_z is None:
            best_log_phi, best_z = log_phi, z
        else:
            better = log_phi < best_log_phi
            best_z, best_log_phi = torch.where(better, z, best_z), torch.where(better, log_phi, best_log_phi)
    return pressure_kPa / (best_z * GAS_CONSTANT * temperature_K) / CO2_CRITICAL_DENSITY_MOL_L


class ExtraTermHead(IsothermHead):
    """The shipped form (fugacity, temperature order 2) with one more basis term."""

    def __init__(self, extra: str, **arguments):
        super().__init__(**arguments)
        self.extra = extra
        self.num_terms += 1
        self.num_coefficients = self.num_terms * (self.order + 1)
        start = torch.full((self.num_terms, self.order + 1), 0.0)
        start[:, 0] = torch.tensor([-1.6] + [-4.0] * (self.num_terms - 1))
        self.bias = torch.nn.Parameter(start.reshape(-1))

    def mole_ratio(self, coefficients, temperature_K, pressure_kPa):
        t = ((1.0 / temperature_K - self.inv_t_mean) / self.inv_t_std).unsqueeze(1)
        exponent = coefficients[:, :, 0] + coefficients[:, :, 1] * t + coefficients[:, :, 2] * t * t
        fugacity = physics.co2_fugacity_kPa(temperature_K, pressure_kPa, torch)
        extra = {
            "density": lambda: co2_density_reduced(temperature_K, pressure_kPa),
            "cube": lambda: (fugacity / REFERENCE_PRESSURE_KPA) ** 3,
            "p2": lambda: (pressure_kPa / REFERENCE_PRESSURE_KPA) ** 2,
            "lang30": lambda: fugacity / (fugacity + 30000.0),
        }[self.extra]()
        basis = torch.cat([pressure_basis(fugacity, self.langmuir_pressures_kPa), extra.unsqueeze(1)], dim=1)
        return (torch.exp(exponent.clamp(max=30.0)) * basis).sum(dim=1).clamp(max=1e6)


def main() -> None:
    extra = sys.argv[1]
    isotherm_form.IsothermHead = lambda **arguments: ExtraTermHead(extra, **arguments)
    rows = isotherm_form.load_co2_il()
    rows = rows.groupby(["cation", "anion", "temperature_K", "pressure_kPa"], as_index=False)["x_co2"].mean()
    bands = pd.cut(rows["pressure_kPa"], isotherm_form.BANDS_KPA)
    error = pd.Series(np.abs(isotherm_form.fit_per_ionic_liquid(rows, fugacity=True) - rows["x_co2"].to_numpy()))
    by_band = error.groupby(bands.to_numpy(), observed=True).mean().round(4)
    print(f"{extra}: MAE {error.mean():.4f}; by band (kPa): {by_band.to_dict()}")


if __name__ == "__main__":
    main()
