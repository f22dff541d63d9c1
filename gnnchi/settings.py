"""Process-wide settings, made in one place: entry points call :func:`configure_process` (and the
training command line :func:`configure_tracking`); library code never changes them (importing gnnchi
changes nothing).

Scripts that train or predict with torch models through the Python API may call it too: without
flushing denormals, CPU inference and training can be many times slower.
"""

from __future__ import annotations

import logging
import os
import warnings

QUIET_WARNINGS = (
    # evaluate and tune hand LightningCLI argument lists of their own, not sys.argv
    "LightningCLI's args parameter",
    # third-party deprecations inside Lightning and jsonargparse, nothing a gnnchi user can change
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    ".*was deprecated in v4",
    # the quick config logs per epoch on purpose
    "The number of training batches .* is smaller than the logging interval",
)
# MLflow's own defaults (7 retries, backoff factor 2, 120 s per try) held a call to a dead server for 261 s; the
# training logger keeps what a server could not take and sends it later, so one call need not wait that long
MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "15",
}
QUIET_LOG_LINES = {  # logger name -> starts of messages that say nothing to a gnnchi user
    "lightning.pytorch.utilities.rank_zero": ("💡 Tip", "Loading `train_dataloader` to estimate"),
    "mlflow.store.db.utils": ("Creating initial MLflow database tables", "Updating database tables"),
}


class _DropLines(logging.Filter):
    def __init__(self, starts: tuple[str, ...]):
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.starts)


def configure_process(torch_threads: int | None = None, uses_torch: bool = True) -> None:
    """Silence known third-party noise; with ``uses_torch``, flush denormal floats to zero (tiny
    Adam moments and trained weights hold them; they slowed CPU math up to 100x here, at no cost
    in accuracy) and set torch's intra-op threads if given. Safe to call more than once.
    ``uses_torch=False`` (the ONNX predictor) does not import torch."""
    for message in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for name, starts in QUIET_LOG_LINES.items():
        log = logging.getLogger(name)
        if not any(isinstance(f, _DropLines) for f in log.filters):
            log.addFilter(_DropLines(starts))
    if not uses_torch:
        return
    import torch

    torch.set_flush_denormal(True)
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)


def configure_tracking() -> None:
    """Short MLflow HTTP retries for training runs (see ``MLFLOW_HTTP_DEFAULTS``); values already in the
    environment win."""
    for name, value in MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
