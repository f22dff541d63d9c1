"""Predictions from a trained model, a checkpoint or an exported ONNX model.

With an ONNX model this module needs numpy, pandas, RDKit and onnxruntime only (no torch).
Each distinct molecule is featurized and encoded once; pairs and temperatures then come from
the cached encodings through the small pair head.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import make_mol
from gnnchi.data.records import CHI_TASKS, DEFAULT_TEMPERATURE_RANGE_K
from gnnchi.errors import GnnChiError, ModelFileError
from gnnchi.featurizers import FEATURIZER_VERSION, MolGraph, collate_graphs, featurize

PARTS = ("pair_model", "polymer_encoder", "solvent_encoder", "pair_head")
PREDICTION_COLUMNS = (*CHI_TASKS, "p_soluble")
MOLECULES_PER_CALL = 4096


def export_file_names(output: str | Path) -> dict[str, Path]:
    """``gnnchi.onnx`` and its parts ``gnnchi.polymer_encoder.onnx``, ... beside it."""
    output = Path(output)
    stem = output.name[: -len(".onnx")] if output.name.endswith(".onnx") else output.name
    return {part: output if part == "pair_model" else output.with_name(f"{stem}.{part}.onnx") for part in PARTS}


class _OnnxBackend:
    def __init__(self, path: Path):
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover - onnxruntime is a dependency
            raise ModelFileError("reading an ONNX model needs onnxruntime: pip install onnxruntime") from None
        self.sessions = {}
        for part, file in export_file_names(path).items():
            if part == "pair_model":
                continue
            if not file.is_file():
                raise ModelFileError(f"{file} is missing: export writes it beside {path}")
            try:
                self.sessions[part] = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
            except Exception as err:
                raise ModelFileError(f"{file} is not a readable ONNX model ({str(err).splitlines()[0]})") from None
            meta = self.sessions[part].get_modelmeta().custom_metadata_map
            if meta.get("gnnchi_part") != part:
                raise ModelFileError(f"{file} is not a gnnchi {part} (no gnnchi metadata)")
            if meta.get("featurizer_version") != str(FEATURIZER_VERSION):
                raise ModelFileError(
                    f"{file} was exported with featurizer version {meta.get('featurizer_version')}; "
                    f"this gnnchi uses {FEATURIZER_VERSION}: export the model again"
                )
        self.metadata = self.sessions["pair_head"].get_modelmeta().custom_metadata_map

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        batch = collate_graphs(graphs)
        feeds = dict(zip(("x", "edge_index", "edge_attr", "batch"), batch))
        feeds["graph_ids"] = np.arange(len(graphs), dtype=np.int64)
        return self.sessions[f"{kind}_encoder"].run(None, feeds)[0]

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        feeds = {"polymer_latent": polymer_latent, "solvent_latent": solvent_latent, "temperature_K": temperature_K}
        return self.sessions["pair_head"].run(None, feeds)[0]


class _TorchBackend:
    def __init__(self, path: Path):
        import torch

        from gnnchi.models import load_checkpoint

        self.torch = torch
        self.net = load_checkpoint(path).net.eval()
        self.metadata = {"latent_dim": str(self.net.latent_dim), "ensemble_members": "1"}

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        arrays = [self.torch.from_numpy(a) for a in collate_graphs(graphs)]
        with self.torch.no_grad():
            return getattr(self.net, f"encode_{kind}s")(*arrays, len(graphs)).numpy()

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        t = self.torch.from_numpy
        with self.torch.no_grad():
            return self.net.pair_head(t(polymer_latent), t(solvent_latent), t(temperature_K)).numpy()


class Predictor:
    """chi_exp, chi_cosmo and P(soluble) of polymer-solvent pairs at given temperatures.

    >>> predictor = Predictor.from_file("export/gnnchi.onnx")   # or a .ckpt checkpoint
    >>> predictor.predict(["*CC(*)c1ccccc1"], ["Cc1ccccc1"], [298.15])
    """

    def __init__(self, backend, temperature_range_K: tuple[float, float] = DEFAULT_TEMPERATURE_RANGE_K):
        self.backend = backend
        self.temperature_range_K = temperature_range_K

    @classmethod
    def from_file(cls, path: str | Path, **kwargs) -> Predictor:
        """A checkpoint (``.ckpt``, needs torch) or an exported ONNX model (``.onnx``, torch-free)."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {str(path)!r} does not exist")
        backend = _OnnxBackend(path) if path.suffix == ".onnx" else _TorchBackend(path)
        return cls(backend, **kwargs)

    @property
    def latent_dim(self) -> int:
        return int(self.backend.metadata["latent_dim"])

    def encode(self, smiles: list[str], kind: str) -> tuple[np.ndarray, list[str]]:
        """[len(smiles), 2k] encodings (NaN rows where a SMILES fails) and one error text per SMILES ("" if fine)."""
        unique = list(dict.fromkeys(smiles))
        graphs, errors = {}, {}
        for s in unique:
            try:
                graphs[s] = featurize(make_mol(s, kind))
            except GnnChiError as err:
                errors[s] = f"{kind}: {getattr(err, 'reason', err)}"
        good = [s for s in unique if s in graphs]
        latent = {}
        for start in range(0, len(good), MOLECULES_PER_CALL):
            chunk = good[start : start + MOLECULES_PER_CALL]
            for s, row in zip(chunk, self.backend.encode(kind, [graphs[s] for s in chunk])):
                latent[s] = row
        out = np.full((len(smiles), 2 * self.latent_dim), np.nan, np.float32)
        for i, s in enumerate(smiles):
            if s in latent:
                out[i] = latent[s]
        return out, [errors.get(s, "") for s in smiles]

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> pd.DataFrame:
        """Predictions from encodings: [P, 2k], [P, 2k], [P] -> columns chi_exp, chi_cosmo, p_soluble."""
        out = self.backend.pair(
            np.ascontiguousarray(polymer_latent, np.float32),
            np.ascontiguousarray(solvent_latent, np.float32),
            np.ascontiguousarray(temperature_K, np.float32),
        )
        frame = pd.DataFrame(out[:, 1:], columns=list(CHI_TASKS))
        frame["p_soluble"] = 1.0 / (1.0 + np.exp(-out[:, 0]))
        return frame

    def predict(self, polymers: list[str], solvents: list[str], temperatures_K) -> pd.DataFrame:
        """One row per input pair, in order: chi_exp, chi_cosmo, p_soluble and ``error`` ("" when fine)."""
        temperatures = np.asarray(temperatures_K, dtype=np.float64)
        polymer_latent, polymer_errors = self.encode(list(polymers), "polymer")
        solvent_latent, solvent_errors = self.encode(list(solvents), "solvent")
        low, high = self.temperature_range_K
        errors = []
        for p_err, s_err, t in zip(polymer_errors, solvent_errors, temperatures):
            problems = [e for e in (p_err, s_err) if e]
            if np.isnan(t):
                problems.append("missing temperature")
            elif not low <= t <= high:
                problems.append(f"temperature {t:g} K outside {low:g}-{high:g} K")
            errors.append("; ".join(problems))
        ok = np.array([not e for e in errors], dtype=bool)
        frame = pd.DataFrame(np.nan, index=range(len(errors)), columns=list(PREDICTION_COLUMNS))
        if ok.any():
            frame.loc[ok, list(PREDICTION_COLUMNS)] = self.pair(
                polymer_latent[ok], solvent_latent[ok], temperatures[ok]
            )[list(PREDICTION_COLUMNS)].to_numpy()
        frame["error"] = errors
        return frame


def model_metadata(path: str | Path) -> dict[str, str]:
    """The gnnchi metadata of an exported ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}

