"""The shipped model: an ensemble trained on all the bundled data by ``configs/release.yaml``, exported
to ONNX in this folder with its card (``card.json``). ``predict``, ``screen`` and ``Predictor()`` use it
when no model is given. Regenerate it with ``python -m gnnchi.release`` (see the README)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
MODEL = HERE / "gnnchi.onnx"  # the pair model; its parts lie beside it (see gnnchi.inference.onnx_format)
CARD = HERE / "card.json"


def shipped_model() -> Path:
    """The shipped ONNX model's path; a clear error if this installation has none."""
    from gnnchi.errors import ModelFileError

    if not MODEL.is_file():
        raise ModelFileError(f"no shipped model in {HERE}: give --model, or regenerate it with python -m gnnchi.release")
    return MODEL
