"""The pure pair models (export targets), checkpoint loading, and the LightningModule that trains them.

The LightningModule (Lightning) is imported on first use, so export and inference load models
without importing Lightning.
"""

from gnnchi.models.checkpoint import build_net, load_net, model_card, read_checkpoint
from gnnchi.models.chinet import ChiNet, HansenPairNet, PairModel

_LAZY = {"ChiModule": "module", "ElectrolyteModule": "module", "IonicLiquidModule": "module", "PairModule": "module", "MODULES": "module",
         "load_checkpoint": "module"}  # fmt: skip


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"gnnchi.models.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ChiModule",
    "ElectrolyteModule",
    "IonicLiquidModule",
    "MODULES",
    "PairModule",
    "ChiNet",
    "HansenPairNet",
    "PairModel",
    "build_net",
    "load_checkpoint",
    "load_net",
    "model_card",
    "read_checkpoint",
]
