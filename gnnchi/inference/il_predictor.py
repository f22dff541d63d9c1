"""x_CO2 of ionic liquids (cation + anion) at given temperatures and pressures, from a trained co2_il
model, a checkpoint or an ensemble, or its ONNX export (then torch-free), with an uncertainty; and the
screen of every cation x anion at one or more conditions from cached ion encodings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.errors import DataValidationError
from gnnchi.inference.isotherm import screen_isotherms
from gnnchi.inference.predictor import PairPredictor, broadcast_columns, check_system
from gnnchi.systems import CO2_IL

TEMPERATURE, PRESSURE = CO2_IL.conditions
PREDICTION_COLUMNS = ("x_co2", "x_co2_std")


class IonicLiquidPredictor(PairPredictor):
    """x_CO2 (mole fraction of CO2 in the liquid) of cation + anion pairs at (T, P), with its std.

    The std is calibrated (``calibrated=True``, the default) where the model carries its fitted
    uncertainty: the spread over members scaled, plus terms that grow with how unlike the training
    ions each ion is. Otherwise it is the spread over members (NaN for one model).

    >>> predictor = IonicLiquidPredictor()   # the shipped model; or a .ckpt, .onnx or ensemble.json path
    >>> predictor.predict("CCCC[n+]1ccn(C)c1", "F[P-](F)(F)(F)(F)F", 298.15, [100.0, 1000.0])  # kelvin, kPa
    """

    def __init__(
        self,
        model=None,
        temperature_range_K: tuple[float, float] = TEMPERATURE.valid_range,
        pressure_range_kPa: tuple[float, float] = PRESSURE.valid_range,
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
        calibrated: bool = True,
    ):
        """``model``: a path (``.onnx``, ``.ckpt``, ``ensemble.json``), a list of checkpoint paths, or a backend;
        default: the shipped co2_il model."""
        if model is None:
            from gnnchi import release

            model = release.shipped_model(CO2_IL.name)  # looked up at call time: tests point it at a tiny model
        super().__init__(model, max_heavy_atoms, calibrated)
        check_system(self.backend, CO2_IL.name)
        self.ranges = {TEMPERATURE.name: tuple(temperature_range_K), PRESSURE.name: tuple(pressure_range_kPa)}

    def condition_problem(self, temperature_K: float, pressure_kPa: float) -> str:
        """"" or why a condition cannot be predicted: missing, or outside the plausible range."""
        problems = []
        for condition, value in ((TEMPERATURE, temperature_K), (PRESSURE, pressure_kPa)):
            low, high = self.ranges[condition.name]
            word, unit = condition.name.split("_")
            if np.isnan(value):
                problems.append(f"missing {word}")
            elif not low <= value <= high:
                problems.append(f"{word} {value:g} {unit} outside {low:g}-{high:g} {unit}")
        return "; ".join(problems)

    def _calibrated_std(self, spread: np.ndarray, mean: np.ndarray, cations, anions) -> np.ndarray:
        calibration = self.calibration.get("x_co2")
        if calibration is None:
            return spread
        novelty_c, novelty_a = self.novelty(list(cations), "cation"), self.novelty(list(anions), "anion")
        return calibration.sigma(spread, novelty_c, novelty_a, mean)

    def predict(self, cations, anions, temperature_K, pressure_kPa) -> pd.DataFrame:
        """One row per input, in order: ``cation``, ``anion``, ``temperature_K``, ``pressure_kPa`` as given,
        then ``x_co2``, ``x_co2_std``, ``error`` ("" when fine; then no prediction) and ``warning`` (""
        when fine; an ion unlike the training ions, or atoms outside the featurizer's vocabulary). A
        single SMILES or number is used for every row."""
        columns = broadcast_columns(
            {"cations": cations, "anions": anions, "temperature_K": temperature_K, "pressure_kPa": pressure_kPa}
        )
        cations, anions = list(columns["cations"]), list(columns["anions"])
        temperatures, pressures = (np.asarray(columns[c], np.float64) for c in ("temperature_K", "pressure_kPa"))
        cation_latent, cation_errors = self.encode(cations, "cation")
        anion_latent, anion_errors = self.encode(anions, "anion")
        errors = [
            "; ".join(e for e in (c_err, a_err, self.condition_problem(t, p)) if e)
            for c_err, a_err, t, p in zip(cation_errors, anion_errors, temperatures, pressures)
        ]
        ok = np.array([not e for e in errors], dtype=bool)
        frame = pd.DataFrame({"cation": cations, "anion": anions, "temperature_K": temperatures, "pressure_kPa": pressures})
        mean, std = np.full(len(frame), np.nan), np.full(len(frame), np.nan)
        if ok.any():
            f32 = lambda a: np.ascontiguousarray(a[ok], np.float32)
            out = self.backend.pair(f32(cation_latent), f32(anion_latent), f32(temperatures), f32(pressures))[:, :, 0]
            mean[ok] = out.mean(axis=1)
            spread = out.std(axis=1, ddof=1) if out.shape[1] > 1 else np.full(len(out), np.nan)
            std[ok] = self._calibrated_std(spread, mean[ok], np.asarray(cations)[ok], np.asarray(anions)[ok])
        frame["x_co2"], frame["x_co2_std"] = mean, std
        frame["error"] = errors
        frame["warning"] = [
            self.molecule_notes({"cation": c, "anion": a}) if fine else "" for c, a, fine in zip(cations, anions, ok)
        ]
        return frame

    def screen(self, cations, anions, temperature_K, pressure_kPa, top: int | None = None) -> pd.DataFrame:
        """Every cation x anion at each condition (``temperature_K`` and ``pressure_kPa``: one value or
        equal-length sequences, one condition per position), ranked by x_CO2 (highest first) within each
        condition; ``top``: keep the best N per condition. Ions that fail come last, once each, with their
        ``error``. Columns: ``rank``, ``cation``, ``anion``, ``temperature_K``, ``pressure_kPa``, ``x_co2``,
        ``x_co2_std``, ``error``, ``warning``."""
        single = lambda v: v[0] if not isinstance(v, str) and np.ndim(v) == 1 and len(v) == 1 else v
        conditions = broadcast_columns({"temperature_K": single(temperature_K), "pressure_kPa": single(pressure_kPa)}, "screen")
        temperatures, pressures = (np.asarray(conditions[c], np.float64) for c in ("temperature_K", "pressure_kPa"))
        problems = [p for t, q in zip(temperatures, pressures) if (p := self.condition_problem(t, q))]
        if problems:
            raise DataValidationError("screen", [], "; ".join(dict.fromkeys(problems)))
        grid = self.grid(list(cations), list(anions), temperatures, pressures)
        return grid.ranked(top)

    def grid(self, cations: list[str], anions: list[str], temperatures_K, pressures_kPa) -> IonicLiquidGrid:
        """x_CO2 and its std [C', A', N] for the distinct valid cations and anions at N conditions."""
        cations, anions = list(dict.fromkeys(cations)), list(dict.fromkeys(anions))
        cation_latent, cation_errors = self.encode(cations, "cation")
        anion_latent, anion_errors = self.encode(anions, "anion")
        good_c = [i for i, e in enumerate(cation_errors) if not e]
        good_a = [i for i, e in enumerate(anion_errors) if not e]
        mean, spread = screen_isotherms(
            self.backend.heads(), cation_latent[good_c], anion_latent[good_a], temperatures_K, pressures_kPa
        )
        good_cations, good_anions = [cations[i] for i in good_c], [anions[i] for i in good_a]
        std = spread
        calibration = self.calibration.get("x_co2")
        if calibration is not None:
            novelty_c = self.novelty(good_cations, "cation")[:, None, None]
            novelty_a = self.novelty(good_anions, "anion")[None, :, None]
            std = calibration.sigma(spread, novelty_c, novelty_a, mean).astype(np.float32)
        failed = [(c, "cation", e) for c, e in zip(cations, cation_errors) if e]
        failed += [(a, "anion", e) for a, e in zip(anions, anion_errors) if e]
        notes = {("cation", c): self.molecule_notes({"cation": c}) for c in good_cations}
        notes.update({("anion", a): self.molecule_notes({"anion": a}) for a in good_anions})
        return IonicLiquidGrid(good_cations, good_anions, np.asarray(temperatures_K, np.float64),
                               np.asarray(pressures_kPa, np.float64), mean, std, failed, notes)  # fmt: skip


class IonicLiquidGrid:
    """Screening results: x_CO2 [C, A, N] and its std for cations x anions x conditions, the ions that
    failed (SMILES, kind, error) and each valid ion's note."""

    def __init__(self, cations, anions, temperatures_K, pressures_kPa, x_co2, x_co2_std, failed, notes):
        self.cations, self.anions = cations, anions
        self.temperatures_K, self.pressures_kPa = temperatures_K, pressures_kPa
        self.x_co2, self.x_co2_std, self.failed, self.notes = x_co2, x_co2_std, failed, notes

    def ranked(self, top: int | None = None) -> pd.DataFrame:
        """One block per condition, ranked by x_CO2 (highest first; ``top`` best kept), then the failed ions."""
        num_c, num_a = len(self.cations), len(self.anions)
        blocks = []
        for n, (t, p) in enumerate(zip(self.temperatures_K, self.pressures_kPa)):
            values = self.x_co2[:, :, n].reshape(-1)
            order = np.argsort(-values, kind="stable")
            if top is not None:
                order = order[:top]
            c, a = np.divmod(order, num_a) if num_a else (order, order)
            blocks.append(pd.DataFrame({
                "rank": np.arange(1, len(order) + 1), "cation": [self.cations[i] for i in c],
                "anion": [self.anions[i] for i in a], "temperature_K": t, "pressure_kPa": p,
                "x_co2": values[order], "x_co2_std": self.x_co2_std[:, :, n].reshape(-1)[order], "error": "",
                "warning": ["; ".join(x for x in (self.notes[("cation", self.cations[i])], self.notes[("anion", self.anions[j])]) if x)
                            for i, j in zip(c, a)],
            }))  # fmt: skip
        if num_c * num_a == 0 and not blocks:
            blocks = [pd.DataFrame(columns=["rank", "cation", "anion"])]
        bad = pd.DataFrame(
            {"cation": [s if k == "cation" else "" for s, k, _ in self.failed],
             "anion": [s if k == "anion" else "" for s, k, _ in self.failed],
             "error": [f"{e}" for _, _, e in self.failed], "warning": ""}  # fmt: skip
        )
        ranked = pd.concat([*blocks, bad], ignore_index=True)
        ranked["rank"] = ranked["rank"].astype("Int64")
        return ranked
