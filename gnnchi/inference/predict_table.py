"""``predict`` on a CSV: every input row, in order, its cells as given, with predictions, ``error`` and
``warning`` added."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.data.tables import (
    condition_values,
    output_beside,
    read_text_table,
    row_problems,
    say_written,
    with_added_columns,
    write_csv,
)
from gnnchi.errors import DataValidationError
from gnnchi.inference.predictor import PREDICTION_COLUMNS, Predictor
from gnnchi.systems.chi import CHI, TEMPERATURE

ROWS_PER_CHUNK = 20_000
ADDED_COLUMNS = [*PREDICTION_COLUMNS, "error", "warning"]
MAPPING_HINT = "(name your own columns with --polymer_column, --solvent_column, --temperature_column)"


def predict_file(
    predictor: Predictor,
    source: str,
    output: str | Path | None = None,
    columns: dict[str, str] | None = None,
    temperature_unit: str | None = None,
    temperature_K: float | None = None,
) -> int:
    """Write every input row, in order and as given, then the predictions, ``error`` and ``warning``;
    return the number of failed rows.

    output: a path, ``"-"`` (standard output; the message then goes to standard error), or None
    (``<input stem>_preds.csv`` beside the input).
    columns: the table's own column for a role, e.g. ``{"polymer": "SMILES_P", "temperature": "T_C"}``
    (default: ``polymer``, ``solvent``, and ``temperature_K`` or ``temperature_C``).
    temperature_unit: ``"K"`` or ``"C"``, the unit of ``columns["temperature"]`` (needed unless that
    column is named ``temperature_K`` or ``temperature_C``).
    temperature_K: one temperature for every row, for a table without a temperature column.
    """
    columns = {role: name for role, name in (columns or {}).items() if name}
    molecules = [columns.get(role, role) for role in CHI.molecule_columns]
    frame = read_text_table(source, molecules + ([columns["temperature"]] if "temperature" in columns else []),
                            hint=MAPPING_HINT)  # fmt: skip
    if temperature_K is None:
        temps = condition_values(frame, TEMPERATURE, source, columns.get("temperature"), temperature_unit,
                                 hint=f"or give one temperature for every row with --temperature_K or --temperature_C "
                                 f"{MAPPING_HINT}")  # fmt: skip
    else:
        present = [c for c in (columns.get("temperature"), *TEMPERATURE.units) if c in frame.columns]
        if present:
            raise DataValidationError(source, [], f"has a temperature column ({present[0]!r}) and one temperature "
                                      "was given for every row: give one or the other")  # fmt: skip
        temps = np.full(len(frame), float(temperature_K))
    inputs = [frame[molecules[0]].tolist(), frame[molecules[1]].tolist(), temps]
    return _write_predictions(predictor, frame, inputs, ADDED_COLUMNS, source, output)


def predict_ionic_liquid_file(predictor, source: str, output: str | Path | None = None) -> int:
    """``predict`` for a co2_il model: a CSV with columns ``cation``, ``anion``, ``temperature_K`` (or
    ``temperature_C``) and ``pressure_kPa`` (or ``pressure_bar``, ``pressure_MPa``); every row, in order
    and as given, then ``x_co2``, ``x_co2_std``, ``error`` and ``warning``. Returns the failed rows."""
    from gnnchi.systems import CO2_IL

    frame = read_text_table(source, list(CO2_IL.molecule_columns))
    conditions = [condition_values(frame, condition, source) for condition in CO2_IL.conditions]
    inputs = [*(frame[column].tolist() for column in CO2_IL.molecule_columns), *conditions]
    return _write_predictions(predictor, frame, inputs, ["x_co2", "x_co2_std", "error", "warning"], source, output)


def _write_predictions(predictor, frame: pd.DataFrame, inputs: list, added: list[str], source, output) -> int:
    """Predict ``inputs`` (the predictor's positional arguments, one entry per row each) in chunks, write
    the frame with the ``added`` columns beside it, say where; return the number of failed rows."""
    from tqdm.auto import tqdm

    chunks = range(0, len(frame), ROWS_PER_CHUNK)
    results = [
        predictor.predict(*(values[i : i + ROWS_PER_CHUNK] for values in inputs))[added]
        for i in tqdm(chunks, desc="predict", unit="chunk", disable=len(chunks) < 2)
    ]
    predictions = pd.concat(results, ignore_index=True) if results else pd.DataFrame(columns=added)
    out = with_added_columns(frame, predictions)
    output = output_beside(source, "_preds") if output is None else output
    write_csv(out, output)
    failed, problems = row_problems(predictions)
    say_written(output, f"wrote {len(out)} rows to {{where}}{problems}")
    return failed
