"""Tables in and out: CSV with a sniffed delimiter, condition columns whose name gives the unit,
and CSV output that keeps every row whole. Used by training data and by predict/screen alike."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.errors import DataValidationError
from gnnchi.systems.base import Condition


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


def read_text_table(path: str | Path, needed: list[str]) -> pd.DataFrame:
    """Every cell as text, so an output repeats the input exactly; names the missing columns."""
    frame = read_csv_table(path, dtype=str, keep_default_na=False)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataValidationError(str(path), [], f"missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def write_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Text cells quoted, so a user's cell holding a line break (even a bare \\r) stays in its row."""
    frame.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)


def condition_column(frame: pd.DataFrame, condition: Condition, source: str, required: bool = False) -> str | None:
    """The table's column for ``condition`` (its name gives the unit); refuses two, and none if ``required``."""
    found = [c for c in condition.units if c in frame.columns]
    names = " or ".join(condition.units)
    if len(found) > 1:
        raise DataValidationError(source, [], f"give one {condition.name.split('_')[0]} column, {names}, not both")
    if not found and required:
        raise DataValidationError(source, [], f"give exactly one of {' / '.join(condition.units)}; found {list(frame.columns)}")
    return found[0] if found else None


def condition_values(frame: pd.DataFrame, condition: Condition, source: str) -> np.ndarray:
    """The condition of every row in its canonical unit (NaN where a cell is empty or not a number)."""
    column = condition_column(frame, condition, source, required=True)
    return condition.units[column](pd.to_numeric(frame[column], errors="coerce").to_numpy(float))
