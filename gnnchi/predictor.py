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

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS, make_mol
from gnnchi.data.records import CHI_TASKS, DEFAULT_TEMPERATURE_RANGE_K
from gnnchi.errors import GnnChiError, ModelFileError
from gnnchi.featurizers import FEATURIZER_VERSION, MolGraph, collate_graphs, featurize
from gnnchi.featurizers.atom import vocabulary_warning

PARTS = ("pair_model", "polymer_encoder", "solvent_encoder", "pair_head")
PREDICTION_COLUMNS = tuple(c for name in (*CHI_TASKS, "p_soluble") for c in (name, f"{name}_std"))
MOLECULES_PER_CALL = 4096
EXPORT_FORMAT = "2"  # 2: outputs [P, members, 1 + C] and per-member head metadata


def export_file_names(output: str | Path) -> dict[str, Path]:
    """``gnnchi.onnx`` and its parts ``gnnchi.polymer_encoder.onnx``, ... beside it."""
    output = Path(output)
    stem = output.name[: -len(".onnx")] if output.name.endswith(".onnx") else output.name
    return {part: output if part == "pair_model" else output.with_name(f"{stem}.{part}.onnx") for part in PARTS}


class HeadParameters(NamedTuple):
    """One member's pair head as arrays: linear weight [O, k] and bias [O] (O = 1 + C (order + 1)), scalers."""

    weight: np.ndarray
    bias: np.ndarray
    inv_t_mean: float
    inv_t_std: float
    chi_mean: np.ndarray
    chi_std: np.ndarray
    order: int


class Grid(NamedTuple):
    """Screening results: ensemble means and standard deviations (NaN for a single model)."""

    chi: np.ndarray  # [C, P, S, T]
    p_soluble: np.ndarray  # [P, S]
    chi_std: np.ndarray  # [C, P, S, T]
    p_soluble_std: np.ndarray  # [P, S]


def screen_member(head: HeadParameters, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K):
    """Every polymer x solvent x temperature at once from one member's cached encodings.

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


def screen_grid(heads: list[HeadParameters], polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K) -> Grid:
    """:func:`screen_member` for each member (column block m of the [., n * 2k] encodings), then
    the mean and the standard deviation (ddof 1) over members."""
    width = polymer_latent.shape[1] // len(heads)
    chi_sum = chi_sq = p_sum = p_sq = 0.0
    for m, head in enumerate(heads):
        block = slice(m * width, (m + 1) * width)
        chi, p = screen_member(head, polymer_latent[:, block], solvent_latent[:, block], temperatures_K)
        chi, p = chi.astype(np.float64), p.astype(np.float64)  # sums of squares cancel badly in float32
        chi_sum, chi_sq, p_sum, p_sq = chi_sum + chi, chi_sq + chi * chi, p_sum + p, p_sq + p * p
    n = len(heads)
    chi_mean, p_mean = chi_sum / n, p_sum / n
    return Grid(
        chi_mean.astype(np.float32), p_mean.astype(np.float32), _std(chi_sq, chi_mean, n), _std(p_sq, p_mean, n)
    )


def _std(sum_sq: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """Sample standard deviation (float32) from float64 sums of squares and means of n values; NaN for n = 1."""
    if n == 1:
        return np.full(mean.shape, np.nan, np.float32)
    return np.sqrt(np.maximum(sum_sq - n * mean * mean, 0.0) / (n - 1)).astype(np.float32)


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
            if meta.get("export_format") != EXPORT_FORMAT:
                raise ModelFileError(
                    f"{file} was exported by another gnnchi version (export format {meta.get('export_format')}, "
                    f"this gnnchi reads {EXPORT_FORMAT}): export the model again"
                )
            if meta.get("featurizer_version") != str(FEATURIZER_VERSION):
                raise ModelFileError(
                    f"{file} was exported with featurizer version {meta.get('featurizer_version')}; "
                    f"this gnnchi uses {FEATURIZER_VERSION}: export the model again"
                )
        self.metadata = self.sessions["pair_head"].get_modelmeta().custom_metadata_map

    def heads(self) -> list[HeadParameters]:
        meta = self.metadata
        keys = ("head_linear", "temperature_scaling", "chi_scaling", "temperature_order")
        members = zip(*(json.loads(meta[k]) for k in keys))
        return [
            HeadParameters(
                np.asarray(linear["weight"], np.float32), np.asarray(linear["bias"], np.float32),
                t_scale["inv_t_mean"], t_scale["inv_t_std"], np.asarray(chi_scale["mean"], np.float32),
                np.asarray(chi_scale["std"], np.float32), int(order),
            )  # fmt: skip
            for linear, t_scale, chi_scale, order in members
        ]

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        batch = collate_graphs(graphs)
        feeds = dict(zip(("x", "edge_index", "edge_attr", "batch"), batch))
        feeds["graph_ids"] = np.arange(len(graphs), dtype=np.int64)
        return self.sessions[f"{kind}_encoder"].run(None, feeds)[0]

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        feeds = {"polymer_latent": polymer_latent, "solvent_latent": solvent_latent, "temperature_K": temperature_K}
        return self.sessions["pair_head"].run(None, feeds)[0]


class _TorchBackend:
    def __init__(self, paths: list[Path]):
        import torch

        from gnnchi.models.ensemble import load_ensemble

        torch.set_flush_denormal(True)  # trained weights hold denormals: 100x slower CPU math otherwise
        self.torch = torch
        self.net = load_ensemble(paths)
        self.metadata = {"latent_dim": str(self.net.latent_dim), "ensemble_members": str(self.net.num_members)}

    def heads(self) -> list[HeadParameters]:
        array = lambda t: t.detach().numpy().astype(np.float32)  # noqa: E731
        return [
            HeadParameters(
                array(h.linear.weight), array(h.linear.bias), h.inv_t_mean.item(), h.inv_t_std.item(),
                array(h.chi_mean), array(h.chi_std), h.order,
            )  # fmt: skip
            for h in (member.head for member in self.net.members)
        ]

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        arrays = [self.torch.from_numpy(a) for a in collate_graphs(graphs)]
        with self.torch.no_grad():
            return getattr(self.net, f"encode_{kind}s")(*arrays, len(graphs)).numpy()

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        t = self.torch.from_numpy
        with self.torch.no_grad():
            return self.net.pair_head(t(polymer_latent), t(solvent_latent), t(temperature_K)).numpy()


class Predictor:
    """chi_exp, chi_cosmo and P(soluble) of polymer-solvent pairs at given temperatures, each with
    the standard deviation over the ensemble's members (NaN for a single model).

    >>> predictor = Predictor.from_file("export/gnnchi.onnx")   # or .ckpt files, or an ensemble.json
    >>> predictor.predict(["*CC(*)c1ccccc1"], ["Cc1ccccc1"], [298.15])
    """

    def __init__(
        self,
        backend,
        temperature_range_K: tuple[float, float] = DEFAULT_TEMPERATURE_RANGE_K,
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
    ):
        self.backend = backend
        self.temperature_range_K = tuple(temperature_range_K)
        self.max_heavy_atoms = max_heavy_atoms
        self.vocabulary_warnings: dict[tuple[str, str], str] = {}  # (kind, SMILES) -> what is unknown

    @classmethod
    def from_file(cls, path, **kwargs) -> Predictor:
        """An exported ONNX model (``.onnx``, torch-free), or checkpoints (``.ckpt``, needs torch):
        one path, an ``ensemble.json`` manifest, or a list of them (an ensemble)."""
        paths = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
        if not paths:
            raise ModelFileError("no model file given")
        for p in paths:
            if not p.is_file():
                raise ModelFileError(f"model file {str(p)!r} does not exist")
        if any(p.suffix == ".onnx" for p in paths):
            if len(paths) > 1:
                raise ModelFileError("give one exported .onnx model (export an ensemble as one model)")
            return cls(_OnnxBackend(paths[0]), **kwargs)
        return cls(_TorchBackend(paths), **kwargs)

    @property
    def latent_dim(self) -> int:
        """k of each member."""
        return int(self.backend.metadata["latent_dim"])

    @property
    def num_members(self) -> int:
        return int(self.backend.metadata["ensemble_members"])

    def encode(self, smiles: list[str], kind: str) -> tuple[np.ndarray, list[str]]:
        """[len(smiles), n * 2k] encodings (NaN rows where a SMILES fails) and one error text per SMILES ("" if fine)."""
        unique = list(dict.fromkeys(smiles))
        graphs, errors = {}, {}
        for s in unique:
            try:
                mol = make_mol(s, kind, max_heavy_atoms=self.max_heavy_atoms)
                graphs[s] = featurize(mol)
                warning = vocabulary_warning(mol)
                if warning:
                    self.vocabulary_warnings[(kind, s)] = warning
            except GnnChiError as err:
                errors[s] = f"{kind}: {getattr(err, 'reason', err)}"
        good = [s for s in unique if s in graphs]
        latent = {}
        for start in range(0, len(good), MOLECULES_PER_CALL):
            chunk = good[start : start + MOLECULES_PER_CALL]
            for s, row in zip(chunk, self.backend.encode(kind, [graphs[s] for s in chunk])):
                latent[s] = row
        out = np.full((len(smiles), 2 * self.latent_dim * self.num_members), np.nan, np.float32)
        for i, s in enumerate(smiles):
            if s in latent:
                out[i] = latent[s]
        return out, [errors.get(s, "") for s in smiles]

    def grid(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperatures_K) -> Grid:
        """All polymer x solvent x temperature predictions from encodings (see :func:`screen_grid`)."""
        return screen_grid(self.backend.heads(), polymer_latent, solvent_latent, temperatures_K)

    def predict(self, polymers: list[str], solvents: list[str], temperatures_K) -> pd.DataFrame:
        """One row per input pair, in order: chi_exp, chi_exp_std, chi_cosmo, chi_cosmo_std,
        p_soluble, p_soluble_std, ``error`` ("" when fine; then no prediction) and ``warning``
        ("" when fine; a prediction made with atoms outside the featurizer's vocabulary)."""
        temperatures = np.asarray(temperatures_K, dtype=np.float64)
        polymer_latent, polymer_errors = self.encode(list(polymers), "polymer")
        solvent_latent, solvent_errors = self.encode(list(solvents), "solvent")
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
        frame = pd.DataFrame(values, columns=list(PREDICTION_COLUMNS))
        frame["error"] = errors
        frame["warning"] = [
            self.vocabulary_note({"polymer": p, "solvent": q}) if ok_row else "" for p, q, ok_row in zip(polymers, solvents, ok)
        ]
        return frame

    def temperature_problem(self, temperature_K: float) -> str:
        """"" or why a temperature (kelvin) cannot be predicted: missing, or outside ``temperature_range_K``."""
        low, high = self.temperature_range_K
        if np.isnan(temperature_K):
            return "missing temperature"
        return "" if low <= temperature_K <= high else f"temperature {temperature_K:g} K outside {low:g}-{high:g} K"

    def vocabulary_note(self, molecules: dict[str, str]) -> str:
        """"" or what is outside the featurizer's vocabulary in these encoded molecules ({kind: SMILES})."""
        notes = ((kind, self.vocabulary_warnings.get((kind, smiles))) for kind, smiles in molecules.items())
        return "; ".join(f"{kind}: {note}" for kind, note in notes if note)


def _prediction_columns(out: np.ndarray) -> np.ndarray:
    """Member outputs [P, n, 1 + C] (logit, chi per task) -> [P, 2 (C + 1)]: the mean and the
    standard deviation over members of each chi task and of P(soluble), in ``PREDICTION_COLUMNS`` order."""
    values = np.concatenate([out[:, :, 1:], sigmoid(out[:, :, :1])], axis=2)  # [P, n, C + 1]
    mean = values.mean(axis=1)
    std = values.std(axis=1, ddof=1) if values.shape[1] > 1 else np.full_like(mean, np.nan)
    return np.stack([mean, std], axis=2).reshape(len(out), -1)


def sigmoid(logit: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x); exp overflows to inf for very negative logits, which gives exactly 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-logit))


def model_metadata(path: str | Path) -> dict[str, str]:
    """The gnnchi metadata of an exported ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}

