"""Pair datasets, batching and the LightningDataModules of each system (chi: three tasks; co2_il: x_CO2)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal, NamedTuple

import lightning as L
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.records import PairRecords, check_pairs, normalize_columns, read_pairs_csv, resolve_duplicates
from gnnchi.data.splits import SplitName, group_keys, split_indices
from gnnchi.errors import DataValidationError, RowProblem
from gnnchi.featurizers import collate_graphs
from gnnchi.systems import CHI, CO2_IL, System
from gnnchi.systems.chi import CHI_TASKS, DEFAULT_TEMPERATURE_RANGE_K, TASKS


log = logging.getLogger(__name__)


BAGGING_STREAM = 7919  # seeds each member's draw of training groups apart from the fold and validation draws

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


def inverse_temperature_statistics(table) -> dict[str, float]:
    """Mean/std of 1/T over the rows of ``table`` (the isotherm head's scaler); safe defaults for fewer than two rows."""
    inv_t = 1.0 / table["temperature_K"].to_numpy(float)
    return {
        "inv_t_mean": float(inv_t.mean()) if len(inv_t) else 1.0 / 298.15,
        "inv_t_std": float(inv_t.std()) if len(inv_t) > 1 and inv_t.std() > 0 else 1e-3,
    }


def balanced_row_weights(targets: np.ndarray, groups: np.ndarray, rows: np.ndarray, exponent: float) -> np.ndarray:
    """[R, T] loss weights of every record: a row of ``rows`` (the training rows) with a target of task j
    weighs n^-exponent, n the number of such rows in its group, normalised to mean 1 over them; every
    other entry 1. targets [R, T] (NaN: missing), groups [R] (one key per record), rows [N] (positions)."""
    weights = np.ones(targets.shape, dtype=np.float32)
    for j in range(targets.shape[1]):
        present = rows[~np.isnan(targets[rows, j])]
        if len(present):
            _, inverse, counts = np.unique(groups[present], return_inverse=True, return_counts=True)
            weight = counts[inverse].astype(np.float64) ** -exponent
            weights[present, j] = weight / weight.mean()
    return weights


def as_tensor(array: np.ndarray) -> Tensor:
    """A tensor sharing the (made contiguous) array's memory."""
    return torch.from_numpy(np.ascontiguousarray(array))


def collate_distinct(graphs, index: np.ndarray) -> tuple[tuple[Tensor, ...], Tensor]:
    """The distinct molecules among ``index`` [P] (positions in ``graphs``) as one batch graph (x,
    edge_index, edge_attr, batch), and [P] each pair's molecule among them: a molecule that recurs is encoded once."""
    distinct, inverse = np.unique(index, return_inverse=True)
    graph = collate_graphs([graphs[g] for g in distinct])
    return tuple(as_tensor(a) for a in graph), as_tensor(inverse.reshape(-1).astype(np.int64))


class PairBatch(NamedTuple):
    """A batch of P pairs: the distinct molecules of each molecule column (PyG layout), which of them
    each pair has, the conditions and the targets. A molecule that recurs in the batch is encoded once.

    graphs: x, edge_index, edge_attr, batch of each molecule column's distinct molecules, in the
    system's order (4 per molecule column); pair_molecules: per molecule column, [P] the index of each
    pair's molecule among them; conditions: one [P] tensor per condition (chi: temperature_K; co2_il:
    temperature_K, pressure_kPa); targets [P, T] in the system's task order, NaN where missing.
    """

    graphs: tuple[Tensor, ...]
    pair_molecules: tuple[Tensor, ...]
    conditions: tuple[Tensor, ...]
    targets: Tensor
    rows: Tensor  # [P] index of each pair in the records table (to trace what each rank saw)

    def molecules(self) -> list[tuple[tuple[Tensor, ...], Tensor]]:
        """Per molecule column: (its 4 graph tensors, [P] each pair's molecule among them)."""
        return [(self.graphs[4 * i : 4 * i + 4], index) for i, index in enumerate(self.pair_molecules)]


class PairDataset(Dataset):
    """Rows of :class:`PairRecords` (by index); the collate function builds :class:`PairBatch`.

    ``tasks``: the tasks whose targets are kept (others become NaN, i.e. masked); default all.
    """

    def __init__(self, records: PairRecords, rows: np.ndarray, tasks: tuple[str, ...] | None = None):
        self.records, self.rows = records, np.asarray(rows)
        system = records.system
        table = records.table.iloc[self.rows]
        self.indices = {c: table[f"{c}_idx"].to_numpy() for c in system.molecule_columns}
        self.conditions = records.conditions()[self.rows]
        self.targets = records.targets()[self.rows].copy()
        kept = system.task_names if tasks is None else tasks
        self.targets[:, [j for j, task in enumerate(system.task_names) if task not in kept]] = np.nan

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, items: list[int]) -> PairBatch:
        graphs, pair_molecules = [], []
        for column, idx in self.indices.items():
            graph, index = collate_distinct(self.records.graphs[column], idx[items])
            graphs += graph
            pair_molecules.append(index)
        conditions = self.conditions[items]
        return PairBatch(
            tuple(graphs), tuple(pair_molecules), tuple(as_tensor(conditions[:, j]) for j in range(conditions.shape[1])),
            as_tensor(self.targets[items]), as_tensor(self.rows[items]),
        )  # fmt: skip


class PairDataModule(L.LightningDataModule):
    """What every system's data module shares: read and check the data (bundled or a CSV), resolve
    duplicates, split into grouped folds, and serve batches. Subclasses declare ``system``, take their
    settings as init arguments (saved as ``hparams``) and give :meth:`train_statistics`."""

    system: System = CHI

    def __init__(self):
        super().__init__()
        self.records: PairRecords | None = None
        self.indices: dict[str, np.ndarray] = {}
        self.num_skipped_rows = 0
        self.num_duplicate_rows = self.num_conflicting_groups = 0

    def _check_tasks(self, tasks: list[str] | None) -> None:
        names = self.system.task_names
        unknown = set(tasks or []) - set(names)
        if unknown or tasks == []:
            raise ValueError(f"data.tasks must name some of {list(names)}; got {tasks}")

    @staticmethod
    def _check_bagging(fraction: float) -> None:
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"bagging_fraction must be in (0, 1], got {fraction}")

    def condition_ranges(self) -> dict[str, tuple[float, float]]:
        """Plausible range of each condition (rows outside are bad rows); default: the declared ones."""
        return {}

    def prepare_records(self) -> PairRecords:
        """Load and check the data once (all bad rows reported together), then apply the duplicates policy."""
        if self.records is not None:
            return self.records
        hp = self.hparams
        records, source = self.checked_records()
        table, repeated, conflicts = self.resolve_repeats(records.table)
        if repeated:
            if hp.duplicates == "fail":
                raise DataValidationError(source, repeated, "set data.duplicates to keep or average to train on them")
            log.warning("%s: %d row(s) repeat a measurement (%d group(s) conflict); data.duplicates=%s. First of them: %s",
                        source, len(repeated), conflicts, hp.duplicates, repeated[0])  # fmt: skip
        self.num_duplicate_rows, self.num_conflicting_groups = len(repeated), conflicts
        records.table = table
        if len(records.table) == 0:
            raise DataValidationError(source, [], "no usable row")
        self.records = records
        return records

    def checked_records(self) -> tuple[PairRecords, str]:
        """The data (bundled or ``data``) through the system's checks, and its source's name; bad rows stop
        the fit with every one listed, or are skipped (``skip_bad_rows``) into ``skipped_rows_file``."""
        hp, system = self.hparams, self.system
        if hp.data is None:
            frame, source = normalize_columns(system.bundled_data(), "bundled data", lines_given=True, system=system), "bundled data"
        else:
            frame, source = read_pairs_csv(hp.data, system), hp.data
        if "fold" not in frame.columns:
            frame["fold"] = np.nan
        records, problems = check_pairs(
            frame, source, max_heavy_atoms=hp.max_heavy_atoms, system=system, condition_ranges=self.condition_ranges()
        )
        if problems:
            if not hp.skip_bad_rows:
                raise DataValidationError(source, problems, "fix these rows, or set data.skip_bad_rows=true to skip them")
            self._write_skipped(problems)
        for smiles, warning in list(records.vocabulary_warnings.items())[:20]:
            log.warning("%s: %s is %s", source, smiles, warning)
        return records, source

    def resolve_repeats(self, table: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem], int]:
        """The duplicates policy on the checked table: the table, one problem per repeated row, conflicting groups."""
        return resolve_duplicates(table, self.hparams.duplicates, self.system)

    def _write_skipped(self, problems) -> None:
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
                records.table, hp.split, hp.test_fold, hp.num_folds, hp.val_fraction, hp.seed, hp.val_seed, self.system
            )
            has_task = records.table[list(self.tasks)].notna().any(axis=1).to_numpy()
            self.indices = {part: rows[has_task[rows]] for part, rows in indices.items()}

    def use_member(self, member: int | None) -> None:
        """Train ensemble member ``member`` on its own draw of ``bagging_fraction`` of the training groups
        (the split's groups: polymers under ``split: polymer``); ``None``: every training row again. With no
        fraction below 1 (the default), every member trains on every training row. Validation and test
        rows never change."""
        fraction = getattr(self.hparams, "bagging_fraction", 1.0)
        self.setup("fit")
        self._all_train = getattr(self, "_all_train", self.indices["train"])
        if member is None or fraction >= 1.0:
            self.indices["train"] = self._all_train
            return
        hp = self.hparams
        groups = group_keys(self.records.table.iloc[self._all_train], hp.split, self.system).to_numpy()
        distinct = pd.unique(groups)  # in table order: the same draw on every machine
        rng = np.random.default_rng([hp.seed, BAGGING_STREAM, member])
        kept = rng.choice(distinct, size=max(1, round(fraction * len(distinct))), replace=False)
        self.indices["train"] = self._all_train[np.isin(groups, kept)]

    @property
    def tasks(self) -> tuple[str, ...]:
        names = self.system.task_names
        return tuple(t for t in names if t in (self.hparams.tasks or names))

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

    def train_statistics(self) -> dict:
        """The pair head's scalers, fitted on the training rows."""
        raise NotImplementedError

    def balanced_row_weights(self, split: SplitName, exponent: float, tasks: tuple[str, ...]) -> np.ndarray:
        """[records, T] loss weights that balance the training rows of ``tasks`` across the groups of
        ``split`` (:func:`balanced_row_weights`); 1 for the other tasks."""
        targets = self.records.targets().copy()
        targets[:, [j for j, task in enumerate(self.system.task_names) if task not in tasks]] = np.nan
        groups = group_keys(self.records.table, split, self.system).to_numpy()
        return balanced_row_weights(targets, groups, self.indices["train"], exponent)

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


class ChiDataModule(PairDataModule):
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
        hansen_molecules: training batches also carry Hansen molecules (standardised dD, dP, dH;
            :mod:`gnnchi.data.auxiliary`) for the model's auxiliary Hansen loss (``model.hansen_weight``):
            each epoch goes through them once, spread over the pair batches. A molecule of a validation
            or test row that no training row has is left out, so held-out molecules stay unseen.
        idac_pairs_per_batch: training batches also carry this many small-molecule pairs with measured
            ln gamma_inf (:func:`gnnchi.data.auxiliary.idac_pairs`), drawn at random each epoch, for the
            model's auxiliary loss (``model.idac_weight``); 0: none. Pairs with a held-out molecule are left out.
        bagging_fraction: each member of an ensemble trains on its own random share of the training
            groups (the split's groups: polymers under ``split: polymer``), so members differ in the
            polymers they know and their spread grows where a prediction leans on a few of them; 1: every
            member trains on every training row. A single model always trains on every training row.
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
        hansen_molecules: bool = False,
        idac_pairs_per_batch: int = 0,
        bagging_fraction: float = 1.0,
    ):
        super().__init__()
        self._check_tasks(tasks)
        if idac_pairs_per_batch < 0:
            raise ValueError(f"idac_pairs_per_batch must be >= 0, got {idac_pairs_per_batch}")
        self._check_bagging(bagging_fraction)
        self.save_hyperparameters()

    def condition_ranges(self) -> dict[str, tuple[float, float]]:
        return {"temperature_K": tuple(self.hparams.temperature_range_K)}

    def held_out_molecules(self) -> set[str]:
        """Group keys (any molecule column) of validation and test rows' molecules that no training row has."""
        table = self.records.table
        columns = [f"{column}_group_key" for column in self.system.molecule_columns]
        keys = {part: set(table.iloc[rows][columns].to_numpy().ravel()) for part, rows in self.indices.items()}
        return (keys.get("val", set()) | keys.get("test", set())) - keys["train"]

    def hansen_rows(self) -> np.ndarray:
        """Rows of :func:`gnnchi.data.auxiliary.hansen_molecules` trained on: all but held-out molecules."""
        from gnnchi.data.auxiliary import hansen_molecules, rows_not_held_out

        return rows_not_held_out(hansen_molecules(self.hparams.max_heavy_atoms), self.held_out_molecules())

    def idac_rows(self) -> np.ndarray:
        """Rows of :func:`gnnchi.data.auxiliary.idac_pairs` trained on: pairs without a held-out molecule."""
        from gnnchi.data.auxiliary import idac_pairs, idac_rows_not_held_out

        return idac_rows_not_held_out(idac_pairs(self.hparams.max_heavy_atoms), self.held_out_molecules())

    def train_dataloader(self):
        """The pair batches; with auxiliary data, a :class:`CombinedLoader` of ``pairs`` and ``hansen``
        (as many Hansen batches as pair batches, so an epoch sees each molecule once) and/or ``idac``
        (``idac_pairs_per_batch`` pairs drawn at random beside each pair batch)."""
        pairs = super().train_dataloader()
        hp = self.hparams
        if not (hp.hansen_molecules or hp.idac_pairs_per_batch):
            return pairs
        from lightning.pytorch.utilities import CombinedLoader

        from gnnchi.data import auxiliary

        loaders = {"pairs": pairs}
        if hp.hansen_molecules:
            dataset = auxiliary.MoleculeTargetDataset(auxiliary.hansen_molecules(hp.max_heavy_atoms), self.hansen_rows())
            batch_size = -(-len(dataset) // len(pairs))  # ceil: one Hansen batch per pair batch
            loaders["hansen"] = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=dataset.collate)
        if hp.idac_pairs_per_batch:
            dataset = auxiliary.PairTargetDataset(auxiliary.idac_pairs(hp.max_heavy_atoms), self.idac_rows())
            draws = auxiliary.RandomDraws(len(dataset), hp.idac_pairs_per_batch * len(pairs), seed=hp.seed)
            loaders["idac"] = DataLoader(dataset, batch_size=hp.idac_pairs_per_batch, sampler=draws,
                                         collate_fn=dataset.collate)  # fmt: skip
        return CombinedLoader(loaders, mode="max_size_cycle")

    def train_statistics(self) -> dict[str, list[float] | float]:
        """Scalers fitted on the training rows: mean/std of 1/T and of each chi task."""
        return scaler_statistics(self.records.table.iloc[self.indices["train"]], self.tasks)


class IonicLiquidDataModule(PairDataModule):
    """CO2 absorbed by ionic liquids (``x_co2``) from the bundled data or a user's CSV with columns
    ``cation``, ``anion``, ``temperature_K`` (or ``temperature_C``), ``pressure_kPa`` (or ``pressure_bar``,
    ``pressure_MPa``) and ``x_co2``.

    Args:
        data: path of a CSV; ``None`` uses the bundled data (15,665 rows, 183 ionic liquids).
        split: ``rows`` (random rows), ``ionic_liquid`` (leave-ionic-liquid-out: grouped by the cation
            and anion pair), ``cation`` (leave-cation-out) or ``anion`` (leave-anion-out).
        test_fold: which fold is the test set; ``null``: none.
        num_folds: folds of the split.
        val_fraction: share of the training rows, grouped like the split, used for validation.
        seed: seed of the fold and validation draws.
        val_seed: seed of the validation draw alone (default ``seed + 1``).
        batch_size: ionic-liquid conditions per batch.
        num_workers: DataLoader worker processes.
        skip_bad_rows: train without the rows that fail the checks (written to ``skipped_rows_file``).
        skipped_rows_file: where skipped rows go.
        temperature_range_K: plausible temperatures; rows outside are bad rows.
        pressure_range_kPa: plausible pressures; rows outside are bad rows.
        max_heavy_atoms: largest ion (heavy atoms).
        duplicates: rows repeating x_co2 for the same ionic liquid, temperature and pressure: ``average``
            them into one (the default: the bundled data has 2,343 exact repeats, and averaging keeps
            a repeat from sitting on both sides of a random-rows split), ``keep`` them all, or ``fail``.
        tasks: train and evaluate on these tasks only (the system has one, ``x_co2``).
        bagging_fraction: each member of an ensemble trains on its own random share of the training
            groups (the split's groups: ionic liquids under ``split: ionic_liquid``, rows under ``rows``),
            so members differ in the ionic liquids they know; 1: every member trains on every training row.
    """

    system = CO2_IL

    def __init__(
        self,
        data: str | None = None,
        split: Literal["rows", "ionic_liquid", "cation", "anion"] = "rows",
        test_fold: int | None = 0,
        num_folds: int = 5,
        val_fraction: float = 0.1,
        seed: int = 0,
        val_seed: int | None = None,
        batch_size: int = 256,
        num_workers: int = 0,
        skip_bad_rows: bool = False,
        skipped_rows_file: str = "skipped_rows.csv",
        temperature_range_K: tuple[float, float] = CO2_IL.conditions[0].valid_range,
        pressure_range_kPa: tuple[float, float] = CO2_IL.conditions[1].valid_range,
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
        duplicates: Literal["keep", "average", "fail"] = "average",
        tasks: list[str] | None = None,
        bagging_fraction: float = 1.0,
    ):
        super().__init__()
        self._check_tasks(tasks)
        self._check_bagging(bagging_fraction)
        self.save_hyperparameters()

    def condition_ranges(self) -> dict[str, tuple[float, float]]:
        hp = self.hparams
        return {"temperature_K": tuple(hp.temperature_range_K), "pressure_kPa": tuple(hp.pressure_range_kPa)}

    def train_statistics(self) -> dict[str, float]:
        """The isotherm head's 1/T scaler, fitted on the training rows."""
        return inverse_temperature_statistics(self.records.table.iloc[self.indices["train"]])
