"""Leakage is a bug: no group (pair, polymer or solvent) may reach two of train/val/test."""

import numpy as np
import pandas as pd
import pytest

from gnnchi.data.splits import SPLITS, assign_folds, group_keys, split_indices
from gnnchi.datasets import load_chi_exp


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("test_fold", [0, 3])
def test_no_group_crosses_train_val_test(bundled_records, split, test_fold):
    table = bundled_records.table
    parts = split_indices(table, split, test_fold, num_folds=5, val_fraction=0.1, seed=0)
    assert sum(len(p) for p in parts.values()) == len(table)
    assert len(np.intersect1d(parts["train"], parts["test"])) == 0
    for column in {"paper": ["pair"], "pair": ["pair"], "polymer": ["polymer_key"], "solvent": ["solvent_key"]}[split]:
        keys = (table["polymer_key"] + "|" + table["solvent_key"]) if column == "pair" else table[column]
        train, val, test = (set(keys.iloc[parts[p]]) for p in ("train", "val", "test"))
        assert not train & test and not train & val and not val & test
    assert len(parts["val"]) > 0 and len(parts["test"]) > 0


@pytest.mark.parametrize("split, key", [("paper", None), ("polymer", "polymer_key"), ("solvent", "solvent_key")])
def test_other_tasks_sharing_a_test_group_never_train(bundled_records, split, key):
    table = bundled_records.table
    parts = split_indices(table, split, 0)
    test_chi = table.iloc[parts["test"]]
    test_chi = test_chi[test_chi["chi_exp"].notna()]
    train = table.iloc[parts["train"]]
    if key is None:
        test_pairs = set(zip(test_chi["polymer_key"], test_chi["solvent_key"]))
        leaked = [p for p in zip(train["polymer_key"], train["solvent_key"]) if p in test_pairs]
        # COSMO-RS rows exist for most chi_exp pairs: the check is not vacuous
        cosmo_of_test_pairs = table[table["chi_cosmo"].notna()]
        assert any(p in test_pairs for p in zip(cosmo_of_test_pairs["polymer_key"], cosmo_of_test_pairs["solvent_key"]))
    else:
        leaked = set(train[key]) & set(test_chi[key])
    assert not leaked


def test_paper_split_uses_the_papers_test_fold(bundled_records):
    table = bundled_records.table
    parts = split_indices(table, "paper", 2)
    test = table.iloc[parts["test"]]
    chi = load_chi_exp()
    expected = set(chi.loc[chi["fold"] == 2, "row"])
    got = set(test.loc[test["source"] == "mtl_chiparameter/data_Chi.csv", "row"])
    assert got == expected


def test_folds_are_reproducible_and_balanced(bundled_records):
    table = bundled_records.table
    a = assign_folds(table, "polymer", 5, seed=3)
    assert (a == assign_folds(table, "polymer", 5, seed=3)).all()
    assert not (a == assign_folds(table, "polymer", 5, seed=4)).all()
    counts = np.bincount(a, minlength=5)
    assert counts.min() > 0.8 * counts.max()


def test_split_across_given_folds_is_refused():
    table = pd.DataFrame({"polymer_key": ["a", "a"], "solvent_key": ["x", "x"], "fold": [0.0, 1.0]})
    with pytest.raises(ValueError, match="split across"):
        assign_folds(table, "paper", 5, 0)


def test_group_keys_rejects_unknown_split():
    with pytest.raises(ValueError, match="unknown split"):
        group_keys(pd.DataFrame({"polymer_key": [], "solvent_key": []}), "scaffold")


@pytest.mark.parametrize("split", ["paper", "polymer"])
def test_inner_validation_draws_move_inside_the_training_folds_only(bundled_records, split):
    table = bundled_records.table
    draws = [split_indices(table, split, 2, num_folds=5, val_fraction=0.2, seed=0, val_seed=s) for s in (10, 11)]
    np.testing.assert_array_equal(draws[0]["test"], draws[1]["test"])  # the outer test fold stays put
    assert set(draws[0]["val"]) != set(draws[1]["val"])
    groups = group_keys(table, split)
    for parts in draws:
        assert not set(groups.iloc[parts["val"]]) & set(groups.iloc[parts["test"]])
    default = split_indices(table, split, 2, num_folds=5, val_fraction=0.2, seed=0)
    np.testing.assert_array_equal(default["val"], split_indices(table, split, 2, 5, 0.2, 0, val_seed=1)["val"])
