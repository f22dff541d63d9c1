import numpy as np
import pandas as pd
import pytest
import torch

from gnnchi.data import ChiDataModule, IonicLiquidDataModule
from gnnchi.errors import DataValidationError

GOOD = [
    ("*CC(*)c1ccccc1", "Cc1ccccc1", 25, 0.35, "", 1),
    ("*CC(*)c1ccccc1", "CCO", 25, 1.8, "", 0),
    ("*CCO*", "O", 40, 0.45, 0.5, 1),
    ("*CC(*)Cl", "C1CCOC1", 30, 0.3, "", ""),
    ("*CC(*)(C)C(=O)OC", "CC(C)=O", 25, 0.45, 0.4, 1),
    ("*CC*", "CCCCCC", 120, 0.35, "", ""),
    ("*O[Si](C)(C)*", "CCCCCCC", 25, 0.4, "", 1),
    ("*CC(*)C#N", "CN(C)C=O", 25, 0.3, "", 1),
    ("*CC(*)O", "O", 25, 0.49, "", 1),
    ("*CC(*)OC(C)=O", "CO", 25, 1.2, "", 0),
]


def write_csv(path, rows):
    lines = ["polymer,solvent,temperature_C,chi_exp,chi_cosmo,soluble"]
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_user_csv_trains_in_batches(tmp_path):
    dm = ChiDataModule(data=write_csv(tmp_path / "pairs.csv", GOOD), split="pair", num_folds=5, val_fraction=0.2, batch_size=4)
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert batch.targets.shape[1] == 3 and batch.conditions[0].min() > 273
    assert torch.isnan(batch.targets).any()  # missing targets stay missing (masked, never imputed)
    stats = dm.train_statistics()
    assert stats["chi_std"][0] > 0 and np.isfinite(stats["inv_t_mean"])


def test_bad_rows_stop_training_with_every_row_listed(tmp_path):
    rows = GOOD + [("CC", "O", 25, 0.4, "", ""), ("*CC*", "C1CC", 25, 0.4, "", ""), ("*CC*", "O", 900, 0.4, "", "")]
    dm = ChiDataModule(data=write_csv(tmp_path / "pairs.csv", rows))
    with pytest.raises(DataValidationError) as info:
        dm.setup("fit")
    assert [p.row for p in info.value.problems] == [12, 13, 14]
    assert "skip_bad_rows" in str(info.value)


def test_skip_bad_rows_writes_them_to_a_file(tmp_path):
    rows = GOOD + [("CC", "O", 25, 0.4, "", ""), ("*CC*", "C1CC", 25, 0.4, "", "")]
    skipped = tmp_path / "out" / "skipped.csv"
    dm = ChiDataModule(data=write_csv(tmp_path / "pairs.csv", rows), split="pair", skip_bad_rows=True,
                       skipped_rows_file=str(skipped))
    dm.setup("fit")
    assert dm.num_skipped_rows == 2 and dm.summary()["data/skipped_rows"] == 2
    assert len(dm.records.table) == len(GOOD)
    assert "row,column,value,reason" in skipped.read_text() and "C1CC" in skipped.read_text()


def test_task_subset_keeps_the_folds_and_masks_the_other_tasks(tmp_path):
    path = write_csv(tmp_path / "pairs.csv", GOOD)
    full = ChiDataModule(data=path, split="pair", num_folds=3, val_fraction=0.0)
    only = ChiDataModule(data=path, split="pair", num_folds=3, val_fraction=0.0, tasks=["chi_cosmo"])
    full.setup("fit"), only.setup("fit")
    cosmo = full.records.table["chi_cosmo"].notna().to_numpy()
    for part in ("train", "test"):
        np.testing.assert_array_equal(only.indices[part], full.indices[part][cosmo[full.indices[part]]])
    targets = only.dataset("train").targets
    assert np.isnan(targets[:, :2]).all() and not np.isnan(targets[:, 2]).any()
    assert only.train_statistics()["chi_mean"][0] == 0.0  # chi_exp is not trained on
    with pytest.raises(ValueError, match="data.tasks"):
        ChiDataModule(data=path, tasks=["chi"])


DUPLICATED = GOOD + [
    ("c1ccccc1C(*)C*", "Cc1ccccc1", 25, 0.45, "", 1),  # polystyrene written another way: same pair as row 2
    ("*CC(*)c1ccccc1", "Cc1ccccc1", 25, "", "", 0),  # a conflicting label for the same pair
]


@pytest.mark.parametrize("policy", ["keep", "average", "fail"])
def test_duplicated_and_conflicting_rows_follow_the_policy(tmp_path, policy, caplog):
    dm = ChiDataModule(data=write_csv(tmp_path / "pairs.csv", DUPLICATED), split="pair", duplicates=policy)
    if policy == "fail":
        with pytest.raises(DataValidationError) as info:
            dm.setup("fit")
        assert [(p.row, p.column) for p in info.value.problems] == [(12, "soluble"), (13, "soluble"), (12, "chi_exp")]
        assert "same pair and temperature as row 2" in str(info.value) and "conflict" in str(info.value)
        return
    dm.setup("fit")
    assert dm.num_duplicate_rows == 3 and dm.num_conflicting_groups == 2 and "conflict" in caplog.text
    table = dm.records.table
    first = table.iloc[0]
    pairs = table[(table["polymer_key"] == first["polymer_key"]) & (table["solvent_key"] == first["solvent_key"])]
    if policy == "keep":
        assert len(table) == len(DUPLICATED) and sorted(pairs["chi_exp"].dropna()) == [0.35, 0.45]
    else:  # one chi (the mean) and the majority label (1, 1, 0 -> 1)
        assert len(table) == len(GOOD) and pairs["chi_exp"].tolist() == [pytest.approx(0.4)]
        assert pairs["soluble"].tolist() == [1.0]
    assert dm.summary()["data/conflicting_groups"] == 2


BAGGED_SYSTEMS = {  # data module, its grouped split, the columns whose joined values name a group
    "chi": (ChiDataModule, "polymer", ["polymer_group_key"]),
    "co2_il": (IonicLiquidDataModule, "ionic_liquid", ["cation_group_key", "anion_group_key"]),
}


@pytest.mark.parametrize("system", list(BAGGED_SYSTEMS))
def test_bagging_gives_each_member_its_own_share_of_the_training_groups(system):
    """Bundled data, fold 0 of the grouped split (leave-polymer-out, leave-ionic-liquid-out): with
    bagging_fraction 0.5 each member trains on half of the training groups (whole groups: a stereo twin goes
    with its twin), members differ, validation and test rows never move, None gives every training row back,
    and the draw is the same each time."""
    module_class, split, columns = BAGGED_SYSTEMS[system]

    def module(fraction):
        dm = module_class(split=split, test_fold=0, bagging_fraction=fraction)
        dm.setup("fit")
        return dm

    dm = module(0.5)
    table = dm.records.table
    group = table[columns].astype(str).agg("|".join, axis=1)
    all_train, val, test = (dm.indices[p].copy() for p in ("train", "val", "test"))
    groups = set(group.iloc[all_train])
    drawn = []
    for member in (0, 1):
        dm.use_member(member)
        rows = dm.indices["train"]
        kept = set(group.iloc[rows])
        # every row of a kept group is trained on, and nothing else
        expected = all_train[group.iloc[all_train].isin(kept).to_numpy()]
        np.testing.assert_array_equal(np.sort(rows), np.sort(expected))
        assert kept <= groups and len(kept) == round(0.5 * len(groups))
        np.testing.assert_array_equal(dm.indices["val"], val)
        np.testing.assert_array_equal(dm.indices["test"], test)
        drawn.append(kept)
    assert drawn[0] != drawn[1]
    dm.use_member(None)
    np.testing.assert_array_equal(dm.indices["train"], all_train)
    again = module(0.5)
    again.use_member(0)
    assert set(group.iloc[again.indices["train"]]) == drawn[0]
    whole = module(1.0)
    whole.use_member(1)  # no fraction below 1: every member trains on every row
    np.testing.assert_array_equal(whole.indices["train"], all_train)
    with pytest.raises(ValueError, match="bagging_fraction"):
        module_class(bagging_fraction=0.0)


def test_balanced_row_weights_by_hand():
    from gnnchi.data.datamodule import balanced_row_weights

    nan = np.nan
    targets = np.array([[0.1, nan], [0.2, 1.0], [0.3, 1.0], [0.4, 1.0], [0.5, 1.0]], np.float32)
    groups = np.array(["a", "a", "a", "b", "b"])
    weights = balanced_row_weights(targets, groups, np.array([0, 1, 2, 3]), 0.5)  # record 4: not a training row
    # task 0: group a has 3 training rows, b has 1 -> 1/sqrt(3) x 3 and 1, over their mean (sqrt(3) + 1) / 4
    mean = (3 * 3**-0.5 + 1) / 4
    np.testing.assert_allclose(weights[:4, 0], [3**-0.5 / mean] * 3 + [1 / mean], rtol=1e-6)
    # task 1: a has 2 (records 1, 2), b has 1 (record 3); record 0 has no target, record 4 is not trained on
    mean = (2 * 2**-0.5 + 1) / 3
    np.testing.assert_allclose(weights[1:4, 1], [2**-0.5 / mean] * 2 + [1 / mean], rtol=1e-6)
    assert weights[4, 0] == weights[0, 1] == weights[4, 1] == 1.0


def test_polymer_balance_one_gives_every_training_polymer_the_same_chi_weight():
    """Bundled data, leave-polymer-out fold 0: at exponent 1 the chi_exp weights of each polymer's
    training rows (stereo twins together) sum to the same total; labels are not weighted."""
    dm = ChiDataModule(split="polymer", test_fold=0)
    dm.setup("fit")
    weights = dm.balanced_row_weights("polymer", 1.0, ("chi_exp", "chi_cosmo"))
    table, train = dm.records.table, dm.indices["train"]
    rows = train[table["chi_exp"].iloc[train].notna().to_numpy()]
    totals = pd.Series(weights[rows, 1]).groupby(table["polymer_group_key"].iloc[rows].to_numpy()).sum()
    assert len(totals) > 20 and np.allclose(totals, totals.iloc[0])
    assert weights[rows, 1].mean() == pytest.approx(1.0)
    assert (weights[:, 0] == 1.0).all()
