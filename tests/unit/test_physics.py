"""The fugacity of CO2 (gnnchi.physics): against Span and Wagner's reference equation, one code for numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnchi.physics import CO2_CRITICAL_TEMPERATURE_K, co2_fugacity_kPa

# (T in K, P in kPa, fugacity coefficient f / P) from Span & Wagner's equation of state for CO2 (J. Phys.
# Chem. Ref. Data 25, 1509 (1996)) as CoolProp 6.6 evaluates it (AbstractState("HEOS", "CO2")):
# gas, liquid below the critical temperature, and supercritical fluid up to 50 MPa.
SPAN_WAGNER = [
    (298.15, 100.0, 0.9950),  # gas
    (298.15, 3000.0, 0.8539),  # gas
    (298.15, 6000.0, 0.7070),  # gas, near saturation (6.4 MPa)
    (298.15, 8000.0, 0.5707),  # liquid
    (273.15, 20000.0, 0.1862),  # liquid
    (250.00, 1000.0, 0.9119),  # gas
    (250.00, 40000.0, 0.0782),  # liquid
    (313.15, 10000.0, 0.5814),  # supercritical
    (313.15, 30000.0, 0.2932),
    (353.15, 5000.0, 0.8647),
    (353.15, 45000.0, 0.4000),
    (453.15, 50000.0, 0.7114),
]


def test_peng_robinson_follows_the_reference_equation_within_four_percent():
    temperature, pressure, reference = (np.array(column) for column in zip(*SPAN_WAGNER))
    coefficient = co2_fugacity_kPa(temperature, pressure, np) / pressure
    np.testing.assert_allclose(coefficient, reference, rtol=0.04)


@pytest.mark.parametrize("temperature", [220.0, 260.0, 290.0, CO2_CRITICAL_TEMPERATURE_K - 0.5, 320.0, 600.0])
def test_fugacity_is_zero_without_pressure_ideal_at_low_pressure_and_rises_through_condensation(temperature):
    pressure = np.concatenate([[0.0], np.geomspace(1e-6, 2e5, 4000)]).astype(np.float32)  # kPa, across saturation
    f = co2_fugacity_kPa(np.full_like(pressure, temperature), pressure, np)
    assert f.dtype == np.float32 and np.isfinite(f).all() and f[0] == 0.0
    np.testing.assert_allclose(f[1:50] / pressure[1:50], 1.0, atol=1e-4)  # below 3e-5 kPa: an ideal gas
    assert (np.diff(f) > 0).all(), "the fugacity fell as pressure rose"


def test_numpy_and_torch_give_the_same_fugacity_in_float32_as_in_float64():
    rng = np.random.default_rng(0)
    temperature, pressure = rng.uniform(200.0, 600.0, 2000), 10 ** rng.uniform(-3.0, 5.3, 2000)
    exact = co2_fugacity_kPa(temperature, pressure, np)  # float64
    as_float32 = co2_fugacity_kPa(temperature.astype(np.float32), pressure.astype(np.float32), np)
    in_torch = co2_fugacity_kPa(
        torch.tensor(temperature, dtype=torch.float32), torch.tensor(pressure, dtype=torch.float32), torch
    )
    np.testing.assert_allclose(as_float32, exact, rtol=2e-5)
    np.testing.assert_allclose(in_torch.numpy(), exact, rtol=2e-5)
