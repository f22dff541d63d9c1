"""The ``python -m gnnchi fit`` command line the benchmarks run in subprocesses (one place for both
``inner_validation`` and ``fit_speed``)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path


def fit_command(config: str, epochs: int, checkpoint_dir: str | Path, logger: list[str], extra: str = "") -> list[str]:
    """``fit`` of ``config`` for ``epochs`` without a progress bar, checkpoints under ``checkpoint_dir``,
    the trainer's ``logger`` arguments, then ``extra`` (fit arguments as one shell string) last, so they win."""
    return [sys.executable, "-m", "gnnchi", "fit", "--config", config, "--trainer.max_epochs", str(epochs),
            "--trainer.enable_progress_bar", "false", *logger, "--checkpoint.dirpath", str(checkpoint_dir),
            *shlex.split(extra)]  # fmt: skip
