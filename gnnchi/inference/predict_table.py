"""``predict`` on a CSV: every input row, in order, with predictions, ``error`` and ``warning`` added."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from gnnchi.data.tables import condition_values, read_text_table, write_csv
from gnnchi.inference.predictor import PREDICTION_COLUMNS, Predictor
from gnnchi.systems.chi import CHI, TEMPERATURE

ROWS_PER_CHUNK = 20_000


def predict_file(predictor: Predictor, source: str, output: str) -> int:
    """Write every input row, in order, with predictions and ``error``; return the number of failed rows."""
    from tqdm.auto import tqdm

    frame = read_text_table(source, list(CHI.molecule_columns))
    temps = condition_values(frame, TEMPERATURE, source)
    chunks = range(0, len(frame), ROWS_PER_CHUNK)
    results = [
        predictor.predict(
            frame["polymer"].iloc[i : i + ROWS_PER_CHUNK].tolist(),
            frame["solvent"].iloc[i : i + ROWS_PER_CHUNK].tolist(),
            temps[i : i + ROWS_PER_CHUNK],
        )
        for i in tqdm(chunks, desc="predict", unit="chunk", disable=len(chunks) < 2)
    ]
    predictions = pd.concat(results, ignore_index=True) if results else pd.DataFrame(
        columns=[*PREDICTION_COLUMNS, "error", "warning"]
    )
    clashes = {c: f"{c}_input" for c in predictions.columns if c in frame.columns}
    out = pd.concat([frame.rename(columns=clashes).reset_index(drop=True), predictions], axis=1)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_csv(out, output)
    failed, warned = int((predictions["error"] != "").sum()), int((predictions["warning"] != "").sum())
    print(f"wrote {len(out)} rows to {output}" + (f"; {failed} row(s) failed, see the error column" if failed else "")
          + (f"; {warned} row(s) have atoms outside the featurizer's vocabulary, see the warning column" if warned else ""))  # fmt: skip
    return failed
