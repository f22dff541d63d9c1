"""Pair tables: read a CSV, normalise its columns, and check every row before any training.

A pair table has one row per (polymer, solvent, temperature) observation with columns
``polymer`` (repeat unit SMILES with two `*`), ``solvent`` (SMILES), exactly one of
``temperature_K`` / ``temperature_C``, and any of the targets ``soluble`` (1 solvent,
0 non-solvent), ``chi_exp`` and ``chi_cosmo`` (missing values allowed: they are masked).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS, canonical_key, make_mol
from gnnchi.errors import DataValidationError, InvalidSmilesError, RowProblem
from gnnchi.featurizers import MolGraph, featurize
from gnnchi.featurizers.atom import vocabulary_warning

CLASS_TASK = "soluble"
CHI_TASKS = ("chi_exp", "chi_cosmo")
TASKS = (CLASS_TASK, *CHI_TASKS)
TEMPERATURE_COLUMNS = ("temperature_K", "temperature_C")
ROOM_TEMPERATURE_K = 298.15  # used for rows that carry only a solubility label and no temperature
DEFAULT_TEMPERATURE_RANGE_K = (150.0, 700.0)


def read_csv_table(path: str | Path, **kwargs) -> pd.DataFrame:
    """A CSV with its delimiter sniffed (``,``, ``;``, tab...); a one-column file needs none."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(str(path), [], "file does not exist")
    try:
        with open(path, encoding="utf-8", newline="") as file:
            sample = file.read(65536)
        try:
            delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
        except csv.Error:  # one column, or nothing to go by
            delimiter = ","
        return pd.read_csv(path, sep=delimiter, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataValidationError(str(path), [], f"cannot read it as CSV ({str(err).splitlines()[0]})") from None


def read_pairs_csv(path: str | Path) -> pd.DataFrame:
    """Read a pair table and normalise it with :func:`normalize_columns`."""
    frame = read_csv_table(path, dtype={"polymer": str, "solvent": str})
    return normalize_columns(frame, str(path))


def temperature_column(frame: pd.DataFrame, source: str, required: bool = False) -> str | None:
    """The table's temperature column (its name gives the unit); refuses both, and none if ``required``."""
    found = [c for c in TEMPERATURE_COLUMNS if c in frame.columns]
    if len(found) > 1:
        raise DataValidationError(source, [], "give one temperature column, temperature_K or temperature_C, not both")
    if not found and required:
        raise DataValidationError(
            source, [], f"give exactly one of temperature_K / temperature_C; found {list(frame.columns)}"
        )
    return found[0] if found else None


def to_kelvin(values, column: str):
    """Temperatures from ``column`` (``temperature_K`` or ``temperature_C``) in kelvin."""
    return values + 273.15 if column == "temperature_C" else values


def normalize_columns(frame: pd.DataFrame, source: str, lines_given: bool = False) -> pd.DataFrame:
    """Return a copy with ``temperature_K`` (converted from °C if needed), every target column
    (NaN where absent) and ``row`` (the row's line number in the file, header = line 1; with
    ``lines_given`` the frame's own ``row`` column holds them, as in the bundled data)."""
    missing = [c for c in ("polymer", "solvent") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            source,
            [],
            f"missing column(s) {missing}; found {list(frame.columns)}; expected polymer, solvent, "
            f"one of {list(TEMPERATURE_COLUMNS)} and any of {list(TASKS)}",
        )
    temperature = temperature_column(frame, source)
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
        out["temperature_K"] = np.nan
    else:
        out["temperature_K"] = to_kelvin(numeric(temperature), temperature)
        if temperature != "temperature_K":
            out.pop(temperature)
    for task in TASKS:
        out[task] = numeric(task) if task in out.columns else np.nan
    out["_unparsed"] = unparsed
    return out


@dataclass
class PairRecords:
    """Checked pairs: each row refers to a unique polymer and solvent graph.

    table: the input rows that passed, with ``polymer_idx``, ``solvent_idx``, ``polymer_key``,
    ``solvent_key`` and ``temperature_K`` filled; polymers/solvents: graphs by index.
    """

    table: pd.DataFrame
    polymers: list[MolGraph]
    solvents: list[MolGraph]
    vocabulary_warnings: dict[str, str] = field(default_factory=dict)  # SMILES -> what is unknown

    def targets(self) -> np.ndarray:
        """[num_rows, len(TASKS)] float32, NaN where missing."""
        return self.table[list(TASKS)].to_numpy(np.float32)


class _MoleculeCache:
    """Parse and featurize each distinct SMILES once."""

    def __init__(self, kind: str, max_heavy_atoms: int):
        self.kind, self.max_heavy_atoms = kind, max_heavy_atoms
        self.index: dict[str, tuple[int, str]] = {}
        self.graphs: list[MolGraph] = []
        self.warnings: dict[str, str] = {}

    def get(self, smiles: str, row: int) -> tuple[int, str]:
        if smiles not in self.index:
            mol = make_mol(smiles, self.kind, row, self.max_heavy_atoms)  # raises with the first row it meets
            self.index[smiles] = (len(self.graphs), canonical_key(mol, self.kind))
            self.graphs.append(featurize(mol))
            warning = vocabulary_warning(mol)
            if warning:
                self.warnings[smiles] = warning
        return self.index[smiles]


def check_pairs(
    frame: pd.DataFrame,
    source: str,
    require_target: bool = True,
    temperature_range_K: tuple[float, float] = DEFAULT_TEMPERATURE_RANGE_K,
    max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
) -> tuple[PairRecords, list[RowProblem]]:
    """Check every row of a normalised table; return the good rows and ALL problems found."""
    polymers = _MoleculeCache("polymer", max_heavy_atoms)
    solvents = _MoleculeCache("solvent", max_heavy_atoms)
    bad_smiles: dict[tuple[str, str], str] = {}
    problems: list[RowProblem] = []
    columns = {c: frame[c].to_numpy() for c in ("row", "polymer", "solvent", "temperature_K", *TASKS)}
    unparsed = frame["_unparsed"].to_numpy() if "_unparsed" in frame.columns else [[]] * len(frame)
    sources = frame["source"].astype(str).to_numpy() if "source" in frame.columns else [""] * len(frame)
    fields: dict[str, list] = {"polymer_idx": [], "solvent_idx": [], "polymer_key": [], "solvent_key": []}
    keep: list[int] = []
    low, high = temperature_range_K
    for i in range(len(frame)):
        row = int(columns["row"][i])
        row_problems = [RowProblem(row, column, text, "not a number") for column, text in unparsed[i]]
        found = {}
        for kind, cache in (("polymer", polymers), ("solvent", solvents)):
            smiles = columns[kind][i]
            smiles = smiles.strip() if isinstance(smiles, str) else ""
            if (kind, smiles) in bad_smiles:
                row_problems.append(RowProblem(row, kind, smiles, bad_smiles[(kind, smiles)]))
                continue
            try:
                found[kind] = cache.get(smiles, row)
            except InvalidSmilesError as err:
                bad_smiles[(kind, smiles)] = err.reason
                row_problems.append(RowProblem(row, kind, smiles, err.reason))
        targets = {t: columns[t][i] for t in TASKS}
        for task in CHI_TASKS:
            if np.isinf(targets[task]):
                row_problems.append(RowProblem(row, task, str(targets[task]), "chi must be a finite number"))
        if not np.isnan(targets[CLASS_TASK]) and targets[CLASS_TASK] not in (0.0, 1.0):
            row_problems.append(RowProblem(row, CLASS_TASK, str(targets[CLASS_TASK]), "soluble must be 0 or 1"))
        has_chi = any(np.isfinite(targets[t]) for t in CHI_TASKS)
        if require_target and not has_chi and np.isnan(targets[CLASS_TASK]):
            row_problems.append(RowProblem(row, "targets", "", f"no target value; give any of {list(TASKS)}"))
        temperature = columns["temperature_K"][i]
        if np.isnan(temperature):
            if has_chi and not any(c in TEMPERATURE_COLUMNS for c, _ in unparsed[i]):  # reported as not a number
                row_problems.append(RowProblem(row, "temperature_K", "", "missing temperature for a chi value"))
        elif not low <= temperature <= high:
            row_problems.append(
                RowProblem(row, "temperature_K", f"{temperature:g}", f"outside the plausible range {low:g}-{high:g} K")
            )
        if row_problems:
            problems += [replace(p, source=sources[i]) for p in row_problems] if sources[i] else row_problems
            continue
        keep.append(i)
        for kind in ("polymer", "solvent"):
            fields[f"{kind}_idx"].append(found[kind][0])
            fields[f"{kind}_key"].append(found[kind][1])
    table = frame.iloc[keep].drop(columns="_unparsed", errors="ignore").reset_index(drop=True)
    for name, values in fields.items():
        table[name] = values
    table["temperature_K"] = table["temperature_K"].fillna(ROOM_TEMPERATURE_K)
    used = set(table["polymer"].str.strip()) | set(table["solvent"].str.strip())
    warnings = {s: w for cache in (polymers, solvents) for s, w in cache.warnings.items() if s in used}
    return PairRecords(table, polymers.graphs, solvents.graphs, warnings), problems


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
    keys = [table["polymer_key"], table["solvent_key"], table["temperature_K"].round(2)]
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
                if task == CLASS_TASK:
                    mean = float(round(mean)) if mean != 0.5 else np.nan
                table.loc[values.index, task] = np.nan
                table.at[values.index[0], task] = mean
    if policy == "average":
        table = table[table[list(TASKS)].notna().any(axis=1)].reset_index(drop=True)
    return table, problems, conflicts
