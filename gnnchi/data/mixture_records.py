"""Mixture tables (the electrolyte system): read and check records of up to four components with their
mole fractions, featurize each distinct compound once, and resolve repeats (numpy and RDKit only; the
batches and the data module are in :mod:`gnnchi.data.mixtures`).

A mixture table has ``component_1..n`` (SMILES), ``fraction_1..n`` (mole fractions), optionally
``role_1..n`` (``polymer``, ``salt``, ``additive``; inferred from the SMILES where absent,
:func:`gnnchi.datasets.electrolytes.infer_role`), ``mn_g_mol`` (the polymer's Mn; may be missing),
``temperature_K`` or ``temperature_C``, and the target ``log10_conductivity_S_cm`` (missing allowed for
formulations to predict). Every row goes through :func:`gnnchi.datasets.electrolytes.check_electrolytes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.records import DUPLICATE_POLICIES, repeat_groups
from gnnchi.data.tables import condition_column, read_csv_table
from gnnchi.datasets import electrolytes
from gnnchi.errors import DataValidationError, RowProblem
from gnnchi.featurizers import MolGraph, featurize
from gnnchi.systems.electrolyte import ELECTROLYTE, MAX_COMPONENTS, MOLECULAR_WEIGHT, TARGET, TEMPERATURE

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
    groups, problems, conflicts = repeat_groups(table, TARGET, [identity[c] for c in identity.columns],
                                                "mixture, Mn and temperature")  # fmt: skip
    if policy == "average":
        for rows in groups:
            table.at[rows[0], TARGET] = float(table.loc[rows, TARGET].mean())
        table = table.drop(index=[i for rows in groups for i in rows[1:]]).reset_index(drop=True)
    return table, problems, conflicts
