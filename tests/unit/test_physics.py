"""The fugacity and density of CO2 (gnnchi.physics): against Span and Wagner's reference equation, one code
for numpy and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnchi.physics import (
    CO2_CRITICAL_TEMPERATURE_K,
    SUPERCRITICAL_FLOOR_K,
    co2_fugacity_kPa,
    co2_reduced_density,
    co2_supercritical_density,
)

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


@pytest.mark.parametrize(
    ("quantity", "seed", "rtol"), [(co2_fugacity_kPa, 0, 2e-5), (co2_supercritical_density, 1, 1e-4)]
)
def test_numpy_and_torch_give_the_same_value_in_float32_as_in_float64(quantity, seed, rtol):
    rng = np.random.default_rng(seed)
    temperature, pressure = rng.uniform(200.0, 600.0, 2000), 10 ** rng.uniform(-3.0, 5.3, 2000)
    exact = quantity(temperature, pressure, np)  # float64
    as_float32 = quantity(temperature.astype(np.float32), pressure.astype(np.float32), np)
    in_torch = quantity(
        torch.tensor(temperature, dtype=torch.float32), torch.tensor(pressure, dtype=torch.float32), torch
    )
    np.testing.assert_allclose(as_float32, exact, rtol=rtol)
    np.testing.assert_allclose(in_torch.numpy(), exact, rtol=rtol)


# (T in K, P in kPa, density over the critical density) from the same equation, CoolProp 6.6
# (PropsSI("Dmolar", ...) / PropsSI("rhomolar_critical", "CO2")): gas, liquid, near-critical, supercritical.
SPAN_WAGNER_DENSITY = [
    (298.15, 3000.0, 0.1371),  # gas
    (298.15, 8000.0, 1.6609),  # liquid
    (273.15, 20000.0, 2.1824),  # liquid
    (250.00, 1000.0, 0.0501),  # gas
    (313.15, 10000.0, 1.3443),  # supercritical, near the critical point
    (313.15, 30000.0, 1.9459),
    (353.15, 5000.0, 0.1887),
    (353.15, 45000.0, 1.8209),
    (453.15, 50000.0, 1.3251),
    (310.00, 7000.0, 0.4504),  # the floor isotherm, either side of its steep rise
    (310.00, 9000.0, 1.3150),
]


def test_peng_robinson_density_follows_the_reference_equation():
    temperature, pressure, reference = (np.array(column) for column in zip(*SPAN_WAGNER_DENSITY))
    density = co2_reduced_density(temperature, pressure, np)
    near_critical = (
        (np.abs(temperature - CO2_CRITICAL_TEMPERATURE_K) < 10.0) & (pressure > 5000.0) & (pressure < 12000.0)
    )
    np.testing.assert_allclose(density[~near_critical], reference[~near_critical], rtol=0.04)
    # near the critical point Peng-Robinson's densities are known to be off by up to about 12%
    np.testing.assert_allclose(density[near_critical], reference[near_critical], rtol=0.15)


def test_the_density_jumps_at_condensation_and_the_supercritical_density_does_not():
    """At 298.15 K (saturation 6.4 MPa) the stable phase's density jumps about fourfold; the term the
    isotherm head reads follows the 310 K isotherm there: it rises with pressure in steps no larger than
    the grid's, is 0 at P = 0 and is the density itself at and above the floor."""
    pressure = np.concatenate([[0.0], np.linspace(1.0, 20000.0, 20000)])  # kPa, 1 kPa apart
    raw = co2_reduced_density(np.full_like(pressure, 298.15), pressure, np)
    smooth = co2_supercritical_density(np.full_like(pressure, 298.15), pressure, np)
    assert np.diff(raw).max() > 0.5, "no jump in the raw density at saturation"
    assert smooth[0] == 0.0 and (np.diff(smooth) > 0).all()
    assert np.diff(smooth).max() < 0.01  # the floor isotherm's steepest 1 kPa step is about 0.0013
    for temperature in (SUPERCRITICAL_FLOOR_K, 313.15, 450.0):
        at = np.full_like(pressure, temperature)
        np.testing.assert_array_equal(
            co2_supercritical_density(at, pressure, np), co2_reduced_density(at, pressure, np)
        )
    below = co2_supercritical_density(np.full_like(pressure, 250.0), pressure, np)
    np.testing.assert_array_equal(
        below, co2_reduced_density(np.full_like(pressure, SUPERCRITICAL_FLOOR_K), pressure, np)
    )
