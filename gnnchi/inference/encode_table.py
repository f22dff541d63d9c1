"""``encode`` on a CSV: each molecule's learned Hansen-like coordinates ``u`` and ``r``, every input
row in order, with ``error`` and ``warning`` added. numpy and pandas only (torch only for checkpoints).

Column names: ``u_1 .. u_k, r_1 .. r_k`` for one model. For an ensemble of n, each member's own
coordinates, ``m0_u_1 .. m0_r_k``, ``m1_u_1 ..``, and no mean: each member learns its own axes.
z_i = (u_p,i - u_s,i)^2 - r_p,i^2 - r_s,i^2 and the head's map of z do not change when a member's
axes are permuted, when u_i is shifted or its sign flipped (for polymers and solvents alike), or
when an axis is scaled and its head weight rescaled; so axis i of one member and axis i of another
are unrelated, and their mean or std would mix unrelated numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gnnchi.data.tables import output_beside, read_text_table, row_problems, say_written, with_added_columns, write_csv
from gnnchi.errors import DataValidationError

KINDS = ("polymer", "solvent")


def latent_columns(latent_dim: int, members: int) -> list[str]:
    """The names of the [., members * 2k] encoding columns: member-major, then u before r."""
    names = [f"{part}_{i}" for part in ("u", "r") for i in range(1, latent_dim + 1)]
    if members == 1:
        return names
    return [f"m{m}_{name}" for m in range(members) for name in names]


def smiles_column(frame: pd.DataFrame, kind: str | None, column: str | None, source: str) -> tuple[str, str]:
    """(kind, column) of a table. ``column`` given: that column, of ``kind`` or of the kind it names.
    Else ``kind`` given: its column, or ``smiles``. Else the one of ``polymer`` / ``solvent`` the table has."""
    if kind is not None and kind not in KINDS:
        raise DataValidationError(source, [], f"kind must be one of {KINDS}, got {kind!r}")
    if column is not None:
        if column not in frame.columns:
            raise DataValidationError(source, [], f"missing column {column!r}; found {list(frame.columns)}")
        if kind is None and column not in KINDS:
            raise DataValidationError(source, [], f"say which encoder reads column {column!r}: --kind polymer|solvent")
        return kind or column, column
    if kind is None:
        found = [k for k in KINDS if k in frame.columns]
        if len(found) != 1:
            has = "both" if found else "neither"
            raise DataValidationError(
                source, [], f"has {has} of the columns 'polymer' and 'solvent': give --kind polymer|solvent "
                f"(and --column if the SMILES column has another name); found {list(frame.columns)}"
            )  # fmt: skip
        return found[0], found[0]
    for name in (kind, "smiles"):
        if name in frame.columns:
            return kind, name
    found = list(frame.columns)
    raise DataValidationError(source, [], f"needs a {kind!r} (or 'smiles') column, or --column; found {found}")


def encode_frame(predictor, frame: pd.DataFrame, kind: str, column: str) -> pd.DataFrame:
    """The input rows unchanged, then the encoding columns (:func:`latent_columns`), ``error`` and
    ``warning``; a failed molecule gets empty encodings and the reason in ``error``."""
    smiles = frame[column].tolist()
    latent, errors = predictor.encode(smiles, kind)
    values = pd.DataFrame(
        latent.astype(np.float64), columns=latent_columns(predictor.latent_dim, predictor.num_members)
    )
    values["error"] = errors
    values["warning"] = [predictor.molecule_notes({kind: s}) if not e else "" for s, e in zip(smiles, errors)]
    return with_added_columns(frame, values)


def encode_file(
    predictor, source: str, output: str | None = None, kind: str | None = None, column: str | None = None
) -> int:
    """Write the encodings of every molecule of ``source`` to ``output`` (default ``<stem>_encoded.csv``
    beside it; ``-``: standard output); the number of failed rows."""
    frame = read_text_table(source, [])
    kind, column = smiles_column(frame, kind, column, source)
    out = encode_frame(predictor, frame, kind, column)
    output = output or output_beside(source, "_encoded")
    write_csv(out, output)  # a path, or "-": standard output
    failed, problems = row_problems(out)
    say_written(output, f"encoded {len(out) - failed} of {len(out)} rows with the {kind} encoder -> {{where}}{problems}")
    return failed
