"""Predictions from a trained model, a checkpoint or an exported ONNX model.

With an ONNX model this module needs numpy, pandas, RDKit and onnxruntime only (no torch).
Each distinct molecule is featurized and encoded once; pairs and temperatures then come from
the cached encodings through the small pair head.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

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


class HeadParameters(NamedTuple):
    """The pair head as arrays: linear weight [O, k] and bias [O] (O = 1 + C (order + 1)), scalers."""

    weight: np.ndarray
    bias: np.ndarray
    inv_t_mean: float
    inv_t_std: float
    chi_mean: np.ndarray
    chi_std: np.ndarray
    order: int


def screen_grid(head: HeadParameters, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K):
    """Every polymer x solvent x temperature at once from cached encodings.

    z is quadratic in u, so the head's linear map of z splits into per-molecule terms and one
    rank-k product: W z_ij = W(u_p^2 - r_p^2)_i + W(u_s^2 - r_s^2)_j - 2 sum_k W_k u_p,ik u_s,jk.
    One matrix product per output covers all P x S pairs; temperatures only reuse the coefficients.

    polymer_latent [P, 2k], solvent_latent [S, 2k], temperatures_K [T] ->
    chi [C, P, S, T] (one per chi task) and p_soluble [P, S].
    """
    k = polymer_latent.shape[1] // 2
    u_p, r_p = polymer_latent[:, :k].astype(np.float32), polymer_latent[:, k:].astype(np.float32)
    u_s, r_s = solvent_latent[:, :k].astype(np.float32), solvent_latent[:, k:].astype(np.float32)
    polymer_term = (u_p * u_p - r_p * r_p) @ head.weight.T  # [P, O]
    solvent_term = (u_s * u_s - r_s * r_s) @ head.weight.T  # [S, O]
    cross = np.einsum("pk,ok,sk->ops", u_p, head.weight, u_s, optimize=True)  # [O, P, S]
    out = polymer_term.T[:, :, None] + solvent_term.T[:, None, :] - 2.0 * cross + head.bias[:, None, None]
    t = (1.0 / np.asarray(temperatures_K, np.float32) - head.inv_t_mean) / head.inv_t_std  # [T]
    powers = np.stack([t**d for d in range(head.order + 1)]).astype(np.float32)  # [order + 1, T]
    g = out[1:].reshape(len(head.chi_mean), head.order + 1, *out.shape[1:])  # [C, order + 1, P, S]
    chi = np.einsum("cdps,dt->cpst", g, powers, optimize=True)
    chi = head.chi_mean[:, None, None, None] + head.chi_std[:, None, None, None] * chi
    return chi, sigmoid(out[0])


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

    def head(self) -> HeadParameters:
        meta = self.metadata
        linear, t_scale, chi_scale = (json.loads(meta[k]) for k in ("head_linear", "temperature_scaling", "chi_scaling"))
        return HeadParameters(
            np.asarray(linear["weight"], np.float32), np.asarray(linear["bias"], np.float32),
            t_scale["inv_t_mean"], t_scale["inv_t_std"], np.asarray(chi_scale["mean"], np.float32),
            np.asarray(chi_scale["std"], np.float32), int(meta["temperature_order"]),
        )  # fmt: skip

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

        torch.set_flush_denormal(True)  # trained weights hold denormals: 100x slower CPU math otherwise
        self.torch = torch
        self.net = load_checkpoint(path).net.eval()
        self.metadata = {"latent_dim": str(self.net.latent_dim), "ensemble_members": "1"}

    def head(self) -> HeadParameters:
        h = self.net.head
        array = lambda t: t.detach().numpy().astype(np.float32)  # noqa: E731
        return HeadParameters(
            array(h.linear.weight), array(h.linear.bias), h.inv_t_mean.item(), h.inv_t_std.item(),
            array(h.chi_mean), array(h.chi_std), h.order,
        )  # fmt: skip

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

    def grid(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K):
        """All polymer x solvent x temperature predictions from encodings (see :func:`screen_grid`)."""
        return screen_grid(self.backend.head(), polymer_latent, solvent_latent, temperatures_K)

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
        values = np.full((len(errors), len(PREDICTION_COLUMNS)), np.nan)
        if ok.any():
            out = self.backend.pair(
                polymer_latent[ok], solvent_latent[ok], np.ascontiguousarray(temperatures[ok], np.float32)
            )
            values[ok] = _prediction_columns(out)
        frame = pd.DataFrame(values, columns=list(PREDICTION_COLUMNS))
        frame["error"] = errors
        return frame


def _prediction_columns(out: np.ndarray) -> np.ndarray:
    """Model outputs [P, 1 + C] (logit, chi per task) -> [P, C + 1] (chi per task, P(soluble))."""
    return np.column_stack([out[:, 1:], sigmoid(out[:, 0])])


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x); exp overflows to inf for very negative logits, which gives exactly 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-logit))


def model_metadata(path: str | Path) -> dict[str, str]:
    """The gnnchi metadata of an exported ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}

