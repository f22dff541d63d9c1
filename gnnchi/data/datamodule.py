"""Pair datasets, batching and the LightningDataModule over the three tasks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, NamedTuple

import lightning as L
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.records import PairRecords, check_pairs, normalize_columns, read_pairs_csv, resolve_duplicates
from gnnchi.data.splits import SplitName, split_indices
from gnnchi.errors import DataValidationError
from gnnchi.featurizers import collate_graphs
from gnnchi.systems.chi import CHI, CHI_TASKS, DEFAULT_TEMPERATURE_RANGE_K, TASKS

log = logging.getLogger(__name__)


def scaler_statistics(table, tasks: tuple[str, ...] = TASKS) -> dict[str, list[float] | float]:
    """Mean/std of 1/T (rows with chi) and of each chi task among ``tasks``; safe defaults where
    a task has fewer than two values or no spread."""
    chi_tasks = [t for t in CHI_TASKS if t in tasks]
    has_chi = table[chi_tasks].notna().any(axis=1)
    inv_t = 1.0 / table.loc[has_chi, "temperature_K"].to_numpy()
    chi_mean, chi_std = [], []
    for task in CHI_TASKS:
        values = table[task].dropna().to_numpy() if task in tasks else np.array([])
        chi_mean.append(float(values.mean()) if len(values) else 0.0)
        chi_std.append(float(values.std()) if len(values) > 1 and values.std() > 0 else 1.0)
    return {
        "inv_t_mean": float(inv_t.mean()) if len(inv_t) else 1.0 / 298.15,
        "inv_t_std": float(inv_t.std()) if len(inv_t) > 1 and inv_t.std() > 0 else 1e-3,
        "chi_mean": chi_mean,
        "chi_std": chi_std,
    }


class PairBatch(NamedTuple):
    """A batch of P pairs: the polymer and solvent graphs (PyG layout), temperatures and targets.

    targets [P, 3] in the order of ``TASKS`` (soluble, chi_exp, chi_cosmo), NaN where missing.
    """

    polymer_x: Tensor
    polymer_edge_index: Tensor
    polymer_edge_attr: Tensor
    polymer_batch: Tensor
    solvent_x: Tensor
    solvent_edge_index: Tensor
    solvent_edge_attr: Tensor
    solvent_batch: Tensor
    temperature_K: Tensor
    targets: Tensor
    rows: Tensor  # [P] index of each pair in the records table (to trace what each rank saw)

    def inputs(self) -> tuple[Tensor, ...]:
        """Positional inputs of :class:`gnnchi.models.ChiNet`."""
        return tuple(self)[:9]


class PairDataset(Dataset):
    """Rows of :class:`PairRecords` (by index); the collate function builds :class:`PairBatch`.

    ``tasks``: the tasks whose targets are kept (others become NaN, i.e. masked); default all.
    """

    def __init__(self, records: PairRecords, rows: np.ndarray, tasks: tuple[str, ...] = TASKS):
        self.records, self.rows = records, np.asarray(rows)
        table = records.table.iloc[self.rows]
        self.polymer_idx = table["polymer_idx"].to_numpy()
        self.solvent_idx = table["solvent_idx"].to_numpy()
        self.temperature = table["temperature_K"].to_numpy(np.float32)
        self.targets = records.targets()[self.rows].copy()
        self.targets[:, [j for j, task in enumerate(TASKS) if task not in tasks]] = np.nan

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, items: list[int]) -> PairBatch:
        polymers = collate_graphs([self.records.graphs["polymer"][self.polymer_idx[i]] for i in items])
        solvents = collate_graphs([self.records.graphs["solvent"][self.solvent_idx[i]] for i in items])
        arrays = (*polymers, *solvents, self.temperature[items], self.targets[items], self.rows[items])
        return PairBatch(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))


class ChiDataModule(L.LightningDataModule):
    """The three tasks (soluble, chi_exp, chi_cosmo) from the bundled data or a user's CSV.

    Args:
        data: path of a pair table CSV; ``None`` uses the bundled data.
        split: ``paper`` (the paper's test folds, pair-grouped), ``pair``, ``polymer``
            (leave-polymer-out) or ``solvent`` (leave-solvent-out).
        test_fold: which fold is the test set; ``null``: none (train on all rows but validation,
            as the release model does).
        num_folds: folds of the split.
        val_fraction: share of the training rows, grouped like the split, used for validation.
        seed: seed of the fold and validation draws.
        val_seed: seed of the validation draw alone (default ``seed + 1``); the folds stay those of ``seed``.
        batch_size: pairs per batch.
        num_workers: DataLoader worker processes.
        skip_bad_rows: train without the rows that fail the checks (written to
            ``skipped_rows_file``) instead of stopping with the list of every bad row.
        skipped_rows_file: where skipped rows go.
        temperature_range_K: plausible temperatures; rows outside are bad rows.
        max_heavy_atoms: largest molecule (heavy atoms of a solvent or of a repeat unit).
        duplicates: rows repeating a target of the same task for the same pair and temperature:
            ``keep`` them all, ``average`` them into one (majority label for ``soluble``), or
            ``fail``; they are always reported (count and conflicts in the log and MLflow).
        tasks: train and evaluate on these tasks only (default all three); the split is made on
            all rows first, so the folds are the same as with every task.
    """

    def __init__(
        self,
        data: str | None = None,
        split: SplitName = "paper",
        test_fold: int | None = 0,
        num_folds: int = 5,
        val_fraction: float = 0.1,
        seed: int = 0,
        val_seed: int | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        skip_bad_rows: bool = False,
        skipped_rows_file: str = "skipped_rows.csv",
        temperature_range_K: tuple[float, float] = DEFAULT_TEMPERATURE_RANGE_K,
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
        duplicates: Literal["keep", "average", "fail"] = "keep",
        tasks: list[str] | None = None,
    ):
        super().__init__()
        unknown = set(tasks or []) - set(TASKS)
        if unknown or tasks == []:
            raise ValueError(f"data.tasks must name some of {list(TASKS)}; got {tasks}")
        self.save_hyperparameters()
        self.records: PairRecords | None = None
        self.indices: dict[str, np.ndarray] = {}
        self.num_skipped_rows = 0
        self.num_duplicate_rows = self.num_conflicting_groups = 0

    def prepare_records(self) -> PairRecords:
        """Load and check the data once (all bad rows reported together)."""
        if self.records is not None:
            return self.records
        hp = self.hparams
        if hp.data is None:
            frame, source = normalize_columns(CHI.bundled_data(), "bundled data", lines_given=True), "bundled data"
        else:
            frame, source = read_pairs_csv(hp.data), hp.data
        if "fold" not in frame.columns:
            frame["fold"] = np.nan
        records, problems = check_pairs(
            frame, source, temperature_range_K=tuple(hp.temperature_range_K), max_heavy_atoms=hp.max_heavy_atoms
        )
        if problems:
            if not hp.skip_bad_rows:
                raise DataValidationError(source, problems, "fix these rows, or set data.skip_bad_rows=true to skip them")
            self._write_skipped(problems)
        for smiles, warning in list(records.vocabulary_warnings.items())[:20]:
            log.warning("%s: %s is %s", source, smiles, warning)
        table, repeated, conflicts = resolve_duplicates(records.table, hp.duplicates)
        if repeated:
            if hp.duplicates == "fail":
                raise DataValidationError(source, repeated, "set data.duplicates to keep or average to train on them")
            log.warning(
                "%s: %d row(s) repeat a target of the same pair and temperature (%d group(s) conflict); "
                "data.duplicates=%s. First of them: %s", source, len(repeated), conflicts, hp.duplicates, repeated[0],
            )  # fmt: skip
        self.num_duplicate_rows, self.num_conflicting_groups = len(repeated), conflicts
        records.table = table
        if len(records.table) == 0:
            raise DataValidationError(source, [], "no usable row")
        self.records = records
        return records

    def _write_skipped(self, problems) -> None:
        import pandas as pd

        path = Path(self.hparams.skipped_rows_file)
        self.num_skipped_rows = len({(p.source, p.row) for p in problems})
        trainer = getattr(self, "trainer", None)
        if trainer is not None and not trainer.is_global_zero:  # under DDP every rank checks; one writes
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame([p.__dict__ for p in problems]).to_csv(path, index=False)
        log.warning("skipped %d bad rows; they are listed in %s", self.num_skipped_rows, path)

    def setup(self, stage: str | None = None) -> None:
        records = self.prepare_records()
        if not self.indices:
            hp = self.hparams
            indices = split_indices(
                records.table, hp.split, hp.test_fold, hp.num_folds, hp.val_fraction, hp.seed, hp.val_seed
            )
            has_task = records.table[list(self.tasks)].notna().any(axis=1).to_numpy()
            self.indices = {part: rows[has_task[rows]] for part, rows in indices.items()}

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t for t in TASKS if t in (self.hparams.tasks or TASKS))

    def summary(self) -> dict[str, float]:
        """Row counts per part and task (``data/rows_train_chi_exp``, ...) and the skipped rows."""
        counts = {
            "data/skipped_rows": float(self.num_skipped_rows),
            "data/duplicate_rows": float(self.num_duplicate_rows),
            "data/conflicting_groups": float(self.num_conflicting_groups),
        }
        for part, rows in self.indices.items():
            present = self.records.table.iloc[rows][list(self.tasks)].notna().sum()
            counts.update({f"data/rows_{part}_{task}": float(present[task]) for task in self.tasks})
        return counts

    def dataset(self, part: str) -> PairDataset:
        return PairDataset(self.records, self.indices[part], self.tasks)

    def train_statistics(self) -> dict[str, list[float] | float]:
        """Scalers fitted on the training rows: mean/std of 1/T and of each chi task."""
        return scaler_statistics(self.records.table.iloc[self.indices["train"]], self.tasks)

    def _loader(self, part: str, shuffle: bool) -> DataLoader:
        dataset = self.dataset(part)
        sampler = None
        if not shuffle and torch.distributed.is_available() and torch.distributed.is_initialized():
            # evaluation under DDP: each rank takes its share once, no padding, so metrics on the
            # gathered predictions equal a single-process run (training keeps Lightning's sampler)
            sampler = UnrepeatedDistributedSampler(dataset, shuffle=False)
        return DataLoader(
            dataset,
            batch_size=self.hparams.batch_size,
            shuffle=shuffle,
            sampler=sampler,
            collate_fn=dataset.collate,
            num_workers=self.hparams.num_workers,
            persistent_workers=self.hparams.num_workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
