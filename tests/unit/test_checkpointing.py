import os

import pytest
import torch

from gnnchi.files import atomic_write
from gnnchi.training.checkpointing import AtomicCheckpointIO


def test_a_failed_write_leaves_the_previous_file_whole(tmp_path):
    path = tmp_path / "model.ckpt"
    atomic_write(path, lambda f: f.write(b"old complete file"))

    def crash_midway(file):
        file.write(b"half of a new fi")
        raise KeyboardInterrupt  # as if the process died while writing

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash_midway)
    assert path.read_bytes() == b"old complete file"
    assert [p.name for p in tmp_path.iterdir()] == ["model.ckpt"]  # no temporary file left behind


def test_a_failed_first_write_leaves_no_file(tmp_path):
    path = tmp_path / "sub" / "best.ckpt"
    with pytest.raises(RuntimeError):
        atomic_write(path, lambda f: (_ for _ in ()).throw(RuntimeError("disk full")))
    assert not path.exists()


def test_checkpoint_io_round_trip_with_usual_permissions(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "x.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded["epoch"] == 3 and torch.equal(loaded["state_dict"]["w"], torch.ones(2))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
