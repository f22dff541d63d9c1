import numpy as np
import pandas as pd
import pytest

from gnnchi.data.records import check_pairs, normalize_columns, read_pairs_csv
from gnnchi.errors import DataValidationError


def write(tmp_path, text, name="pairs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_celsius_is_converted_and_targets_are_optional(tmp_path):
    frame = read_pairs_csv(write(tmp_path, "polymer,solvent,temperature_C,chi_exp\n*CC*,CCCCCC,25,0.4\n"))
    assert frame["temperature_K"].iloc[0] == pytest.approx(298.15)
    assert np.isnan(frame["soluble"].iloc[0]) and np.isnan(frame["chi_cosmo"].iloc[0])
    assert frame["row"].iloc[0] == 2


def test_semicolon_delimiter_is_read(tmp_path):
    frame = read_pairs_csv(write(tmp_path, "polymer;solvent;temperature_K;soluble\n*CC*;CCCCCC;298;1\n"))
    assert frame["soluble"].iloc[0] == 1


def test_missing_columns_are_named(tmp_path):
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['solvent'\].*found \['polymer', 'T'\]"):
        read_pairs_csv(write(tmp_path, "polymer,T\n*CC*,300\n"))


def test_both_temperature_columns_are_refused():
    frame = pd.DataFrame({"polymer": ["*CC*"], "solvent": ["C"], "temperature_K": [300], "temperature_C": [27]})
    with pytest.raises(DataValidationError, match="not both"):
        normalize_columns(frame, "x")


def test_every_bad_row_is_reported_at_once():
    frame = normalize_columns(
        pd.DataFrame(
            {
                "polymer": ["*CC*", "CC", "*CC(*)c1ccccc1", "*CC*", "*CC*", "*CC*", "*C1CC*"],
                "solvent": ["CCO", "CCO", "*O", "CCO", "CCO", "O", "CCO"],
                "temperature_K": [300, 300, 300, np.nan, 50, 300, 300],
                "chi_exp": [0.5, 0.5, 0.5, 0.5, 0.5, np.inf, 0.5],
                "soluble": [np.nan, np.nan, np.nan, np.nan, np.nan, 2, np.nan],
            }
        ),
        "test",
    )
    records, problems = check_pairs(frame, "test")
    assert len(records.table) == 1
    by_row = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p)
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8]
    assert "exactly two '*'" in by_row[3][0].reason
    assert by_row[4][0].column == "solvent"
    assert "missing temperature" in by_row[5][0].reason
    assert "outside the plausible range" in by_row[6][0].reason
    assert {p.column for p in by_row[7]} == {"chi_exp", "soluble"}
    assert "cannot parse" in by_row[8][0].reason


def test_a_row_without_any_target_is_bad_for_training():
    frame = normalize_columns(pd.DataFrame({"polymer": ["*CC*"], "solvent": ["C"], "temperature_K": [300]}), "t")
    _, problems = check_pairs(frame, "t")
    assert problems and "no target" in problems[0].reason
    _, problems = check_pairs(frame, "t", require_target=False)
    assert problems == []


def test_solubility_rows_may_lack_a_temperature():
    frame = normalize_columns(pd.DataFrame({"polymer": ["*CC*"], "solvent": ["C"], "soluble": [1]}), "t")
    records, problems = check_pairs(frame, "t")
    assert problems == [] and records.table["temperature_K"].iloc[0] == pytest.approx(298.15)


def test_molecules_are_featurized_once(bundled_records):
    table = bundled_records.table
    assert len(bundled_records.graphs["polymer"]) == table["polymer"].nunique()
    assert len(bundled_records.graphs["solvent"]) == table["solvent"].nunique()


def test_one_column_and_unreadable_files(tmp_path):
    from gnnchi.data.tables import read_csv_table

    one = write(tmp_path, "polymer\n*CC(*)c1ccccc1\n*CCO*\n", "one.csv")
    assert read_csv_table(one)["polymer"].tolist() == ["*CC(*)c1ccccc1", "*CCO*"]
    binary = tmp_path / "bytes.csv"
    binary.write_bytes(b"polymer,solvent\n\xff\xfe\x00bad\n")
    with pytest.raises(DataValidationError, match=r"bytes.csv: cannot read it as CSV") as info:
        read_csv_table(binary)
    assert "bad value" not in str(info.value)
    with pytest.raises(DataValidationError, match="file does not exist"):
        read_csv_table(tmp_path / "nope.csv")


def test_garbled_numbers_are_reported_not_masked(tmp_path):
    path = write(tmp_path, "polymer,solvent,temperature_C,chi_exp,soluble\n"
                           "*CC*,CCCCCC,25,0.4x,1\n*CC*,CCO,25,0.5,yes\n*CC*,O,hot,0.5,\n*CC*,CO,25,0.6,0\n")  # fmt: skip
    records, problems = check_pairs(read_pairs_csv(path), str(path))
    assert [(p.row, p.column, p.value, p.reason) for p in problems] == [
        (2, "chi_exp", "0.4x", "not a number"),
        (3, "soluble", "yes", "not a number"),
        (4, "temperature_C", "hot", "not a number"),
    ]
    assert len(records.table) == 1 and "_unparsed" not in records.table.columns


def test_bundled_rows_name_their_file(bundled_records):
    from gnnchi.data.records import normalize_columns
    from gnnchi.datasets import bundled_pairs

    frame = normalize_columns(bundled_pairs(), "bundled", lines_given=True)
    cosmo = frame[frame["source"] == "mtl_chiparameter/data_COSMO.csv"]
    assert cosmo["row"].tolist() == list(range(2, len(cosmo) + 2))  # file lines, not the index column
    _, problems = check_pairs(frame.head(3), "bundled", temperature_range_K=(400.0, 700.0))
    assert problems and all(p.source == "mtl_chiparameter/data_Chi.csv" for p in problems)
    assert str(problems[0]).startswith("mtl_chiparameter/data_Chi.csv row 2")


def test_a_user_row_column_is_kept_and_does_not_replace_line_numbers(tmp_path):
    frame = read_pairs_csv(write(tmp_path, "row,polymer,solvent,temperature_K,chi_exp\nA7,*CC*,CCCCCC,300,0.4\nB2,CC,C,300,0.4\n"))
    assert frame["row"].tolist() == [2, 3] and frame["row_input"].tolist() == ["A7", "B2"]
    _, problems = check_pairs(frame, "t")
    assert [p.row for p in problems] == [3]


@pytest.mark.parametrize("text", ["", "\n\n", "polymer,solvent,temperature_K,chi_exp\n"])
def test_empty_files_give_a_clear_error_when_training(tmp_path, text):
    from gnnchi.data import ChiDataModule

    with pytest.raises(DataValidationError, match="cannot read it as CSV|no usable row"):
        ChiDataModule(data=str(write(tmp_path, text))).setup("fit")
