"""Records, splits and the LightningDataModule.

The DataModule (torch, Lightning) is imported on first use, so the torch-free ONNX predictor
can use the records and splits without importing torch.
"""

from gnnchi.data.records import PairRecords, check_pairs, read_pairs_csv
from gnnchi.data.splits import SPLITS, split_indices

_LAZY = {"ChiDataModule": "datamodule", "IonicLiquidDataModule": "datamodule", "PairBatch": "datamodule",
         "PairDataModule": "datamodule", "PairDataset": "datamodule", "ElectrolyteDataModule": "mixtures",
         "MixtureBatch": "mixtures"}  # fmt: skip


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"gnnchi.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "SPLITS",
    "ChiDataModule",
    "ElectrolyteDataModule",
    "IonicLiquidDataModule",
    "MixtureBatch",
    "PairBatch",
    "PairDataModule",
    "PairDataset",
    "PairRecords",
    "check_pairs",
    "read_pairs_csv",
    "split_indices",
]
