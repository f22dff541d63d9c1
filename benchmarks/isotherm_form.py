"""How well the isotherm head's form can fit the data at all: the form's coefficients fitted freely per
ionic liquid (no encoders, no split), with the pressure terms reading P or the fugacity of CO2, and with
CO2's supercritical density as one more term (the shipped form).
Prints the MAE of x_CO2 overall and by pressure band. A diagnostic of the form, not a model score.

    python benchmarks/isotherm_form.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from gnnchi.datasets.co2_il import load_co2_il
from gnnchi.nn.isotherm import IsothermHead

BANDS_KPA = [0, 100, 1000, 3000, 7380, 10000, 20000, 60000]


def fit_per_ionic_liquid(rows: pd.DataFrame, fugacity: bool, density: bool = False, steps: int = 6000) -> np.ndarray:
    """x_CO2 [N] of the head's form (temperature order 2, its Langmuir pressures) with one free set of
    coefficients per ionic liquid, fitted by least squares to every row."""
    torch.manual_seed(0)
    head = IsothermHead(temperature_order=2, interaction_rank=0, fugacity=fugacity, supercritical_density=density)
    il = torch.tensor(rows.groupby(["cation", "anion"]).ngroup().to_numpy())
    temperature = torch.tensor(rows["temperature_K"].to_numpy(np.float32))
    pressure = torch.tensor(rows["pressure_kPa"].to_numpy(np.float32))
    x = torch.tensor(rows["x_co2"].to_numpy(np.float32))
    coefficients = torch.zeros(int(il.max()) + 1, head.num_terms, 3)
    coefficients[:, :, 0] = head.bias.detach().reshape(head.num_terms, 3)[:, 0]
    coefficients.requires_grad_(True)
    optimizer = torch.optim.Adam([coefficients], lr=0.05)
    for _ in range(steps):
        m = head.mole_ratio(coefficients[il], temperature, pressure)
        loss = ((m / (1 + m) - x) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        m = head.mole_ratio(coefficients[il], temperature, pressure)
        return (m / (1 + m)).numpy()


def main() -> None:
    rows = load_co2_il().groupby(["cation", "anion", "temperature_K", "pressure_kPa"], as_index=False)["x_co2"].mean()
    bands = pd.cut(rows["pressure_kPa"], BANDS_KPA)
    table = {}
    for name, fugacity, density in (
        ("pressure", False, False),
        ("fugacity", True, False),
        ("fugacity + density", True, True),
    ):
        error = pd.Series(np.abs(fit_per_ionic_liquid(rows, fugacity, density) - rows["x_co2"].to_numpy()))
        table[name] = {"all": error.mean(), **error.groupby(bands.to_numpy(), observed=True).mean().to_dict()}
    frame = pd.DataFrame(table).T
    frame.columns = [str(c) for c in frame.columns]
    print(f"{len(rows)} rows, MAE of x_CO2 by pressure band (kPa):")
    print(frame.round(4).to_string())


if __name__ == "__main__":
    main()
