"""Checkpoint IO: Lightning's saves made atomic (see :func:`gnnchi.files.atomic_write`), and a failed write
(a full disk, a folder without permission) told in one line that names the file."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from lightning.fabric.utilities.types import _PATH
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO

from gnnchi.errors import CheckpointWriteError
from gnnchi.models.checkpoint import write_checkpoint


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO whose saves are atomic: a failed save leaves the previous file as it was."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: _PATH, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        write_checkpoint(checkpoint, path)


class LastEveryEpochCheckpoint(ModelCheckpoint):
    """ModelCheckpoint whose ``last.ckpt`` follows every validation, improved or not: Lightning 2.6 writes it
    only at steps where a best checkpoint was written, so ``--ckpt_path last`` would resume from the last
    improvement instead of the last epoch."""

    @property
    def state_key(self) -> str:
        """ModelCheckpoint's key, so its state resumes from checkpoints written before this class, and after."""
        return super().state_key.replace(type(self).__qualname__, ModelCheckpoint.__qualname__, 1)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_missed(trainer)

    def on_validation_end(self, trainer, pl_module) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_missed(trainer)

    def _save_last_if_missed(self, trainer) -> None:
        """Write ``last.ckpt`` unless this step already wrote it (with a best checkpoint) or saves nothing."""
        written = self._last_global_step_saved == trainer.global_step
        if self.save_last and not written and not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


def ensure_writable(folder: str | Path) -> None:
    """Make ``folder`` and check that it takes a file, before hours of training need it."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as err:
        raise CheckpointWriteError(folder, err) from err
