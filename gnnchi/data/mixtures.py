"""Mixture tables (the electrolyte system): read and check records of up to four components with their
mole fractions, featurize each distinct compound once, resolve repeats, and serve batches.

A mixture table has ``component_1..n`` (SMILES), ``fraction_1..n`` (mole fractions), optionally
``role_1..n`` (``polymer``, ``salt``, ``additive``; inferred from the SMILES where absent,
:func:`gnnchi.datasets.electrolytes.infer_role`), ``mn_g_mol`` (the polymer's Mn; may be missing),
``temperature_K`` or ``temperature_C``, and the target ``log10_conductivity_S_cm`` (missing allowed for
formulations to predict). Every row goes through :func:`gnnchi.datasets.electrolytes.check_electrolytes`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
from torch import Tensor
from torch.utils.data import Dataset

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.datamodule import PairDataModule, as_tensor, collate_distinct, inverse_temperature_statistics
from gnnchi.data.records import DUPLICATE_POLICIES
from gnnchi.data.tables import condition_column, read_csv_table
from gnnchi.datasets import electrolytes
from gnnchi.errors import DataValidationError, RowProblem
from gnnchi.featurizers import MolGraph, featurize
from gnnchi.systems.electrolyte import ELECTROLYTE, MAX_COMPONENTS, MOLECULAR_WEIGHT, TARGET, TEMPERATURE

log = logging.getLogger(__name__)
SLOTS = tuple(range(1, MAX_COMPONENTS + 1))


def normalize_mixture_columns(frame: pd.DataFrame, source: str, lines_given: bool = False) -> tuple[pd.DataFrame, list[RowProblem]]:
    """A copy in the checker's columns (:func:`~gnnchi.datasets.electrolytes.load_electrolytes`'s):
    ``component_i`` / ``role_i`` / ``fraction_i`` for every slot the table has (at least
    :data:`MAX_COMPONENTS`), ``mn_g_mol``, ``temperature_K`` (from °C where given so), the target (NaN
    where absent) and ``row`` (the line in the file; with ``lines_given`` the frame's own). Also the
    cells that are not numbers, as row problems."""
    slots = electrolytes.component_columns(frame)
    if not slots:
        raise DataValidationError(
            source, [], f"no component column; give component_1, component_2, ... (SMILES) with fraction_1, fraction_2, "
            f"... (mole fractions), {' or '.join(TEMPERATURE.units)}, optionally mn_g_mol; found {list(frame.columns)}",
        )  # fmt: skip
    missing = [f"fraction_{i}" for i in slots if f"fraction_{i}" not in frame.columns]
    if missing:
        raise DataValidationError(source, [], f"missing column(s) {missing}: each component needs its mole fraction")
    temperature = condition_column(frame, TEMPERATURE, source, required=True)
    out = frame.copy()
    if not lines_given:
        out = out.rename(columns={"row": "row_input"})
        out["row"] = np.arange(len(out)) + 2
    problems: list[RowProblem] = []

    def numeric(column: str) -> pd.Series:
        raw = out[column] if column in out.columns else pd.Series(np.nan, index=out.index)
        values = pd.to_numeric(raw, errors="coerce")
        text = raw.astype(str).str.strip()
        bad = values.isna() & raw.notna() & (text != "") & (text.str.lower() != "nan")
        problems.extend(RowProblem(int(out["row"].iloc[i]), column, text.iloc[i], "not a number") for i in np.flatnonzero(bad))
        return values.astype(float)

    for i in sorted(set(slots) | set(SLOTS)):
        smiles = out[f"component_{i}"] if f"component_{i}" in out.columns else pd.Series("", index=out.index)
        out[f"component_{i}"] = smiles.fillna("").astype(str).str.strip()
        if f"role_{i}" not in out.columns:
            out[f"role_{i}"] = out[f"component_{i}"].map(electrolytes.infer_role)
        out[f"fraction_{i}"] = numeric(f"fraction_{i}")
    out["temperature_K"] = TEMPERATURE.units[temperature](numeric(temperature))
    if temperature != "temperature_K":
        out = out.drop(columns=temperature)
    out[MOLECULAR_WEIGHT.name] = numeric(MOLECULAR_WEIGHT.name)
    out[TARGET] = numeric(TARGET)
    return out, problems


def read_mixture_csv(path: str | Path) -> tuple[pd.DataFrame, list[RowProblem]]:
    """Read a mixture table and normalise it with :func:`normalize_mixture_columns`."""
    frame = read_csv_table(path, dtype=str)
    return normalize_mixture_columns(frame, str(path))


@dataclass
class MixtureRecords:
    """Checked records and the graph of each distinct compound.

    table: the records that passed (the checker's columns), with ``component_i_idx`` (the compound's
    graph, -1 where the slot is empty) and each split's ``<name>_group_key``; graphs: by compound index;
    compounds: per compound ``role``, ``smiles`` (as first met), ``key`` (canonical), ``group_key``.
    """

    table: pd.DataFrame
    graphs: list[MolGraph]
    compounds: pd.DataFrame
    system_name: str = ELECTROLYTE.name

    @property
    def system(self):
        return ELECTROLYTE

    def subset(self, rows: np.ndarray) -> MixtureRecords:
        """The records ``rows`` (positions), with the same compounds and graphs."""
        return MixtureRecords(self.table.iloc[rows].reset_index(drop=True), self.graphs, self.compounds)

    def components(self) -> np.ndarray:
        """[R, C] int64: each slot's compound, -1 where empty."""
        return self.table[[f"component_{i}_idx" for i in SLOTS]].to_numpy(np.int64)

    def fractions(self) -> np.ndarray:
        """[R, C] float32 mole fractions, 0 where a slot is empty."""
        return np.nan_to_num(self.table[[f"fraction_{i}" for i in SLOTS]].to_numpy(np.float32), nan=0.0)

    def conditions(self) -> np.ndarray:
        """[R, 2] float32: temperature_K, mn_g_mol (NaN where unknown)."""
        return self.table[[c.name for c in ELECTROLYTE.conditions]].to_numpy(np.float32)

    def targets(self) -> np.ndarray:
        """[R, 1] float32, NaN where missing."""
        return self.table[[TARGET]].to_numpy(np.float32)


def check_mixtures(
    frame: pd.DataFrame, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS, require_target: bool = True
) -> tuple[MixtureRecords, list[RowProblem], list[RowProblem]]:
    """Check a normalised table (:func:`~gnnchi.datasets.electrolytes.check_electrolytes`) and featurize
    each distinct compound (role, canonical key) once; the records, the refused rows' problems and the
    kept rows' warnings."""
    kept, problems, warnings = electrolytes.check_electrolytes(frame, max_heavy_atoms, require_target)
    index: dict[tuple[str, str], int] = {}
    graphs, compounds = [], []
    for i in SLOTS:
        column = []
        for smiles, role, key, group, row in zip(
            kept[f"component_{i}"], kept[f"role_{i}"], kept[f"component_{i}_key"], kept[f"component_{i}_group_key"], kept["row"]
        ):  # fmt: skip
            if not key:
                column.append(-1)
                continue
            if (role, key) not in index:
                index[(role, key)] = len(graphs)
                graphs.append(featurize(electrolytes.component_mol(role, smiles, int(row), max_heavy_atoms)))
                compounds.append({"role": role, "smiles": smiles, "key": key, "group_key": group})
            column.append(index[(role, key)])
        kept[f"component_{i}_idx"] = np.asarray(column, dtype=np.int64)
    kept = pd.concat([kept, electrolytes.split_group_keys(kept)], axis=1)
    compounds_table = pd.DataFrame(compounds, columns=["role", "smiles", "key", "group_key"])
    return MixtureRecords(kept, graphs, compounds_table), problems, warnings


def resolve_mixture_duplicates(table: pd.DataFrame, policy: str) -> tuple[pd.DataFrame, list[RowProblem], int]:
    """Records repeating one measurement (:func:`~gnnchi.datasets.electrolytes.mixture_identity`): ``keep``
    them, ``average`` them into the first row of each group (mean log10 conductivity), or ``fail`` (the
    caller stops). Returns the table, one problem per repeated row (naming its group's first row and any
    conflict) and the number of groups whose values conflict."""
    if policy not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {policy!r}")
    table = table.copy()
    identity = electrolytes.mixture_identity(table)
    present = table[TARGET].notna()
    groups = table.loc[present, TARGET].groupby([identity.loc[present, c] for c in identity.columns], sort=False, dropna=False)
    problems, conflicts, dropped = [], 0, []
    for _, values in groups:
        if len(values) < 2:
            continue
        conflict = values.max() - values.min() > 1e-9
        conflicts += int(conflict)
        first = table.at[values.index[0], "row"]
        detail = f"; values {sorted(set(values.round(6).tolist()))} conflict" if conflict else ""
        source = lambda i: str(table.at[i, "source"]) if "source" in table.columns else ""
        reason = f"same mixture, Mn and temperature as row {first}{detail}"
        problems += [RowProblem(int(table.at[i, "row"]), TARGET, f"{values[i]:g}", reason, source(i)) for i in values.index[1:]]
        if policy == "average":
            table.at[values.index[0], TARGET] = float(values.mean())
            dropped += list(values.index[1:])
    if policy == "average":
        table = table.drop(index=dropped).reset_index(drop=True)
    return table, problems, conflicts


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

    def __init__(self, records: MixtureRecords, rows: np.ndarray, tasks: tuple[str, ...] | None = None):
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

    def prepare_records(self) -> MixtureRecords:
        """Load and check the data once (all bad rows reported together)."""
        if self.records is not None:
            return self.records
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
        table, repeated, conflicts = resolve_mixture_duplicates(records.table, hp.duplicates)
        if repeated:
            if hp.duplicates == "fail":
                raise DataValidationError(source, repeated, "set data.duplicates to keep or average to train on them")
            log.warning("%s: %d record(s) repeat a measurement (%d group(s) conflict); data.duplicates=%s",
                        source, len(repeated), conflicts, hp.duplicates)  # fmt: skip
        self.num_duplicate_rows, self.num_conflicting_groups = len(repeated), conflicts
        records.table = table
        if len(table) == 0:
            raise DataValidationError(source, [], "no usable row")
        self.records = records
        return records

    def dataset(self, part: str) -> MixtureDataset:
        return MixtureDataset(self.records, self.indices[part], self.tasks)

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
