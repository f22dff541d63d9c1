"""The ionic-liquid isotherm head in numpy (torch-free): x_CO2 of ionic liquids from cached ion
encodings, pair by pair (predict) or for every cation x anion x condition at once (screen).

Mirrors :class:`gnnchi.nn.isotherm.IsothermHead`; see there for the form and why it is physical.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

from gnnchi.isotherm_terms import MAX_EXPONENT, MAX_MOLE_RATIO
from gnnchi.isotherm_terms import condition_basis as _condition_basis


class IsothermParameters(NamedTuple):
    """One member's isotherm head as arrays: the coefficient bias [J] (J = K (order + 1)), the Langmuir
    pressures (kPa), the 1/T scaler, the interaction rank R, the temperature order, whether the
    pressure terms read the fugacity of CO2 and whether CO2's supercritical density is one more term."""

    bias: np.ndarray
    langmuir_pressures_kPa: np.ndarray
    inv_t_mean: float
    inv_t_std: float
    rank: int
    order: int = 1
    fugacity: bool = False
    supercritical_density: bool = False

    @classmethod
    def from_torch(cls, head) -> IsothermParameters:
        """The arrays of a :class:`gnnchi.nn.isotherm.IsothermHead` (duck-typed: no torch import here)."""
        array = lambda t: t.detach().cpu().numpy().astype(np.float32)
        return cls(array(head.bias), array(head.langmuir_pressures_kPa), head.inv_t_mean.item(), head.inv_t_std.item(),
                   int(head.rank), int(head.order), bool(head.fugacity), bool(head.supercritical_density))  # fmt: skip

    def to_json(self) -> dict:
        return {"bias": self.bias.tolist(), "langmuir_pressures_kPa": self.langmuir_pressures_kPa.tolist(),
                "inv_t_mean": self.inv_t_mean, "inv_t_std": self.inv_t_std, "rank": self.rank, "order": self.order,
                "fugacity": self.fugacity, "supercritical_density": self.supercritical_density}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> IsothermParameters:
        return cls(np.asarray(data["bias"], np.float32), np.asarray(data["langmuir_pressures_kPa"], np.float32),
                   float(data["inv_t_mean"]), float(data["inv_t_std"]), int(data["rank"]), int(data["order"]),
                   bool(data.get("fugacity", False)), bool(data.get("supercritical_density", False)))  # fmt: skip

    @property
    def num_coefficients(self) -> int:
        return len(self.bias)

    @property
    def encoding_dim(self) -> int:
        return self.num_coefficients * (1 + self.rank)


def ion_parts(head: IsothermParameters, latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ion encodings [N, J (1 + R)] -> the additive part [N, J] and the interaction factors [N, J, R]."""
    j = head.num_coefficients
    return latent[:, :j].astype(np.float32), latent[:, j:].astype(np.float32).reshape(len(latent), j, head.rank)


def pair_coefficients(head: IsothermParameters, cation_latent: np.ndarray, anion_latent: np.ndarray) -> np.ndarray:
    """Encodings [P, J (1 + R)] of each pair's cation and anion -> coefficients [P, K, order + 1]."""
    (c, f), (a, g) = ion_parts(head, cation_latent), ion_parts(head, anion_latent)
    coef = c + a + head.bias + (f * g).sum(axis=2)
    return coef.reshape(len(coef), -1, head.order + 1)


def grid_coefficients(head: IsothermParameters, cation_latent: np.ndarray, anion_latent: np.ndarray) -> np.ndarray:
    """Every cation [C, J (1 + R)] with every anion [A, J (1 + R)] -> (a_k, b_k) [C, A, K, 2]: the additive
    parts broadcast, the interaction is one batched product per coefficient -> [C, A, K, order + 1]."""
    (c, f), (a, g) = ion_parts(head, cation_latent), ion_parts(head, anion_latent)
    coef = c[:, None, :] + a[None, :, :] + head.bias  # [C, A, J]
    if head.rank:  # one [C, R] x [R, A] product per coefficient j
        coef += np.matmul(f.transpose(1, 0, 2), g.transpose(1, 2, 0)).transpose(1, 2, 0)
    return coef.reshape(len(c), len(a), -1, head.order + 1)


def condition_basis(head: IsothermParameters, temperature_K, pressure_kPa) -> np.ndarray:
    """Conditions that broadcast to [...] (K, kPa) -> the head's terms [..., K] in float32
    (:func:`gnnchi.isotherm_terms.condition_basis`, as the torch head computes them)."""
    temperature, pressure = np.broadcast_arrays(np.asarray(temperature_K, np.float32), np.asarray(pressure_kPa, np.float32))
    return _condition_basis(
        temperature, pressure, head.langmuir_pressures_kPa, head.fugacity, head.supercritical_density, np
    )


def mole_fraction(head: IsothermParameters, coefficients: np.ndarray, temperature_K, pressure_kPa) -> np.ndarray:
    """coefficients [..., K, order + 1] and conditions that broadcast with [...] -> x_CO2 [...]."""
    t = ((1.0 / np.asarray(temperature_K, np.float32) - np.float32(head.inv_t_mean)) / np.float32(head.inv_t_std))[..., None]
    exponent = coefficients[..., 0] + coefficients[..., 1] * t
    if head.order == 2:
        exponent = exponent + coefficients[..., 2] * t * t
    exponent = np.minimum(exponent, MAX_EXPONENT)
    basis = condition_basis(head, temperature_K, pressure_kPa)
    m = np.minimum((np.exp(exponent) * basis).sum(axis=-1), MAX_MOLE_RATIO)
    return (m / (1.0 + m)).astype(np.float32)


PAIRS_PER_CHUNK = 65536  # ionic liquids scored together: a chunk's planes stay in cache through its passes


def _score_chunk(head: IsothermParameters, planes: list[np.ndarray], at_temperature: dict[float, list[int]],
                 basis: np.ndarray, total: np.ndarray, squares: np.ndarray) -> None:  # fmt: skip
    """One member's x_CO2 for a chunk of ionic liquids (``planes``: [K, chunk] per power of t) at every
    condition (``basis`` [N, K]: the pressure terms, :func:`condition_basis`), added to
    ``total`` and its squares to ``squares`` ([N, chunk] views, in place)."""
    exponent = np.empty_like(planes[0])
    for t_kelvin, conditions in at_temperature.items():
        t = np.float32((1.0 / t_kelvin - head.inv_t_mean) / head.inv_t_std)
        np.multiply(planes[1], t, out=exponent)
        exponent += planes[0]
        if head.order == 2:
            exponent += planes[2] * np.float32(t * t)
        np.minimum(exponent, np.float32(MAX_EXPONENT), out=exponent)
        np.exp(exponent, out=exponent)
        for n in conditions:
            ratio = basis[n] @ exponent  # [chunk]
            np.minimum(ratio, np.float32(MAX_MOLE_RATIO), out=ratio)
            x = ratio / (ratio + np.float32(1.0))
            total[n] += x
            squares[n] += np.square(x, dtype=np.float64)  # in float64: the std is a small difference


def screen_isotherms(
    heads: list[IsothermParameters], cation_latent: np.ndarray, anion_latent: np.ndarray, temperature_K, pressure_kPa
) -> tuple[np.ndarray, np.ndarray]:
    """Every cation x anion at each of N conditions (temperature_K [N], pressure_kPa [N]) from cached
    encodings ([C, n E], [A, n E]; member m in column block m) -> the mean and the standard deviation
    (ddof 1; NaN for one member) over members of x_CO2, each [C, A, N]."""
    temperature = np.asarray(temperature_K, np.float32).reshape(-1)
    pressure = np.asarray(pressure_kPa, np.float32).reshape(-1)
    width = cation_latent.shape[1] // len(heads)
    num_c, num_a, num_conditions = len(cation_latent), len(anion_latent), len(temperature)
    total, squares = np.zeros((num_conditions, num_c * num_a)), np.zeros((num_conditions, num_c * num_a))
    at_temperature: dict[float, list[int]] = {}  # conditions sharing a temperature share the exponentials
    for n, t_kelvin in enumerate(temperature):
        at_temperature.setdefault(float(t_kelvin), []).append(n)
    chunks = [slice(i, i + PAIRS_PER_CHUNK) for i in range(0, num_c * num_a, PAIRS_PER_CHUNK)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:  # numpy releases the GIL
        for m, head in enumerate(heads):
            block = slice(m * width, (m + 1) * width)
            basis = condition_basis(head, temperature, pressure)  # [N, K]
            coef = grid_coefficients(head, cation_latent[:, block], anion_latent[:, block])  # [C, A, K, order + 1]
            num_terms = coef.shape[2]
            # one contiguous [K, C A] plane per power of t: a temperature is then a few vector operations and
            # an exp in place, and a pressure one [K] x [K, C A] product
            planes = [np.ascontiguousarray(coef[..., d].reshape(-1, num_terms).T) for d in range(head.order + 1)]
            jobs = [pool.submit(_score_chunk, head, [p[:, pairs] for p in planes], at_temperature, basis,
                                total[:, pairs], squares[:, pairs]) for pairs in chunks]  # fmt: skip
            for job in jobs:
                job.result()  # an error in a chunk is raised here; members add to total in turn
    n = len(heads)
    mean = total / n
    std = np.sqrt(np.maximum(squares - n * mean * mean, 0.0) / (n - 1)) if n > 1 else np.full(mean.shape, np.nan)
    as_grid = lambda a: a.reshape(num_conditions, num_c, num_a).transpose(1, 2, 0).astype(np.float32)
    return as_grid(mean), as_grid(std)
