"""Tables in and out: CSV with a sniffed delimiter, condition columns whose name gives the unit,
and CSV output that keeps every row whole. Used by training data and by predict/screen alike."""

from __future__ import annotations

import csv
import sys
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


def read_text_table(path: str | Path, needed: list[str], hint: str = "") -> pd.DataFrame:
    """Every cell as text, so an output repeats the input exactly; names the missing columns (then ``hint``)."""
    frame = read_csv_table(path, dtype=str, keep_default_na=False)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        found = f"missing column(s) {missing}; found {list(frame.columns)}"
        raise DataValidationError(str(path), [], f"{found} {hint}".strip())
    return frame


STDOUT = "-"  # the output name that means standard output
FLOAT_FORMAT = "%.6g"  # numbers gnnchi computes: 6 significant digits
LINE_END = "\r\n"  # RFC 4180; the csv module quotes a cell holding either character, so a bare \r stays in its row


def write_csv(frame: pd.DataFrame, output) -> None:
    """The table as CSV to a path, ``"-"`` (standard output) or an open text stream.

    Cells given as text (a user's input, read by :func:`read_text_table`) are written back as they
    were: quoted only where they hold the delimiter, a quote or a line break (\\r or \\n, so a bare
    carriage return cannot split a row). Floats get 6 significant digits; NaN is an empty cell."""
    options = dict(index=False, quoting=csv.QUOTE_MINIMAL, lineterminator=LINE_END, float_format=FLOAT_FORMAT)
    if isinstance(output, (str, Path)) and str(output) != STDOUT:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(output, **options)
        return
    stream = sys.stdout if isinstance(output, (str, Path)) else output
    frame.to_csv(stream, **options)
    stream.flush()  # a closed pipe shows here, inside the caller's handler, not at interpreter exit


def with_added_columns(frame: pd.DataFrame, added: pd.DataFrame) -> pd.DataFrame:
    """The input rows as given, then ``added`` row by row; a user's column that has the name of an
    added one becomes ``<name>_input``."""
    clashes = {c: f"{c}_input" for c in added.columns if c in frame.columns}
    return pd.concat([frame.rename(columns=clashes).reset_index(drop=True), added.reset_index(drop=True)], axis=1)


def say_written(output, message: str) -> None:
    """``message`` with ``{where}`` as the output (``stdout`` for ``-``), on standard error when the table
    itself went to standard output."""
    to_stdout = str(output) == STDOUT
    print(message.format(where="stdout" if to_stdout else output), file=sys.stderr if to_stdout else sys.stdout)


def row_problems(table) -> tuple[int, str]:
    """The rows of an output ``table`` with an ``error``, and "; N row(s) failed ...; M with a warning ..."
    (empty where none) to end the message of :func:`say_written`."""
    failed, warned = int((table["error"] != "").sum()), int((table["warning"] != "").sum())
    text = (f"; {failed} row(s) failed, see the error column" if failed else "") + (
        f"; {warned} row(s) with a warning (atoms outside the featurizer's vocabulary, or a molecule unlike "
        "the training data), see the warning column" if warned else ""
    )
    return failed, text


def output_beside(source: str | Path, suffix: str) -> Path:
    """The default output of a verb that reads ``source``: ``<stem><suffix>.csv`` in the same folder."""
    source = Path(source)
    return source.with_name(f"{source.stem}{suffix}.csv")


def condition_column(
    frame: pd.DataFrame, condition: Condition, source: str, required: bool = False, hint: str = ""
) -> str | None:
    """The table's column for ``condition`` (its name gives the unit); refuses two, and none if ``required``
    (then says ``hint`` too)."""
    found = [c for c in condition.units if c in frame.columns]
    names = " or ".join(condition.units)
    if len(found) > 1:
        raise DataValidationError(source, [], f"give one {condition.name.split('_')[0]} column, {names}, not both")
    if not found and required:
        missing = f"give exactly one of {' / '.join(condition.units)}; found {list(frame.columns)}"
        raise DataValidationError(source, [], f"{missing} {hint}".strip())
    return found[0] if found else None


def condition_units(condition: Condition) -> dict[str, str]:
    """Unit -> canonical-unit column: {"K": "temperature_K", "C": "temperature_C"}."""
    return {name.rsplit("_", 1)[-1]: name for name in condition.units}


def condition_values(
    frame: pd.DataFrame,
    condition: Condition,
    source: str,
    column: str | None = None,
    unit: str | None = None,
    hint: str = "",
) -> np.ndarray:
    """The condition of every row in its canonical unit (NaN where a cell is empty or not a number).

    By default the column is the one named for a unit (``temperature_K`` or ``temperature_C``).
    ``column`` names the table's own column instead; ``unit`` (e.g. ``"C"``) then says its unit,
    unless the column's name does."""
    if column is None:
        column = name = condition_column(frame, condition, source, required=True, hint=hint)
    else:
        units = condition_units(condition)
        if column not in frame.columns:
            raise DataValidationError(source, [], f"missing column {column!r}; found {list(frame.columns)}")
        if unit is None and column not in condition.units:
            raise DataValidationError(source, [], f"say the unit of column {column!r}: one of {list(units)}")
        if unit is not None and unit not in units:
            raise DataValidationError(source, [], f"unknown unit {unit!r} of column {column!r}: one of {list(units)}")
        name = units[unit] if unit is not None else column
    return condition.units[name](pd.to_numeric(frame[column], errors="coerce").to_numpy(float))
