"""Where encodings and pair outputs come from: an exported ONNX model (torch-free) or checkpoints (torch).

Both give the same things: ``system`` (what the model predicts), ``metadata`` (ensemble_members, and
latent_dim for chi), ``encoding_width`` (n members x one member's encoding), ``uncertainty`` (the model's
calibration and training domain, or None), ``heads()`` (each member's pair head as arrays: chi
:class:`~gnnchi.inference.screening.HeadParameters`, co2_il :class:`~gnnchi.inference.isotherm.IsothermParameters`),
``encode(kind, graphs)`` -> [G, encoding_width] and ``pair(*encodings, *conditions)`` -> [P, n, outputs].
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
        def session(part: str, file: Path):
            if not file.is_file():
                raise ModelFileError(f"{file} is missing: export writes it beside {path}")
            try:
                loaded = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
            except Exception as err:
                raise ModelFileError(f"{file} is not a readable ONNX model ({str(err).splitlines()[0]})") from None
            onnx_format.check_part_metadata(loaded.get_modelmeta().custom_metadata_map, part, file)
            return loaded

        # the pair head's file name is the same for every system, and its metadata names the system
        head = session("pair_head", onnx_format.file_names(path)["pair_head"])
        self.system = onnx_format.system_of(head.get_modelmeta().custom_metadata_map)
        self.sessions = {
            part: session(part, file)
            for part, file in onnx_format.file_names(path, self.system).items()
            if part not in ("pair_model", "pair_head")
        }
        self.sessions["pair_head"] = head
        self.metadata = self.sessions["pair_head"].get_modelmeta().custom_metadata_map
        self.encoding_width = onnx_format.encoding_width(self.metadata)
        self.uncertainty = onnx_format.uncertainty_from_metadata(self.metadata)
        self.encoder_of = {m.kind: m.encoder for m in self.system.molecules}

    def heads(self) -> list:
        if self.system.name == "co2_il":
            return onnx_format.isotherm_heads_from_metadata(self.metadata)
        return onnx_format.heads_from_metadata(self.metadata)

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        feeds = dict(zip(onnx_format.GRAPH_INPUTS, collate_graphs(graphs)))
        feeds["graph_ids"] = np.arange(len(graphs), dtype=np.int64)
        return self.sessions[self.encoder_of[kind]].run(None, feeds)[0]

    def pair(self, *arrays: np.ndarray) -> np.ndarray:
        """Each molecule's encodings [P, encoding_width], then each condition [P] float32 -> [P, n, outputs]."""
        feeds = dict(zip(onnx_format.head_inputs(self.system), arrays))
        return self.sessions["pair_head"].run(None, feeds)[0]


class TorchBackend:
    """Checkpoints (one, several, or ``ensemble.json`` manifests) as one ensemble."""

    def __init__(self, paths: list[Path]):
        import torch

        from gnnchi.inference.calibration import from_record
        from gnnchi.inference.isotherm import IsothermParameters
        from gnnchi.models.ensemble import load_ensemble, uncertainty_record_of
        from gnnchi.systems import get_system

        self.torch = torch
        self.net = load_ensemble(paths)
        self.system = get_system(self.net.system_name)
        self.uncertainty = from_record(uncertainty_record_of(paths))
        self.metadata = {onnx_format.MEMBERS: str(self.net.num_members), onnx_format.SYSTEM: self.system.name}
        if self.system.name == "co2_il":
            self._head = IsothermParameters.from_torch
            self.encoding_width = self.net.encoding_dim * self.net.num_members
        else:
            self._head = HeadParameters.from_torch
            self.metadata[onnx_format.LATENT_DIM] = str(self.net.latent_dim)
            self.encoding_width = 2 * self.net.latent_dim * self.net.num_members

    def heads(self) -> list:
        return [self._head(member.head) for member in self.net.members]

    def encode(self, kind: str, graphs: list[MolGraph]) -> np.ndarray:
        arrays = [self.torch.from_numpy(a) for a in collate_graphs(graphs)]
        with self.torch.no_grad():
            return getattr(self.net, f"encode_{kind}s")(*arrays, len(graphs)).numpy()

    def pair(self, *arrays: np.ndarray) -> np.ndarray:
        """Each molecule's encodings [P, encoding_width], then each condition [P] float32 -> [P, n, outputs]."""
        with self.torch.no_grad():
            return self.net.pair_head(*(self.torch.from_numpy(a) for a in arrays)).numpy()
