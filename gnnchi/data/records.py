"""Pair tables: normalise a table's columns and check every row before any training.

A pair table of the chi system (:data:`gnnchi.systems.CHI`) has one row per (polymer, solvent,
temperature) observation with columns ``polymer`` (repeat unit SMILES with two `*`), ``solvent``
(SMILES), exactly one of ``temperature_K`` / ``temperature_C``, and any of the targets
``soluble`` (1 solvent, 0 non-solvent), ``chi_exp`` and ``chi_cosmo`` (missing values allowed:
they are masked). Columns, units, tasks and their checks come from the system declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS, make_mol, molecule_keys
from gnnchi.data.tables import condition_column, read_csv_table
from gnnchi.errors import DataValidationError, InvalidSmilesError, RowProblem
from gnnchi.featurizers import MolGraph, featurize
from gnnchi.featurizers.atom import vocabulary_warning
from gnnchi.systems.chi import CHI, DEFAULT_TEMPERATURE_RANGE_K, TEMPERATURE

SYSTEM = CHI
TASKS = SYSTEM.task_names


def read_pairs_csv(path: str | Path) -> pd.DataFrame:
    """Read a pair table and normalise it with :func:`normalize_columns`."""
    frame = read_csv_table(path, dtype={c: str for c in SYSTEM.molecule_columns})
    return normalize_columns(frame, str(path))


def normalize_columns(frame: pd.DataFrame, source: str, lines_given: bool = False) -> pd.DataFrame:
    """Return a copy with ``temperature_K`` (converted from °C if needed), every target column
    (NaN where absent) and ``row`` (the row's line number in the file, header = line 1; with
    ``lines_given`` the frame's own ``row`` column holds them, as in the bundled data)."""
    missing = [c for c in SYSTEM.molecule_columns if c not in frame.columns]
    if missing:
        raise DataValidationError(
            source,
            [],
            f"missing column(s) {missing}; found {list(frame.columns)}; expected {', '.join(SYSTEM.molecule_columns)}, "
            f"one of {list(TEMPERATURE.units)} and any of {list(TASKS)}",
        )
    temperature = condition_column(frame, TEMPERATURE, source)
    out = frame.copy()
    if not lines_given:  # a user's own "row" column is kept as "row_input"; "row" is the file line
        out = out.rename(columns={"row": "row_input"})
        out["row"] = np.arange(len(out)) + 2
    unparsed = [[] for _ in range(len(out))]  # (column, text) of cells that are not numbers

    def numeric(column: str) -> pd.Series:
        raw = out[column]
        values = pd.to_numeric(raw, errors="coerce")
        text = raw.astype(str).str.strip()
        for i in np.flatnonzero(values.isna().to_numpy() & raw.notna().to_numpy() & (text != "").to_numpy()):
            unparsed[i].append((column, text.iloc[i]))
        return values

    if temperature is None:
        out[TEMPERATURE.name] = np.nan
    else:
        out[TEMPERATURE.name] = TEMPERATURE.units[temperature](numeric(temperature))
        if temperature != TEMPERATURE.name:
            out.pop(temperature)
    for task in TASKS:
        out[task] = numeric(task) if task in out.columns else np.nan
    out["_unparsed"] = unparsed
    return out


@dataclass
class PairRecords:
    """Checked rows: each refers to one graph per molecule column.

    table: the input rows that passed, with ``<column>_idx``, ``<column>_key`` (canonical key) and
    ``<column>_group_key`` (the same without stereo: what splits group by, see :func:`gnnchi.chem.group_key`)
    for each molecule column, and ``temperature_K`` filled; graphs: per molecule column, graphs by index.
    """

    table: pd.DataFrame
    graphs: dict[str, list[MolGraph]]
    vocabulary_warnings: dict[str, str] = field(default_factory=dict)  # SMILES -> what is unknown

    def targets(self) -> np.ndarray:
        """[num_rows, len(TASKS)] float32, NaN where missing."""
        return self.table[list(TASKS)].to_numpy(np.float32)


class _MoleculeCache:
    """Parse and featurize each distinct SMILES once."""

    def __init__(self, kind: str, max_heavy_atoms: int):
        self.kind, self.max_heavy_atoms = kind, max_heavy_atoms
        self.index: dict[str, tuple[int, str, str]] = {}
        self.graphs: list[MolGraph] = []
        self.warnings: dict[str, str] = {}

    def get(self, smiles: str, row: int) -> tuple[int, str, str]:
        """Graph index, canonical key and group key of ``smiles``."""
        if smiles not in self.index:
            mol = make_mol(smiles, self.kind, row, self.max_heavy_atoms)  # raises with the first row it meets
            self.index[smiles] = (len(self.graphs), *molecule_keys(mol, self.kind))
            self.graphs.append(featurize(mol))
            warning = vocabulary_warning(mol)
            if warning:
                self.warnings[smiles] = warning
        return self.index[smiles]


def _target_problems(row: int, targets: dict[str, float]) -> list[RowProblem]:
    """A regression target must be finite; a label 0 or 1 (NaN means missing)."""
    problems = []
    for task in SYSTEM.tasks:
        value = targets[task.name]
        if task.kind == "regression" and np.isinf(value):
            problems.append(RowProblem(row, task.name, str(value), f"{task.name.split('_')[0]} must be a finite number"))
        if task.kind == "classification" and not np.isnan(value) and value not in (0.0, 1.0):
            problems.append(RowProblem(row, task.name, str(value), f"{task.name} must be 0 or 1"))
    return problems


def check_pairs(
    frame: pd.DataFrame,
    source: str,
    require_target: bool = True,
    temperature_range_K: tuple[float, float] = DEFAULT_TEMPERATURE_RANGE_K,
    max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
) -> tuple[PairRecords, list[RowProblem]]:
    """Check every row of a normalised table; return the good rows and ALL problems found.

    A row whose regression targets are all missing may omit the temperature (a label-only row,
    measured at the condition's default); a row with a regression target may not.
    """
    caches = {m.column: _MoleculeCache(m.kind, max_heavy_atoms) for m in SYSTEM.molecules}
    regression = SYSTEM.tasks_of_kind("regression")
    bad_smiles: dict[tuple[str, str], str] = {}
    problems: list[RowProblem] = []
    columns = {c: frame[c].to_numpy() for c in ("row", *SYSTEM.molecule_columns, TEMPERATURE.name, *TASKS)}
    unparsed = frame["_unparsed"].to_numpy() if "_unparsed" in frame.columns else [[]] * len(frame)
    sources = frame["source"].astype(str).to_numpy() if "source" in frame.columns else [""] * len(frame)
    parts = ("idx", "key", "group_key")
    fields: dict[str, list] = {f"{c}_{part}": [] for c in SYSTEM.molecule_columns for part in parts}
    keep: list[int] = []
    low, high = temperature_range_K
    for i in range(len(frame)):
        row = int(columns["row"][i])
        row_problems = [RowProblem(row, column, text, "not a number") for column, text in unparsed[i]]
        found = {}
        for column, cache in caches.items():
            smiles = columns[column][i]
            smiles = smiles.strip() if isinstance(smiles, str) else ""
            if (column, smiles) in bad_smiles:
                row_problems.append(RowProblem(row, column, smiles, bad_smiles[(column, smiles)]))
                continue
            try:
                found[column] = cache.get(smiles, row)
            except InvalidSmilesError as err:
                bad_smiles[(column, smiles)] = err.reason
                row_problems.append(RowProblem(row, column, smiles, err.reason))
        targets = {t: columns[t][i] for t in TASKS}
        row_problems += _target_problems(row, targets)
        has_value = any(np.isfinite(targets[t]) for t in regression)
        if require_target and not any(np.isfinite(targets[t]) for t in TASKS):
            row_problems.append(RowProblem(row, "targets", "", f"no target value; give any of {list(TASKS)}"))
        temperature = columns[TEMPERATURE.name][i]
        if np.isnan(temperature):
            if has_value and not any(c in TEMPERATURE.units for c, _ in unparsed[i]):  # reported as not a number
                row_problems.append(RowProblem(row, TEMPERATURE.name, "", "missing temperature for a chi value"))
        elif not low <= temperature <= high:
            row_problems.append(
                RowProblem(row, TEMPERATURE.name, f"{temperature:g}", f"outside the plausible range {low:g}-{high:g} K")
            )
        if row_problems:
            problems += [replace(p, source=sources[i]) for p in row_problems] if sources[i] else row_problems
            continue
        keep.append(i)
        for column in SYSTEM.molecule_columns:
            for part, value in zip(parts, found[column]):
                fields[f"{column}_{part}"].append(value)
    table = frame.iloc[keep].drop(columns="_unparsed", errors="ignore").reset_index(drop=True)
    for name, values in fields.items():
        table[name] = values
    table[TEMPERATURE.name] = table[TEMPERATURE.name].fillna(TEMPERATURE.default)
    used = set().union(*(table[c].str.strip() for c in SYSTEM.molecule_columns))
    warnings = {s: w for cache in caches.values() for s, w in cache.warnings.items() if s in used}
    return PairRecords(table, {c: cache.graphs for c, cache in caches.items()}, warnings), problems


DUPLICATE_POLICIES = ("keep", "average", "fail")


def resolve_duplicates(table: pd.DataFrame, policy: str) -> tuple[pd.DataFrame, list[RowProblem], int]:
    """Rows that repeat a target of the same task for the same pair (canonical keys) and temperature.

    ``keep`` trains on all of them; ``average`` keeps the first row of each group with the mean chi
    (for ``soluble`` the majority label; a tie drops the label) and drops rows left without a
    target; ``fail`` leaves the table as is for the caller to stop. Returns the table, one problem
    per repeated row (naming the first row of its group and any conflict) and the number of
    groups whose values conflict.
    """
    if policy not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {policy!r}")
    table = table.copy()
    keys = [*(table[f"{c}_key"] for c in SYSTEM.molecule_columns), table[TEMPERATURE.name].round(2)]
    problems, conflicts = [], 0
    for task in TASKS:
        present = table[task].notna()
        groups = table.loc[present, task].groupby([k[present] for k in keys], sort=False)
        for _, values in groups:
            if len(values) < 2:
                continue
            conflict = values.max() - values.min() > 1e-9
            conflicts += int(conflict)
            first = table.at[values.index[0], "row"]
            detail = f"; values {sorted(set(values.round(6).tolist()))} conflict" if conflict else ""
            problems += [
                RowProblem(int(table.at[i, "row"]), task, f"{values[i]:g}", f"same pair and temperature as row {first}{detail}",
                           str(table.at[i, "source"]) if "source" in table.columns else "")  # fmt: skip
                for i in values.index[1:]
            ]
            if policy == "average":
                mean = float(values.mean())
                if SYSTEM.task(task).kind == "classification":
                    mean = float(round(mean)) if mean != 0.5 else np.nan
                table.loc[values.index, task] = np.nan
                table.at[values.index[0], task] = mean
    if policy == "average":
        table = table[table[list(TASKS)].notna().any(axis=1)].reset_index(drop=True)
    return table, problems, conflicts
