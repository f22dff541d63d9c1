"""Information (not package code): does one more pressure term let the isotherm form fit high pressures?

    PYTHONPATH=benchmarks python docs/evaluation/co2_il/ablations/isotherm_extra_term.py density

The same per-ionic-liquid free fit as ``benchmarks/isotherm_form.py`` (the shipped form, reading CO2's
fugacity f), with one more term in the basis: ``density``, CO2's Peng-Robinson density (the stable root)
over its critical density; ``supercritical``, that density read at max(T, floor), continuous in P
(the floor is ``gnnchi.physics.SUPERCRITICAL_FLOOR_K`` or the second argument, in K); ``cube``,
(f / P_ref)^3; ``p2``, (P / P_ref)^2 in pressure, not fugacity; ``lang30``, a Langmuir term
f / (f + 30 MPa). Prints the MAE of x_CO2 overall and per pressure band.
"""

from __future__ import annotations

import sys

import isotherm_form  # benchmarks/
import numpy as np
import pandas as pd
import torch

from gnnchi import physics
from gnnchi.isotherm_terms import MAX_EXPONENT, MAX_MOLE_RATIO, REFERENCE_PRESSURE_KPA, pressure_terms
from gnnchi.nn.isotherm import IsothermHead


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
            "density": lambda: physics.co2_reduced_density(temperature_K, pressure_kPa, torch),
            "supercritical": lambda: physics.co2_supercritical_density(temperature_K, pressure_kPa, torch),
            "cube": lambda: (fugacity / REFERENCE_PRESSURE_KPA) ** 3,
            "p2": lambda: (pressure_kPa / REFERENCE_PRESSURE_KPA) ** 2,
            "lang30": lambda: fugacity / (fugacity + 30000.0),
        }[self.extra]()
        basis = torch.cat([pressure_terms(fugacity, self.langmuir_pressures_kPa, torch), extra.unsqueeze(1)], dim=1)
        return (torch.exp(exponent.clamp(max=MAX_EXPONENT)) * basis).sum(dim=1).clamp(max=MAX_MOLE_RATIO)


def main() -> None:
    extra = sys.argv[1]
    if len(sys.argv) > 2:
        physics.SUPERCRITICAL_FLOOR_K = float(sys.argv[2])
    isotherm_form.IsothermHead = lambda **arguments: ExtraTermHead(extra, **arguments)
    rows = isotherm_form.load_co2_il()
    rows = rows.groupby(["cation", "anion", "temperature_K", "pressure_kPa"], as_index=False)["x_co2"].mean()
    bands = pd.cut(rows["pressure_kPa"], isotherm_form.BANDS_KPA)
    error = pd.Series(np.abs(isotherm_form.fit_per_ionic_liquid(rows, fugacity=True) - rows["x_co2"].to_numpy()))
    by_band = error.groupby(bands.to_numpy(), observed=True).mean().round(4)
    print(f"{extra}: MAE {error.mean():.4f}; by band (kPa): {by_band.to_dict()}")


if __name__ == "__main__":
    main()
