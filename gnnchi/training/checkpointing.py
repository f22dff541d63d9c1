"""Checkpoint IO: Lightning's saves made atomic (see :func:`gnnchi.files.atomic_write`), and a failed write
(a full disk, a folder without permission) told in one line that names the file."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gnnchi.errors import CheckpointWriteError
from gnnchi.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO whose saves are atomic: a failed save leaves the previous file as it was."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        data = io.BytesIO()
        torch.save(checkpoint, data)  # in memory first: torch turns a failed file write into a bare RuntimeError
        try:
            atomic_write(path, lambda file: file.write(data.getbuffer()))
        except OSError as err:
            raise CheckpointWriteError(path, err) from err


def ensure_writable(folder: str | Path) -> None:
    """Make ``folder`` and check that it takes a file, before hours of training need it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        raise CheckpointWriteError(folder, err) from err
