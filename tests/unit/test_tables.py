"""The CSV contract of gnnchi.data.tables: cells written back as read, rows kept whole, floats short."""

import io

import numpy as np
import pandas as pd
import pytest

from gnnchi.data.tables import condition_values, read_text_table, write_csv
from gnnchi.errors import DataValidationError
from gnnchi.systems.chi import TEMPERATURE


def test_write_csv_keeps_text_cells_and_rows_whole_and_floats_at_6_significant_digits(tmp_path):
    frame = pd.DataFrame({"id": ["007", "25", "a\rb", "c\nd", 'say "x"', "1,5"],
                          "value": [1 / 3, np.nan, 123456789.0, -2.5e-7, 2.0, 0.1]})  # fmt: skip
    stream = io.StringIO()
    write_csv(frame, stream)
    assert stream.getvalue() == (
        'id,value\r\n007,0.333333\r\n25,\r\n"a\rb",1.23457e+08\r\n"c\nd",-2.5e-07\r\n"say ""x""",2\r\n"1,5",0.1\r\n'
    )
    write_csv(frame, tmp_path / "sub" / "t.csv")
    back = read_text_table(tmp_path / "sub" / "t.csv", ["id"])
    assert back["id"].tolist() == frame["id"].tolist()  # six rows: the bare \r did not split one


def test_condition_values_from_a_named_column_and_unit():
    frame = pd.DataFrame({"T": ["25", "x", ""], "temperature_C": ["0", "1", "2"]})
    np.testing.assert_allclose(condition_values(frame, TEMPERATURE, "t", "T", "C"), [298.15, np.nan, np.nan])
    np.testing.assert_allclose(condition_values(frame, TEMPERATURE, "t", "T", "K"), [25.0, np.nan, np.nan])
    np.testing.assert_allclose(condition_values(frame, TEMPERATURE, "t"), [273.15, 274.15, 275.15])
    with pytest.raises(DataValidationError, match="say the unit of column 'T'"):
        condition_values(frame, TEMPERATURE, "t", "T")
    with pytest.raises(DataValidationError, match="missing column 'T_C'"):
        condition_values(frame, TEMPERATURE, "t", "T_C", "C")
