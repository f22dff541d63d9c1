"""Mixture batches and the electrolyte system's LightningDataModule (the tables and their checks are in
:mod:`gnnchi.data.mixture_records`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal, NamedTuple

import numpy as np
from torch import Tensor
from torch.utils.data import Dataset

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.datamodule import PairDataModule, as_tensor, collate_distinct, inverse_temperature_statistics
from gnnchi.data.mixture_records import (
    MixtureRecords,
    check_mixtures,
    normalize_mixture_columns,
    read_mixture_csv,
    resolve_mixture_duplicates,
)
from gnnchi.datasets import electrolytes
from gnnchi.errors import DataValidationError, RowProblem
from gnnchi.featurizers import MolGraph
from gnnchi.systems.electrolyte import ELECTROLYTE, MOLECULAR_WEIGHT, TARGET

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


class MixtureBatch(NamedTuple):
    """A batch of P records: the distinct compounds of the batch as one graph (PyG layout; a compound
    that recurs is encoded once), which of them fills each slot, the mole fractions, the conditions and
    the targets.

    graph: x, edge_index, edge_attr, batch; components [P, C] (a compound among the graph's; 0 where the
    slot is empty, with fraction 0); fractions [P, C]; conditions: temperature_K [P], mn_g_mol [P] (NaN:
    unknown); targets [P, 1]; rows [P] each record's index in the records table.
    """

    graph: tuple[Tensor, ...]
    components: Tensor
    fractions: Tensor
    conditions: tuple[Tensor, ...]
    targets: Tensor
    rows: Tensor

    @property
    def num_compounds(self) -> int:
        return int(self.graph[3].max()) + 1 if self.graph[3].numel() else 0


def collate_mixtures(
    graphs: list[MolGraph], components: np.ndarray, fractions: np.ndarray, conditions: np.ndarray, targets: np.ndarray, rows: np.ndarray
) -> MixtureBatch:
    """Records' arrays ([P, C] compound indices into ``graphs`` with -1 where empty, [P, C] fractions, [P, 2]
    conditions, [P, 1] targets, [P] rows) -> :class:`MixtureBatch`."""
    present = components >= 0
    graph, among = collate_distinct(graphs, components[present])
    slots = np.zeros(components.shape, dtype=np.int64)
    slots[present] = among.numpy()
    return MixtureBatch(
        graph, as_tensor(slots), as_tensor(np.where(present, fractions, 0.0).astype(np.float32)),
        tuple(as_tensor(conditions[:, j]) for j in range(conditions.shape[1])), as_tensor(targets), as_tensor(rows),
    )  # fmt: skip


class MixtureDataset(Dataset):
    """Rows of :class:`MixtureRecords` (by index); the collate function builds :class:`MixtureBatch`."""

    def __init__(self, records: MixtureRecords, rows: np.ndarray):
        self.records, self.rows = records, np.asarray(rows)
        self.components = records.components()[self.rows]
        self.fractions = records.fractions()[self.rows]
        self.conditions = records.conditions()[self.rows]
        self.targets = records.targets()[self.rows]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> int:
        return i

    def collate(self, items: list[int]) -> MixtureBatch:
        return collate_mixtures(
            self.records.graphs, self.components[items], self.fractions[items], self.conditions[items],
            self.targets[items], self.rows[items],
        )  # fmt: skip


class ElectrolyteDataModule(PairDataModule):
    """Ionic conductivity of polymer electrolytes (``log10_conductivity_S_cm``) from the bundled data or a
    user's mixture CSV (see :mod:`gnnchi.data.mixtures` for its columns).

    Args:
        data: path of a CSV; ``None`` uses the bundled data (11,350 records; the 659 the checks refuse are
            left out: ``python -m gnnchi.datasets.electrolytes`` lists why).
        split: ``rows`` (random records; leaky: a formulation recurs at other temperatures),
            ``component_set`` (unseen sets of compounds), ``polymer`` (leave-polymer-out: no polymer of a
            test record is in training) or ``salt`` (leave-salt-out).
        test_fold: which fold is the test set; ``null``: none.
        num_folds: folds of the split.
        val_fraction: share of the training rows, grouped like the split, used for validation.
        seed: seed of the fold and validation draws.
        val_seed: seed of the validation draw alone (default ``seed + 1``).
        batch_size: records per batch.
        num_workers: DataLoader worker processes.
        skip_bad_rows: train without the rows of your CSV that fail the checks (written to
            ``skipped_rows_file``) instead of stopping with the list of every bad row.
        skipped_rows_file: where skipped rows go.
        max_heavy_atoms: largest compound (heavy atoms; of a polymer's repeat unit).
        duplicates: records repeating the same mixture, Mn and temperature: ``average`` them into one (the
            default: the bundled data has 778 repeats, and averaging keeps a repeat from sitting on both
            sides of a split), ``keep`` them all, or ``fail``.
        tasks: train and evaluate on these tasks only (the system has one).
    """

    system = ELECTROLYTE

    def __init__(
        self,
        data: str | None = None,
        split: Literal["rows", "component_set", "polymer", "salt"] = "component_set",
        test_fold: int | None = 0,
        num_folds: int = 5,
        val_fraction: float = 0.1,
        seed: int = 0,
        val_seed: int | None = None,
        batch_size: int = 128,
        num_workers: int = 0,
        skip_bad_rows: bool = False,
        skipped_rows_file: str = "skipped_rows.csv",
        max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
        duplicates: Literal["keep", "average", "fail"] = "average",
        tasks: list[str] | None = None,
    ):
        super().__init__()
        self._check_tasks(tasks)
        self.save_hyperparameters()

    def checked_records(self) -> tuple[MixtureRecords, str]:
        """The records (bundled or ``data``) through :func:`check_mixtures`, and their source's name. The
        bundled records the checks refuse are left out with one line (the dataset module lists them)."""
        hp = self.hparams
        if hp.data is None:
            source = "bundled data"
            frame, unparsed = normalize_mixture_columns(electrolytes.load_electrolytes(), source, lines_given=True)
        else:
            source = hp.data
            frame, unparsed = read_mixture_csv(hp.data)
        records, problems, warnings = check_mixtures(frame, hp.max_heavy_atoms)
        problems = unparsed + problems
        if problems and hp.data is None:
            log.info("bundled data: %d records refused by the checks (python -m gnnchi.datasets.electrolytes lists why)",
                     len({p.row for p in problems}))  # fmt: skip
        elif problems:
            if not hp.skip_bad_rows:
                raise DataValidationError(source, problems, "fix these rows, or set data.skip_bad_rows=true to skip them")
            self._write_skipped(problems)
        bad = {p.row for p in unparsed}
        if bad:  # a cell that is not a number was read as missing; its row goes with the other bad rows
            records.table = records.table[~records.table["row"].isin(bad)].reset_index(drop=True)
        for warning in warnings[:20]:
            log.warning("%s: row %d: %s", source, warning.row, warning.reason)
        return records, source

    def resolve_repeats(self, table: pd.DataFrame) -> tuple[pd.DataFrame, list[RowProblem], int]:
        return resolve_mixture_duplicates(table, self.hparams.duplicates)

    def dataset(self, part: str) -> MixtureDataset:
        return MixtureDataset(self.records, self.indices[part])  # one task: nothing to mask

    def train_statistics(self) -> dict[str, float]:
        """The conductivity head's scalers, fitted on the training rows: 1/T, log10 Mn and the target."""
        train = self.records.table.iloc[self.indices["train"]]
        log_mn = np.log10(train[MOLECULAR_WEIGHT.name].dropna().to_numpy(float))
        target = train[TARGET].dropna().to_numpy(float)
        return {
            **inverse_temperature_statistics(train),
            "log_mn_mean": float(log_mn.mean()) if len(log_mn) else 4.0,
            "log_mn_std": float(log_mn.std()) if len(log_mn) > 1 and log_mn.std() > 0 else 1.0,
            "target_mean": float(target.mean()) if len(target) else -5.0,
            "target_std": float(target.std()) if len(target) > 1 and target.std() > 0 else 1.0,
        }
