"""Where encodings and pair outputs come from: an exported ONNX model (torch-free) or checkpoints (torch).

Both give the same five things: ``metadata`` (latent_dim, ensemble_members), ``uncertainty`` (the
model's calibration and training domain, or None), ``heads()`` (each member's head as arrays),
``encode(kind, graphs)`` -> [G, n * 2k] and ``pair(...)`` -> [P, n, 1 + C].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gnnchi.errors import ModelFileError
from gnnchi.featurizers import MolGraph, collate_graphs
from gnnchi.inference import onnx_format
from gnnchi.inference.screening import HeadParameters


class OnnxBackend:
    """The encoders and the pair head of an export (see :mod:`gnnchi.inference.onnx_format`)."""

    def __init__(self, path: Path):
        try:
            import onnxruntime as ort
        except ImportError:  # pragma: no cover - onnxruntime is a dependency
            raise ModelFileError("reading an ONNX model needs onnxruntime: pip install onnxruntime") from None
        self.sessions = {}
        for part, file in onnx_format.file_names(path).items():
            if part == "pair_model":
                continue
            if not file.is_file():
                raise ModelFileError(f"{file} is missing: export writes it beside {path}")
            try:
                self.sessions[part] = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
            except Exception as err:
                raise ModelFileError(f"{file} is not a readable ONNX model ({str(err).splitlines()[0]})") from None
            onnx_format.check_part_metadata(self.sessions[part].get_modelmeta().custom_metadata_map, part, file)
        self.metadata = self.sessions["pair_head"].get_modelmeta().custom_metadata_map
        self.uncertainty = onnx_format.uncertainty_from_metadata(self.metadata)

    def heads(self) -> list[HeadParameters]:
        return onnx_format.heads_from_metadata(self.metadata)

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        feeds = dict(zip(onnx_format.GRAPH_INPUTS, collate_graphs(graphs)))
        feeds["graph_ids"] = np.arange(len(graphs), dtype=np.int64)
        return self.sessions[onnx_format.ENCODER_OF[kind]].run(None, feeds)[0]

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        feeds = dict(zip(onnx_format.HEAD_INPUTS, (polymer_latent, solvent_latent, temperature_K)))
        return self.sessions["pair_head"].run(None, feeds)[0]


class TorchBackend:
    """Checkpoints (one, several, or ``ensemble.json`` manifests) as one ensemble."""

    def __init__(self, paths: list[Path]):
        import torch

        from gnnchi.inference.calibration import from_record
        from gnnchi.models.ensemble import load_ensemble, uncertainty_record_of

        self.torch = torch
        self.net = load_ensemble(paths)
        self.uncertainty = from_record(uncertainty_record_of(paths))
        self.metadata = {
            onnx_format.LATENT_DIM: str(self.net.latent_dim),
            onnx_format.MEMBERS: str(self.net.num_members),
        }

    def heads(self) -> list[HeadParameters]:
        return [HeadParameters.from_torch(member.head) for member in self.net.members]

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        arrays = [self.torch.from_numpy(a) for a in collate_graphs(graphs)]
        with self.torch.no_grad():
            return getattr(self.net, f"encode_{kind}s")(*arrays, len(graphs)).numpy()

    def pair(self, polymer_latent: np.ndarray, solvent_latent: np.ndarray, temperature_K: np.ndarray) -> np.ndarray:
        t = self.torch.from_numpy
        with self.torch.no_grad():
            return self.net.pair_head(t(polymer_latent), t(solvent_latent), t(temperature_K)).numpy()
