"""Lightning callbacks that tests inject into ``fit`` runs (``--trainer.callbacks``), also in subprocesses.

Importable as ``tests.callbacks`` with the repository root on ``sys.path``: tests/conftest.py puts it
there for in-process tests, subprocess tests set ``PYTHONPATH`` to it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
import torchmetrics

SPLIT_FILE = "split_seen.json"


class RecordSplit(L.Callback):
    """Write, beside the fit's checkpoints (``<checkpoint.dirpath>/split_seen.json``), the rows of the
    records table the fit trained and validated on: the datamodule's ``train`` and ``val`` parts and
    the rows of the batches it actually drew (``PairBatch.rows``)."""

    def __init__(self):
        self.seen: dict[str, list[np.ndarray]] = {"train": [], "val": []}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen["train"].append(batch.rows.numpy())

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.seen["val"].append(batch.rows.numpy())

    def on_fit_end(self, trainer, pl_module):
        datamodule = trainer.datamodule
        out = {"test_fold": datamodule.hparams.test_fold}
        for part in ("train", "val"):
            out[part] = sorted(int(i) for i in datamodule.indices[part])
            out[f"{part}_batches"] = sorted({int(i) for rows in self.seen[part] for i in rows})
        folder = Path(trainer.checkpoint_callback.dirpath)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SPLIT_FILE).write_text(json.dumps(out))


class PinShuffleOrder(L.Callback):
    """Make the training order of an epoch depend on its number alone: the shuffling sampler of the
    training loader draws from a generator of its own, seeded ``seed + epoch`` before each epoch.

    Lightning does not checkpoint random states: a resumed run would draw its first epoch's order from
    the state ``seed_everything`` left, i.e. the order of epoch 0 of a fresh run, and the number of
    draws before the order differs with the path (the first epoch of a run builds and probes the
    loader). The first epoch of a run (fresh, or resumed from an end-of-epoch checkpoint: the epoch
    after the checkpoint's) draws its order in ``FitLoop.setup_data``, after ``on_fit_start``; later
    epochs after ``on_train_epoch_start``.
    """

    def __init__(self, seed: int = 1000):
        self.seed = seed
        self.generator = torch.Generator()
        self.first_epoch = 0  # of this run
        self.seeded_epoch: int | None = None

    def setup(self, trainer, pl_module, stage):
        if stage != "fit":
            return
        make = trainer.datamodule.train_dataloader

        def train_dataloader():
            loader = make()
            loader.sampler.generator = self.generator  # a RandomSampler: its permutations come from here alone
            return loader

        trainer.datamodule.train_dataloader = train_dataloader

    def on_load_checkpoint(self, trainer, pl_module, checkpoint):
        self.first_epoch = int(checkpoint["epoch"]) + 1  # gnnchi saves after an epoch's validation

    def on_fit_start(self, trainer, pl_module):
        self.generator.manual_seed(self.seed + self.first_epoch)
        self.seeded_epoch = None

    def on_train_epoch_start(self, trainer, pl_module):
        if self.seeded_epoch is None:  # the run's first epoch, its order already drawn
            if trainer.current_epoch != self.first_epoch:
                raise RuntimeError(f"seeded epoch {self.first_epoch}'s order, but epoch {trainer.current_epoch} runs")
        else:
            self.generator.manual_seed(self.seed + trainer.current_epoch)
        self.seeded_epoch = trainer.current_epoch


class SignalAt(L.Callback):
    """Send this process ``signal`` (a name: SIGKILL, SIGINT) at the start of training batch ``batch`` of epoch
    ``epoch``, after writing ``marker`` (the epoch and batch reached): a crash or a Ctrl-C at a known point,
    nothing left to chance."""

    def __init__(self, epoch: int, batch: int, marker: str, signal: str = "SIGKILL"):
        self.epoch, self.batch, self.marker, self.signal = epoch, batch, marker, signal

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            Path(self.marker).write_text(json.dumps({"epoch": self.epoch, "batch": batch_idx}))
            os.kill(os.getpid(), getattr(signal, self.signal))


class PauseAt(L.Callback):
    """At the start of each epoch in ``epochs``, write ``<folder>/paused_<epoch>`` and wait (up to ``timeout``
    seconds) for the test to write ``<folder>/go_<epoch>``: the test acts on the world (a server) at a known
    point of the fit."""

    def __init__(self, epochs: list[int], folder: str, timeout: float = 120.0):
        self.epochs, self.folder, self.timeout = epochs, Path(folder), timeout

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch not in self.epochs:
            return
        (self.folder / f"paused_{trainer.current_epoch}").touch()
        go, deadline = self.folder / f"go_{trainer.current_epoch}", time.monotonic() + self.timeout
        while not go.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {go} after {self.timeout} s")
            time.sleep(0.05)


class FileSizeLimitAt(L.Callback):
    """From the start of epoch ``epoch`` on, no file of this process may grow past ``max_bytes`` (RLIMIT_FSIZE,
    SIGXFSZ ignored): a write past it fails as on a full disk, with an OSError (EFBIG, "File too large")."""

    def __init__(self, epoch: int, max_bytes: int):
        self.epoch, self.max_bytes = epoch, max_bytes

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.max_bytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


class UnshareMetricStates(L.Callback):
    """Give each process of ``ddp_spawn`` on CPU torchmetrics states of its own (``reset`` builds new ones).

    ``ddp_spawn`` hands the module to its ranks through torch.multiprocessing, which moves every CPU
    tensor into shared memory; Lightning copies parameters and buffers back out, but metric states are
    neither, so the ranks would add up into one shared state: totals over all ranks without any sync
    (racy ones), which hides a missing sync. The ``ddp`` strategy (one process per rank) has no such sharing.
    """

    def setup(self, trainer, pl_module, stage):
        for module in pl_module.modules():
            if isinstance(module, torchmetrics.Metric):
                module.reset()
