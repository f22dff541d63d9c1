"""A checkpoint that cannot be written (a full disk, a folder that cannot take files) stops a fit with one line
naming the path, exit status 2; the checkpoints written before stay intact and loadable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from gnnchi.models import load_checkpoint

ROOT = Path(__file__).parents[2]
CONFIG = str(ROOT / "configs" / "quick.yaml")


def fit(cwd: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "gnnchi", "fit", "--config", CONFIG, "--trainer.logger", "false", *extra]
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def one_error_line(process: subprocess.Popen) -> tuple[str, str]:
    """The one error line of a fit that ended with status 2, and all it wrote to stderr."""
    stderr = process.communicate(timeout=300)[1]
    errors = [line for line in stderr.splitlines() if line.startswith("gnnchi: error:")]
    assert process.returncode == 2 and "Traceback" not in stderr and len(errors) == 1, stderr[-3000:]
    return errors[0], stderr


def test_a_full_disk_or_a_folder_that_takes_no_files_is_one_line_and_spares_earlier_checkpoints(tmp_path):
    """Two fits side by side. One finds, from epoch 1 on, a disk that takes no file larger than 64 KiB
    (``tests.callbacks.FileSizeLimitAt``: RLIMIT_FSIZE; a checkpoint is about 200 KB), so its first write
    after epoch 0 fails mid-file. The other is given a checkpoint folder under a plain file, which no one,
    root included, can write into; it stops before reading the data."""
    full, blocked = tmp_path / "full", tmp_path / "blocked"
    full.mkdir()
    blocked.mkdir()
    (blocked / "a_file").write_text("not a folder")
    limit = {"class_path": "tests.callbacks.FileSizeLimitAt", "init_args": {"epoch": 1, "max_bytes": 65536}}
    fits = [fit(full, "--trainer.max_epochs", "3", "--trainer.callbacks", json.dumps([limit])),
            fit(blocked, "--checkpoint.dirpath", str(blocked / "a_file" / "checkpoints"))]  # fmt: skip

    folder = full / "checkpoints" / "quick"
    error, _ = one_error_line(fits[0])
    assert error.startswith(f"gnnchi: error: cannot write {folder}/") and ".ckpt: File too large." in error
    assert sorted(p.name for p in folder.iterdir()) == ["best.ckpt", "config.yaml", "last.ckpt"]  # no temporary file
    for name in ("best", "last"):
        state = torch.load(folder / f"{name}.ckpt", weights_only=True)
        assert state["epoch"] == 0, f"{name}.ckpt is not epoch 0's"
        load_checkpoint(folder / f"{name}.ckpt")

    error, stderr = one_error_line(fits[1])
    assert "bundled data" not in stderr  # stopped before reading the data
    assert error == (f"gnnchi: error: cannot write {blocked / 'a_file' / 'checkpoints'}: Not a directory. Checkpoints "
                     "written before are intact; free space, or give a writable --checkpoint.dirpath (--ckpt_path last "
                     "resumes a fit)")  # fmt: skip
