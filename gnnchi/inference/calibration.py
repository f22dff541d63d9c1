"""The calibrated standard deviation of each regression task, and the uncertainty record a model file carries.

The ensemble's spread alone is too small and blind to novelty: members trained on the same rows
agree on a polymer none of them has seen. Per regression task, a model file holds five numbers
fitted on its validation rows (never its training rows) by Gaussian likelihood:

    sigma^2 = (a * spread)^2 + b^2 + (d * (prediction - center))^2 + (c_polymer * novelty_polymer)^2
              + (c_solvent * novelty_solvent)^2

``spread``: the standard deviation over members (0 for one model); ``prediction``: the ensemble mean,
whose term the task declares (``Task.value_term``): errors that scale with the value, such as x_CO2's,
near 0 at low pressure, get a relative term (center 0); errors that grow away from a typical value a
centred one (center fitted); errors that grow away from a meaningful value a threshold one (center
given: chi_exp's 0.5, the miscibility threshold, docs/evaluation); ``novelty``: 1 - the
highest Tanimoto similarity to a training molecule of that kind (:mod:`gnnchi.inference.domain`). A
record written before ``d`` or ``center`` existed reads with 0 for them.

The uncertainty record (:func:`record`, :func:`from_record`) is one JSON-able dict, written by ``fit``
into the checkpoint (one model) or the ensemble manifest, and by export into the ONNX metadata.
A pooled calibration (:func:`write_pooled`, :func:`read_pooled`) is fitted by ``evaluate`` on every
fold's held-out rows and given by the release to a model of the same recipe.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from gnnchi.errors import ModelFileError
from gnnchi.inference.domain import Domain

if TYPE_CHECKING:
    from gnnchi.systems.base import ValueTerm

RECORD_VERSION = 1
MIN_ROWS = 10  # fewer validation rows with a target: the task keeps its raw spread
CENTER_QUANTILES = np.linspace(0.0, 1.0, 21)  # the candidate centers of a "centred" value term


class TaskCalibration(NamedTuple):
    """sigma^2 = (a spread)^2 + b^2 + (d (prediction - center))^2 + (c_polymer novelty_polymer)^2
    + (c_solvent novelty_solvent)^2.

    ``c_polymer`` and ``c_solvent`` weigh the novelty of the system's first and second molecule (the
    names are the chi system's; for co2_il they are the cation's and the anion's)."""

    a: float
    b: float
    c_polymer: float
    c_solvent: float
    rows: int  # held-out rows it was fitted on (a fit's validation rows; evaluate's test rows when pooled)
    d: float = 0.0
    center: float = 0.0

    def sigma(
        self, spread: np.ndarray, novelty_polymer: np.ndarray, novelty_solvent: np.ndarray, prediction: np.ndarray
    ) -> np.ndarray:
        """Arrays that broadcast together -> the calibrated standard deviation (a missing spread counts as 0)."""
        spread = np.nan_to_num(np.asarray(spread, np.float64), nan=0.0)
        offset = np.asarray(prediction, np.float64) - self.center
        variance = (self.a * spread) ** 2 + self.b**2 + (self.d * offset) ** 2
        variance = variance + (self.c_polymer * np.asarray(novelty_polymer)) ** 2
        return np.sqrt(variance + (self.c_solvent * np.asarray(novelty_solvent)) ** 2)


def fit_task(
    error: np.ndarray, spread: np.ndarray, novelty_polymer: np.ndarray, novelty_solvent: np.ndarray,
    prediction: np.ndarray, value_term: ValueTerm = "relative", value_center: float = 0.0,
) -> TaskCalibration | None:
    """Maximum Gaussian likelihood of the validation errors [R] under :class:`TaskCalibration`'s sigma.
    ``value_term`` (the task's): ``"relative"`` fits d with center 0; ``"threshold"`` fits d with center
    ``value_center``; ``"centred"`` fits d and the center (the best of :data:`CENTER_QUANTILES` of the
    predictions); ``"none"`` keeps d = 0.

    None with fewer than ``MIN_ROWS`` finite errors."""
    error, spread = np.asarray(error, np.float64), np.nan_to_num(np.asarray(spread, np.float64), nan=0.0)
    keep = np.isfinite(error)
    if keep.sum() < MIN_ROWS:
        return None
    e2, prediction = error[keep] ** 2, np.asarray(prediction, np.float64)[keep]
    fixed = np.stack([spread[keep] ** 2, np.ones(keep.sum()), np.asarray(novelty_polymer)[keep] ** 2,
                      np.asarray(novelty_solvent)[keep] ** 2], axis=1)  # fmt: skip

    def fit(center: float) -> tuple[float, np.ndarray]:
        return _fit_squares(e2, np.column_stack([fixed, (prediction - center) ** 2]), with_d=value_term != "none")

    center = float(value_center) if value_term == "threshold" else 0.0
    if value_term == "centred":  # the best candidate, then refined between its neighbours
        from scipy.optimize import minimize_scalar

        candidates = np.quantile(prediction, CENTER_QUANTILES)
        best = int(np.argmin([fit(c)[0] for c in candidates]))
        low, high = candidates[max(best - 1, 0)], candidates[min(best + 1, len(candidates) - 1)]
        if high > low:
            center = float(minimize_scalar(lambda c: fit(c)[0], bounds=(low, high), method="bounded").x)
        else:
            center = float(low)
    a, b, c_polymer, c_solvent, d = (float(v) for v in np.sqrt(np.maximum(fit(center)[1], 0.0)))
    return TaskCalibration(a, b, c_polymer, c_solvent, rows=int(keep.sum()), d=d, center=float(center))


def _fit_squares(e2: np.ndarray, features: np.ndarray, with_d: bool) -> tuple[float, np.ndarray]:
    """(mean negative log likelihood, [T] a^2, b^2, c_polymer^2, c_solvent^2, then the value terms' squares)
    for the errors^2 [R] and the terms' features [R, T], T >= 5 (without ``with_d``, the value terms stay 0)."""
    from scipy.optimize import minimize

    floor = 1e-6 * max(float(e2.mean()), 1e-12)

    def loss(squares: np.ndarray) -> tuple[float, np.ndarray]:
        variance = features @ squares + floor
        value = float(np.mean(np.log(variance) + e2 / variance))
        return value, features.T @ ((1.0 / variance - e2 / variance**2) / len(e2))

    # a term the validation rows cannot inform (no spread, no novel molecule) keeps its start:
    # the raw spread (a = 1) and no novelty or value term
    value_terms = features.shape[1] - 4
    start = np.array([1.0, float(np.median(e2)), 0.0, 0.0] + [0.0] * value_terms)
    bounds = [(0.0, None)] * 4 + [(0.0, None if with_d else 0.0)] * value_terms
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    return float(result.fun), result.x


class Uncertainty(NamedTuple):
    """What a model file says about its own uncertainty: per regression task its calibration, and its training domain."""

    calibration: dict[str, TaskCalibration]
    domain: Domain | None


def record(uncertainty: Uncertainty) -> dict:
    """The JSON-able record written into checkpoints, manifests and ONNX metadata."""
    return {
        "version": RECORD_VERSION,
        "calibration": {task: c._asdict() for task, c in uncertainty.calibration.items()},
        "domain": uncertainty.domain.to_json() if uncertainty.domain is not None else None,
    }


def from_record(data: dict | None) -> Uncertainty | None:
    """The record's :class:`Uncertainty`; None for a model without one (or of another record version)."""
    if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
        return None
    calibration = {task: TaskCalibration(**values) for task, values in data["calibration"].items()}
    return Uncertainty(calibration, Domain.from_json(data["domain"]) if data.get("domain") else None)


POOLED_FILE = "calibration.json"  # beside an evaluate protocol's metrics.json


def write_pooled(path: str | Path, calibration: dict[str, TaskCalibration], source: dict) -> Path:
    """Write a calibration fitted on pooled held-out rows; ``source``: what it was fitted on (protocol, folds,
    members, config arguments), for the model card."""
    path = Path(path)
    content = {"version": RECORD_VERSION, "calibration": {t: c._asdict() for t, c in calibration.items()}, "source": source}
    path.write_text(json.dumps(content, indent=1) + "\n")
    return path


def read_pooled(path: str | Path) -> tuple[dict[str, TaskCalibration], dict]:
    """The calibration and its source from :func:`write_pooled`'s file."""
    try:
        data = json.loads(Path(path).read_text())
        version, source = data.get("version"), dict(data["source"])
        calibration = {task: TaskCalibration(**values) for task, values in data["calibration"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ModelFileError(f"{path} is not a calibration written by evaluate ({type(err).__name__}: {err})") from None
    if version != RECORD_VERSION:
        raise ModelFileError(f"{path}: calibration record version {version!r}, expected {RECORD_VERSION}")
    missing = {"protocol", "folds", "members"} - set(source)
    if missing:
        raise ModelFileError(f"{path}: its source lacks {sorted(missing)}")
    return calibration, source
