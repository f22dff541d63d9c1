"""The shipped models, one per system: ensembles trained on all the bundled data, exported to ONNX with
their cards (``card.json``). chi's (``configs/release.yaml``) lies in this folder, co2_il's
(``configs/co2_il_release.yaml``) in ``co2_il/``, electrolyte's in ``electrolyte/``. ``predict``,
``screen``, ``Predictor()``, ``IonicLiquidPredictor()`` and ``ElectrolytePredictor()`` use them when no
model is given. Regenerate one with
``python -m gnnchi.release --system <system>`` (see the README)."""

from __future__ import annotations

from pathlib import Path

from gnnchi.systems import DEFAULT_SYSTEM, get_system

HERE = Path(__file__).parent
MODEL = HERE / "gnnchi.onnx"  # chi's pair model; its parts (gnnchi.inference.onnx_format) and card.json beside it


def model_file(system: str = DEFAULT_SYSTEM) -> Path:
    """Where ``system``'s shipped pair model lies, present or not: chi's is :data:`MODEL`, another
    system's ``<system>/<system>.onnx`` here; its parts and ``card.json`` lie beside it."""
    get_system(system)  # an unknown name is an error, not a missing file
    return MODEL if system == DEFAULT_SYSTEM else HERE / system / f"{system}.onnx"


def card_file(system: str = DEFAULT_SYSTEM) -> Path:
    """``system``'s shipped model card."""
    return model_file(system).parent / "card.json"


def regenerate_command(system: str = DEFAULT_SYSTEM) -> str:
    """The command that makes ``system``'s shipped model."""
    return "python -m gnnchi.release" + ("" if system == DEFAULT_SYSTEM else f" --system {system}")


def shipped_model(system: str = DEFAULT_SYSTEM) -> Path:
    """``system``'s shipped ONNX model's path; a clear error if this installation has none."""
    from gnnchi.errors import ModelFileError

    model = model_file(system)
    if not model.is_file():
        raise ModelFileError(f"no shipped model for {system} in {model.parent}: give --model, or regenerate it with "
                             f"{regenerate_command(system)}")  # fmt: skip
    return model
