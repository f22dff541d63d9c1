"""Pair tables: normalise a table's columns and check every row before any training.

A pair table has one row per observation: one SMILES column per molecule of the system, one column
per condition in any of its units, and any of the system's targets (missing values allowed: they
are masked). For the chi system (:data:`gnnchi.systems.CHI`, the default) that is ``polymer``
(repeat unit SMILES with two `*`), ``solvent``, exactly one of ``temperature_K`` / ``temperature_C``,
and any of ``soluble`` (1 solvent, 0 non-solvent), ``chi_exp`` and ``chi_cosmo``. Columns, units,
tasks and their checks come from the system declaration.
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
from gnnchi.systems import CHI, System


def read_pairs_csv(path: str | Path, system: System = CHI) -> pd.DataFrame:
    """Read a pair table and normalise it with :func:`normalize_columns`."""
    frame = read_csv_table(path, dtype={c: str for c in system.molecule_columns})
    return normalize_columns(frame, str(path), system=system)


def normalize_columns(frame: pd.DataFrame, source: str, lines_given: bool = False, system: System = CHI) -> pd.DataFrame:
    """Return a copy with each condition in its canonical unit (``temperature_K`` from °C, ...), every
    target column (NaN where absent) and ``row`` (the row's line number in the file, header = line 1;
    with ``lines_given`` the frame's own ``row`` column holds them, as in the bundled data)."""
    missing = [c for c in system.molecule_columns if c not in frame.columns]
    tasks = system.task_names
    if missing:
        units = "; ".join(f"one of {list(c.units)}" for c in system.conditions)
        raise DataValidationError(
            source,
            [],
            f"missing column(s) {missing}; found {list(frame.columns)}; expected {', '.join(system.molecule_columns)}, "
            f"{units} and any of {list(tasks)}",
        )
    given = {condition.name: condition_column(frame, condition, source) for condition in system.conditions}
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

    for condition in system.conditions:
        column = given[condition.name]
        if column is None:
            out[condition.name] = np.nan
        else:
            out[condition.name] = condition.units[column](numeric(column))
            if column != condition.name:
                out.pop(column)
    for task in tasks:
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
    system_name: str = CHI.name  # a name, not the System: records are pickled to spawned DDP ranks

    @property
    def system(self) -> System:
        from gnnchi.systems import get_system

        return get_system(self.system_name)

    def targets(self) -> np.ndarray:
        """[num_rows, num_tasks] float32 in the system's task order, NaN where missing."""
        return self.table[list(self.system.task_names)].to_numpy(np.float32)

    def conditions(self) -> np.ndarray:
        """[num_rows, num_conditions] float32 in the system's condition order (canonical units)."""
        return self.table[[c.name for c in self.system.conditions]].to_numpy(np.float32)


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


def _target_problems(row: int, targets: dict[str, float], system: System) -> list[RowProblem]:
    """A regression target must be finite; a label 0 or 1 (NaN means missing)."""
    problems = []
    for task in system.tasks:
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
    temperature_range_K: tuple[float, float] | None = None,
    max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
    system: System = CHI,
    condition_ranges: dict[str, tuple[float, float]] | None = None,
) -> tuple[PairRecords, list[RowProblem]]:
    """Check every row of a normalised table; return the good rows and ALL problems found.

    Each condition must lie in its range: ``condition_ranges`` by name, else the declared
    ``valid_range`` (``temperature_range_K`` sets the temperature's). A condition with a declared
    default may be missing in a row whose regression targets are all missing (a label-only row,
    measured at the default); any other missing condition is a problem.
    """
    ranges = {c.name: tuple(c.valid_range) for c in system.conditions}
    ranges.update(condition_ranges or {})
    if temperature_range_K is not None:
        ranges["temperature_K"] = tuple(temperature_range_K)
    tasks = system.task_names
    caches = {m.column: _MoleculeCache(m.kind, max_heavy_atoms) for m in system.molecules}
    regression = system.tasks_of_kind("regression")
    bad_smiles: dict[tuple[str, str], str] = {}
    problems: list[RowProblem] = []
    condition_names = [c.name for c in system.conditions]
    columns = {c: frame[c].to_numpy() for c in ("row", *system.molecule_columns, *condition_names, *tasks)}
    unparsed = frame["_unparsed"].to_numpy() if "_unparsed" in frame.columns else [[]] * len(frame)
    sources = frame["source"].astype(str).to_numpy() if "source" in frame.columns else [""] * len(frame)
    parts = ("idx", "key", "group_key")
    fields: dict[str, list] = {f"{c}_{part}": [] for c in system.molecule_columns for part in parts}
    keep: list[int] = []
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
        targets = {t: columns[t][i] for t in tasks}
        row_problems += _target_problems(row, targets, system)
        has_value = any(np.isfinite(targets[t]) for t in regression)
        if require_target and not any(np.isfinite(targets[t]) for t in tasks):
            row_problems.append(RowProblem(row, "targets", "", f"no target value; give any of {list(tasks)}"))
        for condition in system.conditions:
            value = columns[condition.name][i]
            low, high = ranges[condition.name]
            word = condition.name.split("_")[0]
            if np.isnan(value):
                reported = any(c in condition.units for c, _ in unparsed[i])  # already reported as not a number
                if not reported and (condition.default is None or has_value):
                    target = f" for a {regression[0].split('_')[0]} value" if has_value and condition.default is not None else ""
                    row_problems.append(RowProblem(row, condition.name, "", f"missing {word}{target}"))
            elif not low <= value <= high:
                unit = condition.name.rsplit("_", 1)[-1]
                row_problems.append(RowProblem(row, condition.name, f"{value:g}",
                                               f"outside the plausible range {low:g}-{high:g} {unit}"))  # fmt: skip
        if row_problems:
            problems += [replace(p, source=sources[i]) for p in row_problems] if sources[i] else row_problems
            continue
        keep.append(i)
        for column in system.molecule_columns:
            for part, value in zip(parts, found[column]):
                fields[f"{column}_{part}"].append(value)
    table = frame.iloc[keep].drop(columns="_unparsed", errors="ignore").reset_index(drop=True)
    for name, values in fields.items():
        table[name] = values
    for condition in system.conditions:
        if condition.default is not None:
            table[condition.name] = table[condition.name].fillna(condition.default)
    used = set().union(*(table[c].str.strip() for c in system.molecule_columns))
    warnings = {s: w for cache in caches.values() for s, w in cache.warnings.items() if s in used}
    return PairRecords(table, {c: cache.graphs for c, cache in caches.items()}, warnings, system.name), problems


DUPLICATE_POLICIES = ("keep", "average", "fail")


def repeat_groups(table: pd.DataFrame, task: str, keys: list[pd.Series], what: str) -> tuple[list[pd.Index], list[RowProblem], int]:
    """Rows with a value of ``task`` that share all ``keys`` (series aligned with ``table``; NaN keys match):
    each group of two or more (its index, first row first), one problem per row after the first (naming
    the group's first row, ``same <what> as row N``, and any conflict), and the number of groups whose
    values differ."""
    present = table[task].notna()
    found, problems, conflicts = [], [], 0
    for _, values in table.loc[present, task].groupby([k[present] for k in keys], sort=False, dropna=False):
        if len(values) < 2:
            continue
        conflict = values.max() - values.min() > 1e-9
        conflicts += int(conflict)
        first = table.at[values.index[0], "row"]
        detail = f"; values {sorted(set(values.round(6).tolist()))} conflict" if conflict else ""
        source = (lambda i: str(table.at[i, "source"])) if "source" in table.columns else (lambda i: "")
        problems += [RowProblem(int(table.at[i, "row"]), task, f"{values[i]:g}", f"same {what} as row {first}{detail}",
                                source(i)) for i in values.index[1:]]  # fmt: skip
        found.append(values.index)
    return found, problems, conflicts


def resolve_duplicates(table: pd.DataFrame, policy: str, system: System = CHI) -> tuple[pd.DataFrame, list[RowProblem], int]:
    """Rows that repeat a target of the same task for the same pair (canonical keys) and conditions.

    ``keep`` trains on all of them; ``average`` keeps the first row of each group with the mean chi
    (for ``soluble`` the majority label; a tie drops the label) and drops rows left without a
    target; ``fail`` leaves the table as is for the caller to stop. Returns the table, one problem
    per repeated row (naming the first row of its group and any conflict) and the number of
    groups whose values conflict.
    """
    if policy not in DUPLICATE_POLICIES:
        raise ValueError(f"duplicates must be one of {DUPLICATE_POLICIES}, got {policy!r}")
    table = table.copy()
    keys = [*(table[f"{c}_key"] for c in system.molecule_columns), *(table[c.name].round(4) for c in system.conditions)]
    what = f"pair and {' and '.join(c.name.split('_')[0] for c in system.conditions)}"
    problems, conflicts = [], 0
    for task in system.task_names:
        groups, repeated, conflicting = repeat_groups(table, task, keys, what)
        problems, conflicts = problems + repeated, conflicts + conflicting
        for rows in groups if policy == "average" else ():
            mean = float(table.loc[rows, task].mean())
            if system.task(task).kind == "classification":
                mean = float(round(mean)) if mean != 0.5 else np.nan
            table.loc[rows, task] = np.nan
            table.at[rows[0], task] = mean
    if policy == "average":
        table = table[table[list(system.task_names)].notna().any(axis=1)].reset_index(drop=True)
    return table, problems, conflicts
