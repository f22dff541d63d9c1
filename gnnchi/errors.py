"""Typed errors that tell the user what is wrong and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass


class GnnChiError(Exception):
    """Base class of every error gnnchi raises on purpose."""


class InvalidSmilesError(GnnChiError, ValueError):
    """A SMILES string that cannot become a molecule graph."""

    def __init__(self, smiles: str, reason: str, row: int | None = None, column: str | None = None):
        self.smiles, self.reason, self.row, self.column = smiles, reason, row, column
        where = "" if row is None else f"row {row}: "
        what = column or "SMILES"
        super().__init__(f"{where}invalid {what} {smiles!r}: {reason}")


@dataclass(frozen=True)
class RowProblem:
    """One bad value in a table: its row number (as in the file, header = 1), column, value and reason."""

    row: int
    column: str
    value: str
    reason: str
    source: str = ""  # the file, where one table joins several (the bundled data)

    def __str__(self) -> str:
        where = f"{self.source} " if self.source else ""
        return f"{where}row {self.row}, column {self.column!r}, value {self.value!r}: {self.reason}"


class DataValidationError(GnnChiError, ValueError):
    """Every bad row of a table, reported at once."""

    def __init__(self, source: str, problems: list[RowProblem], hint: str = ""):
        self.source, self.problems = source, problems
        if not problems:  # a problem of the whole file (columns, format)
            super().__init__(f"{source}: {hint}")
            return
        lines = [f"{source}: {len(problems)} bad value(s)"] + [f"  {p}" for p in problems[:200]]
        if len(problems) > 200:
            lines.append(f"  ... and {len(problems) - 200} more")
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))


class ModelFileError(GnnChiError, ValueError):
    """A checkpoint or model file that is not a readable gnnchi model."""


class SplitError(GnnChiError, ValueError):
    """A split that cannot be made as asked (unknown name, fold out of range, clashing folds)."""


class TrackingServerError(GnnChiError):
    """An MLflow tracking server that cannot be reached when a run starts."""


class CheckpointWriteError(GnnChiError, OSError):
    """A checkpoint, or the folder for them, that cannot be written (a full disk, no permission)."""

    def __init__(self, path: str, error: OSError):
        self.path, self.error = str(path), error
        super().__init__(f"cannot write {self.path}: {error.strerror or error}. Checkpoints written before are intact; "
                         "free space, or give a writable --checkpoint.dirpath (--ckpt_path last resumes a fit)")  # fmt: skip
