"""Records, splits and the LightningDataModule."""

from gnnchi.data.datamodule import ChiDataModule, PairBatch, PairDataset
from gnnchi.data.records import CHI_TASKS, CLASS_TASK, TASKS, PairRecords, check_pairs, read_pairs_csv
from gnnchi.data.splits import SPLITS, split_indices

__all__ = [
    "CHI_TASKS",
    "CLASS_TASK",
    "SPLITS",
    "TASKS",
    "ChiDataModule",
    "PairBatch",
    "PairDataset",
    "PairRecords",
    "check_pairs",
    "read_pairs_csv",
    "split_indices",
]
