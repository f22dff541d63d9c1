"""Predictions from a trained model, a checkpoint or an exported ONNX model.

With an ONNX model this module needs numpy, pandas, RDKit and onnxruntime only (no torch).
Each distinct molecule is featurized and encoded once; pairs and temperatures then come from
the cached encodings through the small pair head.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS, make_mol
from gnnchi.errors import DataValidationError, GnnChiError, ModelFileError
from gnnchi.featurizers import featurize
from gnnchi.featurizers.atom import vocabulary_warning
from gnnchi.inference.backends import OnnxBackend, TorchBackend
from gnnchi.inference.onnx_format import LATENT_DIM, MEMBERS, SYSTEM
from gnnchi.inference.screening import Grid, screen_grid, sigmoid
from gnnchi.systems import CHI
from gnnchi.systems.chi import CHI_TASKS, DEFAULT_TEMPERATURE_RANGE_K

PREDICTION_COLUMNS = tuple(c for name in (*CHI_TASKS, "p_soluble") for c in (name, f"{name}_std"))
MOLECULES_PER_CALL = 4096


class PairPredictor:
    """What predictors of every system share: the model (ONNX or checkpoints), the RDKit gate and
    featurization of each distinct SMILES once, its encoding by the model, its novelty against the
    training data, and the notes (vocabulary, domain) a prediction carries. Subclasses give ``predict``."""

    def __init__(self, model=None, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS, calibrated: bool = True):
        self.backend = load_backend(model) if model is None or isinstance(model, (str, Path, list, tuple)) else model
        self.max_heavy_atoms = max_heavy_atoms
        uncertainty = getattr(self.backend, "uncertainty", None)
        self.calibration = uncertainty.calibration if uncertainty is not None and calibrated else {}
        self.domain = uncertainty.domain if uncertainty is not None else None
        self.vocabulary_warnings: dict[tuple[str, str], str] = {}  # (kind, SMILES) -> what is unknown
        self.domain_notes: dict[tuple[str, str], str] = {}  # (kind, SMILES) -> what training did not have
        self._novelty: dict[tuple[str, str], float] = {}  # (kind, SMILES) -> 1 - highest similarity to training

    @classmethod
    def from_file(cls, path, **kwargs):
        """An exported ONNX model (``.onnx``, torch-free), or checkpoints (``.ckpt``, needs torch):
        one path, an ``ensemble.json`` manifest, or a list of them (an ensemble). Same as ``Predictor(path)``."""
        if path is None:
            raise ModelFileError("no model file given")
        return cls([Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path], **kwargs)

    @property
    def num_members(self) -> int:
        return int(self.backend.metadata[MEMBERS])

    def encode(self, smiles: list[str], kind: str) -> tuple[np.ndarray, list[str]]:
        """[len(smiles), n * 2k] encodings (NaN rows where a SMILES fails) and one error text per SMILES ("" if fine)."""
        unique = list(dict.fromkeys(smiles))
        graphs, errors, mols = {}, {}, {}
        for s in unique:
            try:
                mols[s] = make_mol(s, kind, max_heavy_atoms=self.max_heavy_atoms)
                graphs[s] = featurize(mols[s])
                warning = vocabulary_warning(mols[s])
                if warning:
                    self.vocabulary_warnings[(kind, s)] = warning
            except GnnChiError as err:
                errors[s] = f"{kind}: {getattr(err, 'reason', err)}"
        good = [s for s in unique if s in graphs]
        new = [s for s in good if (kind, s) not in self._novelty]
        if self.domain is not None and new:
            novelty, notes = self.domain.assess([mols[s] for s in new], kind)
            for s, value, note in zip(new, novelty, notes):
                self._novelty[(kind, s)] = float(value)
                if note:
                    self.domain_notes[(kind, s)] = note
        latent = {}
        for start in range(0, len(good), MOLECULES_PER_CALL):
            chunk = good[start : start + MOLECULES_PER_CALL]
            for s, row in zip(chunk, self.backend.encode(kind, [graphs[s] for s in chunk])):
                latent[s] = row
        out = np.full((len(smiles), self.backend.encoding_width), np.nan, np.float32)
        for i, s in enumerate(smiles):
            if s in latent:
                out[i] = latent[s]
        return out, [errors.get(s, "") for s in smiles]

    def novelty(self, smiles: list[str], kind: str) -> np.ndarray:
        """[len(smiles)] 1 - the highest Tanimoto similarity to a training molecule of this kind, for
        molecules already encoded (0 where the model carries no training domain)."""
        return np.array([self._novelty.get((kind, s), 0.0) for s in smiles])

    def molecule_notes(self, molecules: dict[str, str]) -> str:
        """"" or what in these encoded molecules ({kind: SMILES}) is outside the featurizer's vocabulary
        or the training data."""
        notes = (
            (kind, note)
            for kind, smiles in molecules.items()
            for note in (self.vocabulary_warnings.get((kind, smiles)), self.domain_notes.get((kind, smiles)))
        )
        return "; ".join(f"{kind}: {note}" for kind, note in notes if note)


class Predictor(PairPredictor):
    """chi_exp, chi_cosmo and P(soluble) of polymer-solvent pairs at given temperatures, each with a
    standard deviation.

    The std of chi is calibrated (``calibrated=True``, the default) where the model carries its fitted
    uncertainty (:mod:`gnnchi.inference.calibration`): it combines the spread over members with how far
    each molecule is from the training data, so it is given for a single model too. Otherwise, and for
    P(soluble), it is the spread over members (NaN for a single model).

    >>> predictor = Predictor()                        # the shipped model (gnnchi.release)
    >>> predictor = Predictor("export/gnnchi.onnx")    # or .ckpt files, a list of them, an ensemble.json
    >>> predictor.predict(["*CC(*)c1ccccc1", "*CCO*"], "Cc1ccccc1", 298.15)   # one solvent, one temperature
    """

    def __init__(
        self,
        model=None,
        temperature_range_K: tuple[float, float] = DEFAULT_TEMPERATURE_RANGE_K,
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
        calibrated: bool = True,
    ):
        """``model``: None (the shipped model), a path (``.onnx``, ``.ckpt``, ``ensemble.json``), a list
        of checkpoint paths (an ensemble), or a backend (:mod:`gnnchi.inference.backends`).
        ``calibrated``: False gives the raw spread over members as the std of chi."""
        super().__init__(model, max_heavy_atoms, calibrated)
        check_system(self.backend, CHI.name)
        self.temperature_range_K = tuple(temperature_range_K)

    @property
    def latent_dim(self) -> int:
        """k of each member."""
        return int(self.backend.metadata[LATENT_DIM])

    def grid(
        self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K, polymers=None, solvents=None
    ) -> Grid:
        """All polymer x solvent x temperature predictions from encodings (see :func:`screen_grid`);
        given the encoded ``polymers`` and ``solvents`` (SMILES, in the encodings' order), the std of
        chi is calibrated."""
        grid = screen_grid(self.backend.heads(), polymer_latent, solvent_latent, temperatures_K)
        if not self.calibration or polymers is None or solvents is None:
            return grid
        novelty_p = self.novelty(list(polymers), "polymer")[:, None, None]  # [P, 1, 1]
        novelty_s = self.novelty(list(solvents), "solvent")[None, :, None]  # [1, S, 1]
        chi_std = grid.chi_std.copy()
        for c, task in enumerate(CHI_TASKS):
            if task in self.calibration:
                chi_std[c] = self.calibration[task].sigma(grid.chi_std[c], novelty_p, novelty_s, grid.chi[c])
        return grid._replace(chi_std=chi_std)

    def predict(self, polymers, solvents, temperatures_K) -> pd.DataFrame:
        """One row per input pair, in order: ``polymer``, ``solvent``, ``temperature_K`` as given, then
        chi_exp, chi_exp_std, chi_cosmo, chi_cosmo_std, p_soluble, p_soluble_std, ``error`` ("" when
        fine; then no prediction) and ``warning`` ("" when fine; a prediction made with atoms outside
        the featurizer's vocabulary, or for a molecule unlike the training data: an element or ring
        system it never had, or no similar training molecule). A single SMILES string or temperature
        is used for every pair."""
        polymers, solvents, temperatures = broadcast_pairs(polymers, solvents, temperatures_K)
        polymer_latent, polymer_errors = self.encode(polymers, "polymer")
        solvent_latent, solvent_errors = self.encode(solvents, "solvent")
        errors = [
            "; ".join(e for e in (p_err, s_err, self.temperature_problem(t)) if e)
            for p_err, s_err, t in zip(polymer_errors, solvent_errors, temperatures)
        ]
        ok = np.array([not e for e in errors], dtype=bool)
        values = np.full((len(errors), len(PREDICTION_COLUMNS)), np.nan)
        if ok.any():
            out = self.backend.pair(
                polymer_latent[ok], solvent_latent[ok], np.ascontiguousarray(temperatures[ok], np.float32)
            )
            values[ok] = _prediction_columns(out)
        frame = pd.DataFrame({"polymer": polymers, "solvent": solvents, "temperature_K": temperatures})
        frame[list(PREDICTION_COLUMNS)] = values
        if self.calibration:
            novelty_p, novelty_s = self.novelty(polymers, "polymer"), self.novelty(solvents, "solvent")
            for task, calibration in self.calibration.items():
                sigma = calibration.sigma(frame[f"{task}_std"], novelty_p, novelty_s, frame[task].fillna(0.0))
                frame[f"{task}_std"] = np.where(ok, sigma, np.nan)
        frame["error"] = errors
        frame["warning"] = [
            self.molecule_notes({"polymer": p, "solvent": q}) if ok_row else "" for p, q, ok_row in zip(polymers, solvents, ok)
        ]
        return frame

    def temperature_problem(self, temperature_K: float) -> str:
        """"" or why a temperature (kelvin) cannot be predicted: missing, or outside ``temperature_range_K``."""
        low, high = self.temperature_range_K
        if np.isnan(temperature_K):
            return "missing temperature"
        return "" if low <= temperature_K <= high else f"temperature {temperature_K:g} K outside {low:g}-{high:g} K"


def check_system(backend, system: str) -> None:
    """Refuse a model of another system than the predictor's."""
    found = backend.metadata.get(SYSTEM, CHI.name)
    if found != system:
        raise ModelFileError(f"this is a model of the {found!r} system; it cannot predict {system!r}")


def load_backend(model):
    """The backend of ``model``: None (the shipped ONNX model), an ``.onnx`` path (torch-free), or
    checkpoint paths (``.ckpt`` or ``ensemble.json``; one, or a list for an ensemble)."""
    if model is None:
        from gnnchi import release

        model = release.shipped_model()  # looked up at call time: tests point it at a tiny model
    paths = [Path(model)] if isinstance(model, (str, Path)) else [Path(p) for p in model]
    if not paths:
        raise ModelFileError("no model file given")
    for p in paths:
        if not p.is_file():
            raise ModelFileError(f"model file {str(p)!r} does not exist")
    if any(p.suffix == ".onnx" for p in paths):
        if len(paths) > 1:
            raise ModelFileError("give one exported .onnx model (export an ensemble as one model)")
        return OnnxBackend(paths[0])
    return TorchBackend(paths)


def broadcast_columns(values: dict[str, object], source: str = "predict") -> dict[str, list | np.ndarray]:
    """Equal-length columns from ``values`` (name -> a SMILES string, a number, or a sequence of them):
    a single string or number is repeated to the length of the others; numbers become float64 arrays."""
    columns, single = {}, set()
    for name, value in values.items():
        if isinstance(value, str):
            columns[name], single = [value], single | {name}
        elif isinstance(value, (int, float, np.number)) or (isinstance(value, np.ndarray) and value.ndim == 0):
            columns[name], single = np.asarray([value], dtype=np.float64), single | {name}
        else:
            items = list(value)
            numeric = len(items) > 0 and not any(isinstance(v, str) for v in items)
            columns[name] = np.asarray(items, dtype=np.float64).reshape(-1) if numeric else items
            if numeric and np.asarray(value, dtype=np.float64).ndim > 1:
                raise DataValidationError(source, [], f"{name} must be one number or a flat sequence")
    lengths = {name: len(v) for name, v in columns.items() if name not in single}
    n = max(lengths.values(), default=1)
    if any(length != n for length in lengths.values()):
        given = ", ".join(f"{name} {len(v)}" for name, v in columns.items())
        names = list(values)
        listed = f"{', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else names[0]
        raise DataValidationError(source, [], f"give as many {listed}, or one of each to repeat (got {given})")
    for name in single:
        columns[name] = columns[name] * n if isinstance(columns[name], list) else np.repeat(columns[name], n)
    return columns


def broadcast_pairs(polymers, solvents, temperatures_K) -> tuple[list[str], list[str], np.ndarray]:
    """Equal-length lists of polymers and solvents and a float array of kelvin; a single SMILES string
    or a single temperature is repeated to the length of the others."""
    columns = broadcast_columns({"polymers": polymers, "solvents": solvents, "temperatures_K": temperatures_K})
    return list(columns["polymers"]), list(columns["solvents"]), np.asarray(columns["temperatures_K"], np.float64)


def _prediction_columns(out: np.ndarray) -> np.ndarray:
    """Member outputs [P, n, 1 + C] (logit, chi per task) -> [P, 2 (C + 1)]: the mean and the
    standard deviation over members of each chi task and of P(soluble), in ``PREDICTION_COLUMNS`` order."""
    values = np.concatenate([out[:, :, 1:], sigmoid(out[:, :, :1])], axis=2)  # [P, n, C + 1]
    mean = values.mean(axis=1)
    std = values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.full_like(mean, np.nan)
    return np.stack([mean, std], axis=2).reshape(len(out), -1)
