"""A fit killed with SIGKILL mid-epoch resumes with ``--ckpt_path last`` and finishes as planned."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gnnchi.models import load_checkpoint

CONFIG = str(Path(__file__).parents[2] / "configs" / "quick.yaml")
EPOCHS = 6


def fit_command(*extra):
    return [
        sys.executable, "-m", "gnnchi", "fit", "--config", CONFIG,
        "--trainer.max_epochs", str(EPOCHS), "--trainer.limit_train_batches", "20",
        "--data.batch_size", "16", "--trainer.logger", "false", *extra,
    ]  # fmt: skip


def test_sigkill_mid_epoch_then_resume(tmp_path):
    last = tmp_path / "checkpoints" / "quick" / "last.ckpt"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    run = subprocess.Popen(fit_command(), cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while not last.exists() and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    assert last.exists(), run.stderr.read().decode()[-2000:] if run.poll() is not None else "no checkpoint in time"
    time.sleep(0.4)  # into the next epoch
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert run.returncode == -signal.SIGKILL
    killed_at = torch.load(last, weights_only=True)["epoch"]
    assert killed_at < EPOCHS - 1, "the run finished before it was killed; the test proves nothing"

    resumed = subprocess.run(fit_command("--ckpt_path", "last"), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Restoring states from the checkpoint path at {last}" in resumed.stderr
    final = torch.load(last, weights_only=True)
    assert final["epoch"] == EPOCHS - 1
    assert final["global_step"] == EPOCHS * 20
    model = load_checkpoint(tmp_path / "checkpoints" / "quick" / "best.ckpt")
    assert model.net.head.inv_t_std.item() != pytest.approx(4e-4)
