"""Physical property functions written once for numpy arrays and torch tensors alike.

The torch heads (exported to ONNX) and their numpy mirrors (torch-free screening) call the same code:
the array library is the ``xp`` argument (``numpy`` or ``torch``); only operations both spell the same
way are used. Nothing here imports torch.
"""

from __future__ import annotations

import math

ENTROPIC_CHI = 0.34  # the usual entropic term of chi in Hansen's and UNIFAC's estimates (dimensionless)

# CO2: critical temperature (K), critical pressure (kPa), acentric factor (Span & Wagner 1996)
CO2_CRITICAL_TEMPERATURE_K = 304.1282
CO2_CRITICAL_PRESSURE_KPA = 7377.3
CO2_ACENTRIC_FACTOR = 0.22394
CO2_CRITICAL_DENSITY_MOL_L = 10.6249  # 467.6 kg/m3 over 44.0098 g/mol (Span & Wagner 1996)
GAS_CONSTANT = 8.314462618  # J/(mol K): a pressure in kPa over R T is mol/L
SUPERCRITICAL_FLOOR_K = 310.0  # co2_supercritical_density's lowest temperature: 6 K above the critical point
_SQRT2 = math.sqrt(2.0)
NEWTON_STEPS = 2  # polish of each cubic root


def _at_least(value, floor: float, xp):
    return xp.where(value > floor, value, floor)


def _at_most(value, ceiling: float, xp):
    return xp.where(value < ceiling, value, ceiling)


def _cube_root(value, xp):
    return xp.sign(value) * xp.abs(value) ** (1.0 / 3.0)


def _cubic_real_roots(c2, c1, c0, xp):
    """The real roots of Z^3 + c2 Z^2 + c1 Z + c0 (arrays of one shape) by Cardano's formula ->
    three arrays: the three roots where there are three, else the one real root three times."""
    shift = c2 / 3.0
    p = c1 - c2 * shift
    q = 2.0 * shift**3 - shift * c1 + c0
    discriminant = (q / 2.0) ** 2 + (p / 3.0) ** 3
    root = xp.sqrt(_at_least(discriminant, 0.0, xp))
    one = _cube_root(-q / 2.0 + root, xp) + _cube_root(-q / 2.0 - root, xp)
    p_neg = _at_most(p, -1e-12, xp)  # p < 0 wherever there are three real roots
    radius = 2.0 * xp.sqrt(-p_neg / 3.0)
    cosine = _at_most(_at_least(1.5 * q / p_neg * xp.sqrt(-3.0 / p_neg), -1.0, xp), 1.0, xp)
    angle = xp.arccos(cosine) / 3.0
    three = discriminant <= 0.0
    roots = []
    for k in range(3):
        z = xp.where(three, radius * xp.cos(angle - 2.0 * math.pi * k / 3.0), one) - shift
        for _ in range(NEWTON_STEPS):  # Cardano loses digits in float32 where roots come close
            slope = (3.0 * z + 2.0 * c2) * z + c1
            steep = xp.abs(slope) > 1e-6
            z = xp.where(steep, z - (((z + c2) * z + c1) * z + c0) / xp.where(steep, slope, 1.0), z)
        roots.append(z)
    return tuple(roots)


def _co2_stable_phase(temperature_K, pressure_kPa, xp):
    """ln(f / P) and the compressibility factor Z of pure CO2's stable phase at (T, P) from the
    Peng-Robinson equation: of the cubic's roots, the one of lowest fugacity (gas and liquid coexist
    below the critical temperature)."""
    tc, pc, omega = CO2_CRITICAL_TEMPERATURE_K, CO2_CRITICAL_PRESSURE_KPA, CO2_ACENTRIC_FACTOR
    kappa = 0.37464 + 1.54226 * omega - 0.26992 * omega**2
    alpha = (1.0 + kappa * (1.0 - xp.sqrt(temperature_K / tc))) ** 2
    a_reduced = 0.45724 * alpha * (tc / temperature_K) ** 2 / pc  # a P / (R T)^2 per kPa
    b_reduced = 0.07780 * (tc / temperature_K) / pc  # b P / (R T) per kPa
    a, b = a_reduced * pressure_kPa, b_reduced * pressure_kPa
    roots = _cubic_real_roots(-(1.0 - b), a - 3.0 * b * b - 2.0 * b, -(a * b - b * b - b**3), xp)
    log_phi, z_stable = None, None
    for z in roots:
        valid = z > b
        z_safe = xp.where(valid, z, b + 1.0)
        candidate = (
            z_safe - 1.0 - xp.log(z_safe - b)
            - a / (2.0 * _SQRT2 * _at_least(b, 1e-30, xp))
            * xp.log((z_safe + (1.0 + _SQRT2) * b) / (z_safe + (1.0 - _SQRT2) * b))
        )  # fmt: skip
        candidate = xp.where(valid, candidate, 1e30)
        if log_phi is None:
            log_phi, z_stable = candidate, z_safe
        else:
            lower = candidate < log_phi
            log_phi, z_stable = xp.where(lower, candidate, log_phi), xp.where(lower, z_safe, z_stable)
    return log_phi, z_stable


def co2_fugacity_kPa(temperature_K, pressure_kPa, xp):
    """Fugacity (kPa) of pure CO2 at temperature_K and pressure_kPa (arrays of one shape, float32 or
    float64), from the Peng-Robinson equation of state. Where gas and liquid roots coexist (below the
    critical temperature) the stable phase's, the one of lower fugacity, so it is continuous and rises
    with pressure at fixed temperature; f / P -> 1 as P -> 0. Within 4% of Span and Wagner's reference
    equation over 243-453 K and 0-50 MPa (tests/unit/test_physics.py)."""
    log_phi, _ = _co2_stable_phase(temperature_K, pressure_kPa, xp)
    return xp.exp(log_phi) * pressure_kPa


def co2_reduced_density(temperature_K, pressure_kPa, xp):
    """Molar density of pure CO2's stable phase over the critical density, rho / rho_c = P / (Z R T rho_c)
    (arrays of one shape), from the Peng-Robinson equation. Rises with pressure at fixed temperature and
    is 0 at P = 0; below the critical temperature it jumps at the saturation pressure (gas to liquid)."""
    _, z = _co2_stable_phase(temperature_K, pressure_kPa, xp)
    return pressure_kPa / (z * GAS_CONSTANT * temperature_K * CO2_CRITICAL_DENSITY_MOL_L)


def co2_supercritical_density(temperature_K, pressure_kPa, xp):
    """CO2's reduced density (:func:`co2_reduced_density`) read at max(T, SUPERCRITICAL_FLOOR_K): the
    density itself at and above that temperature; below it, the floor isotherm's, which is supercritical
    and so continuous in pressure. A smooth shape term for the isotherm head: it rises with pressure at
    every temperature (steeply where compressed CO2 densifies) and is 0 at P = 0, without the jump
    that the density has at the saturation pressure below 304 K."""
    return co2_reduced_density(_at_least(temperature_K, SUPERCRITICAL_FLOOR_K, xp), pressure_kPa, xp)
