"""Grouped splits: every row of every task that shares a group lands in the same fold.

Groups: the molecule columns the system names for the split (chi: ``pair`` (polymer, solvent),
``polymer`` or ``solvent``; a split with no columns, such as ``rows``, groups nothing: each row is
its own group), by the molecules' group keys
(``<column>_group_key``: canonical keys without stereo, so stereo twins such as ``*C/C=C/C*`` and
``*CC=CC*`` always share a fold). The ``paper`` split is pair-grouped with the paper's test folds
(column ``fold``, for chi_exp) and folds drawn at random for pairs the paper does not cover; where
the given folds put stereo twins of a pair apart, the group takes the fold given to most of its
rows (ties: the lowest fold). Validation is drawn from the training groups.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from gnnchi.errors import SplitError
from gnnchi.systems import CHI, System

SplitName = Literal["paper", "pair", "polymer", "solvent"]
SPLITS = tuple(CHI.splits)
SPLIT_POLICY = 2  # bump when the same seed may draw other folds (2: stereo twins grouped together)
log = logging.getLogger(__name__)
_warned: set[str] = set()  # each fold-moving warning once per process (evaluate and tune split many times)


def group_keys(table: pd.DataFrame, split: SplitName, system: System = CHI) -> pd.Series:
    """The group of each row: the group keys (``<column>_group_key``, canonical keys without
    stereo, :func:`gnnchi.chem.group_key`) of the split's molecule columns, as the system declares
    them: spelling variants and stereo twins of a molecule share a group."""
    return _joined_keys(table, split, "group_key", system)


def _joined_keys(table: pd.DataFrame, split: SplitName, part: str, system: System = CHI) -> pd.Series:
    if split not in system.splits:
        raise SplitError(f"unknown split {split!r}; choose one of {tuple(system.splits)}")
    if not system.splits[split]:  # every row its own group
        return pd.Series(np.arange(len(table)).astype(str), index=table.index)
    columns = [f"{column}_{part}" for column in system.splits[split]]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SplitError(f"the table has no {missing} column(s); tables from records.check_pairs carry them")
    keys = table[columns[0]]
    for column in columns[1:]:
        keys = keys + "|" + table[column]
    return keys


def _given_folds(table: pd.DataFrame, groups: pd.Series, split: SplitName) -> dict[str, int]:
    """Fold of each group that the table's ``fold`` column covers. Each pair (canonical keys) must
    have one given fold; stereo twins of a pair given different folds all go to the fold given to
    most of the group's rows (ties: the lowest), with a warning counting the rows moved."""
    has_fold = table["fold"].notna().to_numpy()
    given = pd.DataFrame(
        {"pair": _joined_keys(table, split, "key")[has_fold], "group": groups[has_fold],
         "fold": table["fold"][has_fold].astype(int)}  # fmt: skip
    )
    per_pair = given.drop_duplicates(["pair", "fold"])
    clash = per_pair["pair"][per_pair["pair"].duplicated()].tolist()
    if clash:
        raise SplitError(f"pairs split across the given folds: {clash[:5]}")
    fold_of, moved, split_groups = {}, 0, 0
    for group, folds in given.groupby("group", sort=False)["fold"]:
        counts = folds.value_counts()
        fold_of[group] = int(counts[counts == counts.max()].index.min())
        if len(counts) > 1:
            moved += int((folds != fold_of[group]).sum())
            split_groups += 1
    if moved:
        message = (
            f"the given folds put stereo twins of {split_groups} pair(s) apart; {moved} row(s) moved to the fold "
            "given to most of their group's rows (ties: the lowest fold)"
        )
        if message not in _warned:
            _warned.add(message)
            log.warning(message)
    return fold_of


def assign_folds(table: pd.DataFrame, split: SplitName, num_folds: int, seed: int, system: System = CHI) -> np.ndarray:
    """Fold (0..num_folds-1) of each row; groups are balanced by row count."""
    groups = group_keys(table, split, system)
    sizes = groups.value_counts()
    fold_of: dict[str, int] = {}
    if split == "paper":
        fold_of = _given_folds(table, groups, split)
        if fold_of and max(fold_of.values()) >= num_folds:
            raise SplitError(f"the data's folds go up to {max(fold_of.values())}; num_folds is {num_folds}")
    load = np.zeros(num_folds)
    for group, fold in fold_of.items():
        load[fold] += sizes[group]
    free = [g for g in sizes.index if g not in fold_of]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(free))
    # largest groups first (random order among equals), each to the lightest fold so far
    for i in sorted(order, key=lambda i: -sizes[free[i]]):
        fold = int(np.argmin(load + rng.random(num_folds) * 1e-6))
        fold_of[free[i]] = fold
        load[fold] += sizes[free[i]]
    return groups.map(fold_of).to_numpy(int)


def split_indices(
    table: pd.DataFrame,
    split: SplitName,
    test_fold: int | None,
    num_folds: int = 5,
    val_fraction: float = 0.1,
    seed: int = 0,
    val_seed: int | None = None,
    system: System = CHI,
) -> dict[str, np.ndarray]:
    """Row indices of ``train``, ``val`` and ``test``; no group is in two of them. ``test_fold``
    None: no test rows (a model trained on every row but the validation groups).

    ``seed`` draws the folds; ``val_seed`` (default ``seed + 1``) draws the validation groups
    from the training folds, so inner validation sets can vary while the test fold stays put.
    """
    if test_fold is not None and not 0 <= test_fold < num_folds:
        raise SplitError(f"test_fold must be in 0..{num_folds - 1} (or null: no test rows), got {test_fold}")
    folds = assign_folds(table, split, num_folds, seed, system)
    test = np.flatnonzero(folds == test_fold) if test_fold is not None else np.zeros(0, dtype=int)
    rest = np.flatnonzero(folds != test_fold) if test_fold is not None else np.arange(len(table))
    groups = group_keys(table, split, system).to_numpy()
    rest_groups = pd.unique(groups[rest])
    rng = np.random.default_rng(seed + 1 if val_seed is None else val_seed)
    rest_groups = rest_groups[rng.permutation(len(rest_groups))]
    sizes = pd.Series(groups[rest]).value_counts()
    taken = np.cumsum(sizes[rest_groups].to_numpy())
    val_groups = set(rest_groups[: int(np.searchsorted(taken, val_fraction * len(rest))) + 1]) if val_fraction else set()
    in_val = np.isin(groups[rest], list(val_groups))
    return {"train": rest[~in_val], "val": rest[in_val], "test": test}
