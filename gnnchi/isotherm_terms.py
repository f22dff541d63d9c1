"""The pressure terms of the ionic-liquid isotherm, written once for numpy arrays and torch tensors.

The torch head (:class:`gnnchi.nn.isotherm.IsothermHead`, exported to ONNX) and its numpy mirror
(:mod:`gnnchi.inference.isotherm`, torch-free predict and screen) call this code, so both compute the
same terms; the array library is the ``xp`` argument, as in :mod:`gnnchi.physics`. Nothing here
imports torch.
"""

from __future__ import annotations

from gnnchi.physics import co2_fugacity_kPa, co2_supercritical_density

REFERENCE_PRESSURE_KPA = 1000.0  # P_ref: the Henry and quadratic terms' pressure scale
MAX_MOLE_RATIO = 1e6  # m cap: x <= 1 - 1e-6, below 1 in float32
MAX_EXPONENT = 30.0  # cap of each term's exponent a_k + b_k t (+ c_k t^2)


def pressure_terms(pressure_kPa, langmuir_pressures_kPa, xp):
    """[...] kPa, [L] kPa -> [..., 2 + L]: P / P_ref, (P / P_ref)^2, then P / (P + p_k) per Langmuir
    pressure; all 0 at P = 0 and non-decreasing in P."""
    p = pressure_kPa[..., None]
    reduced = p / REFERENCE_PRESSURE_KPA
    return xp.concatenate([reduced, reduced * reduced, p / (p + langmuir_pressures_kPa)], axis=-1)


def condition_basis(
    temperature_K, pressure_kPa, langmuir_pressures_kPa, fugacity: bool, supercritical_density: bool, xp
):
    """Conditions [...] (K, kPa; one shape) -> the isotherm's terms [..., K]: :func:`pressure_terms` of P,
    or of CO2's fugacity f(T, P) with ``fugacity``, then CO2's supercritical density (read at
    max(T, 310 K)) with ``supercritical_density``. Every term is 0 at P = 0 and rises with P."""
    absorbing = co2_fugacity_kPa(temperature_K, pressure_kPa, xp) if fugacity else pressure_kPa
    terms = pressure_terms(absorbing, langmuir_pressures_kPa, xp)
    if supercritical_density:
        terms = xp.concatenate([terms, co2_supercritical_density(temperature_K, pressure_kPa, xp)[..., None]], axis=-1)
    return terms
