"""A fit stopped by Ctrl-C (SIGINT) or killed (SIGKILL, ``-m slow``) mid-epoch resumes with ``--ckpt_path last``
and ends where an uninterrupted fit ends: the same weights, AdamW moments and step counts, learning-rate schedule
and best model. The stopped fit's MLflow run is marked KILLED."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from gnnchi.cli import main
from gnnchi.models import load_checkpoint

ROOT = Path(__file__).parents[2]
CONFIG = str(ROOT / "configs" / "quick.yaml")
EPOCHS, BATCHES = 4, 6
KILL_EPOCH, KILL_BATCH = 2, 3  # mid-epoch, after the end-of-epoch checkpoint of epoch KILL_EPOCH - 1
# bit-equal in practice (CPU, one thread, the same operations); the tolerance only forgives rounding, while a
# restarted optimizer or schedule changes the values by orders of magnitude more
RTOL, ATOL = 1e-6, 1e-9
PIN = {"class_path": "tests.callbacks.PinShuffleOrder", "init_args": {"seed": 7}}


def fit_command(callbacks, *extra, tracked=False):
    """The fit of these tests; ``tracked``: with the config's MLflow logger (the local store)."""
    return [
        sys.executable, "-m", "gnnchi", "fit", "--config", CONFIG,
        "--trainer.max_epochs", str(EPOCHS), "--trainer.limit_train_batches", str(BATCHES),
        "--data.batch_size", "16", *(() if tracked else ("--trainer.logger", "false")),
        "--trainer.callbacks", json.dumps(callbacks), *extra,
    ]  # fmt: skip


def assert_same_training_state(got: dict, expected: dict, what: str) -> None:
    def close(actual, wanted, name):
        torch.testing.assert_close(actual, wanted, rtol=RTOL, atol=ATOL, msg=lambda m: f"{what}: {name}: {m}")

    assert (got["epoch"], got["global_step"]) == (expected["epoch"], expected["global_step"]), what
    (schedule,), (want,) = got["lr_schedulers"], expected["lr_schedulers"]
    for key in ("last_epoch", "_step_count", "base_lrs", "_last_lr"):
        assert schedule[key] == want[key], f"{what}: LR scheduler {key} {schedule[key]} != {want[key]}"
    (optimizer,), (want,) = got["optimizer_states"], expected["optimizer_states"]
    assert optimizer["param_groups"] == want["param_groups"], f"{what}: AdamW param_groups"
    assert optimizer["state"].keys() == want["state"].keys() and want["state"], f"{what}: AdamW state"
    for i, state in want["state"].items():
        for key in ("step", "exp_avg", "exp_avg_sq"):
            close(optimizer["state"][i][key], state[key], f"AdamW {key} of parameter {i}")
    assert got["state_dict"].keys() == expected["state_dict"].keys()
    for name, value in expected["state_dict"].items():
        close(got["state_dict"][name], value, name)
    ((key, checkpoint),), ((_, want),) = got["callbacks"].items(), expected["callbacks"].items()
    assert "ModelCheckpoint" in key and torch.equal(checkpoint["best_model_score"], want["best_model_score"]), what


def assert_same_checkpoints(resumed: Path, straight: Path) -> None:
    """The last and best checkpoints of the resumed fit (run in folder ``resumed``) hold the uninterrupted one's state."""
    for name in ("last", "best"):
        got = torch.load(resumed / "checkpoints" / "quick" / f"{name}.ckpt", weights_only=True)
        expected = torch.load(straight / "checkpoints" / "quick" / f"{name}.ckpt", weights_only=True)
        assert_same_training_state(got, expected, f"{name}.ckpt")


@pytest.mark.slow  # the Ctrl-C test below checks the same end state; this one adds a crash without any shutdown
def test_sigkill_mid_epoch_then_resume_ends_like_an_uninterrupted_fit(tmp_path):
    """Kill (SIGKILL, by the fit itself at a chosen batch: no timing guessed) in the middle of epoch
    ``KILL_EPOCH``, resume from ``last.ckpt`` (written after epoch ``KILL_EPOCH - 1``), compare with an
    uninterrupted fit of the same seed, run alongside.

    What resume reproduces: weights, AdamW state (moments, step), the LR scheduler, the loop counters and
    ModelCheckpoint's best score; the interrupted epoch is trained again from its start. What it does
    not: the shuffled order of the epochs after the resume, as Lightning checkpoints no random state
    (the resumed run's first epoch would get the order of a fresh run's epoch 0). ``PinShuffleOrder``
    makes each epoch's order a function of the epoch number in all three runs, so the end states must
    match; without it they do not (measured: AdamW moments off by 1e-2, weights by 1e-3).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    killed, straight = tmp_path / "killed", tmp_path / "straight"
    killed.mkdir()
    straight.mkdir()
    marker = killed / "killed_at.json"
    kill = {"class_path": "tests.callbacks.SignalAt",
            "init_args": {"epoch": KILL_EPOCH, "batch": KILL_BATCH, "marker": str(marker)}}  # fmt: skip
    runs = [
        subprocess.Popen(fit_command(callbacks), cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for cwd, callbacks in ((killed, [PIN, kill]), (straight, [PIN]))
    ]
    errors = [run.communicate(timeout=400)[1].decode() for run in runs]
    assert runs[0].returncode == -signal.SIGKILL, errors[0][-3000:]
    assert runs[1].returncode == 0, errors[1][-3000:]
    assert json.loads(marker.read_text()) == {"epoch": KILL_EPOCH, "batch": KILL_BATCH}
    last = killed / "checkpoints" / "quick" / "last.ckpt"
    at_kill = torch.load(last, weights_only=True)
    assert (at_kill["epoch"], at_kill["global_step"]) == (KILL_EPOCH - 1, KILL_EPOCH * BATCHES)

    resumed = subprocess.run(fit_command([PIN], "--ckpt_path", "last"), cwd=killed, env=env, capture_output=True,
                             text=True, timeout=400)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Restoring states from the checkpoint path at {last}" in resumed.stderr
    assert_same_checkpoints(killed, straight)
    final = torch.load(last, weights_only=True)
    assert final["epoch"] == EPOCHS - 1 and final["global_step"] == EPOCHS * BATCHES
    assert final["lr_schedulers"][0]["last_epoch"] == EPOCHS * BATCHES
    model = load_checkpoint(killed / "checkpoints" / "quick" / "best.ckpt")
    assert model.net.head.inv_t_std.item() != pytest.approx(4e-4)


def test_ctrl_c_mid_epoch_resumes_like_an_uninterrupted_fit_and_leaves_a_killed_run(tmp_path, monkeypatch, caplog):
    """SIGINT, the signal of Ctrl-C, sent by the fit itself in the middle of epoch ``KILL_EPOCH`` (a
    subprocess, tracked in the local store, beside an uninterrupted fit of the same seed); then
    ``--ckpt_path last`` (in-process) trains the rest and must end in the uninterrupted fit's state."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    stopped_dir, straight_dir = tmp_path / "stopped", tmp_path / "straight"
    stopped_dir.mkdir()
    straight_dir.mkdir()
    with open(straight_dir / "stderr.txt", "w") as straight_stderr:  # a file: a pipe nobody reads could fill up
        straight = subprocess.Popen(fit_command([PIN]), cwd=straight_dir, env=env, stdout=subprocess.DEVNULL,
                                    stderr=straight_stderr)  # fmt: skip
    marker = stopped_dir / "interrupted_at.json"
    where = {"epoch": KILL_EPOCH, "batch": KILL_BATCH, "marker": str(marker)}
    interrupt = {"class_path": "tests.callbacks.SignalAt", "init_args": {**where, "signal": "SIGINT"}}
    stopped = subprocess.run(fit_command([PIN, interrupt], tracked=True), check=False, cwd=stopped_dir, env=env,
                             capture_output=True, text=True, timeout=400)  # fmt: skip
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr, stopped.stderr[-3000:]
    assert json.loads(marker.read_text()) == {"epoch": KILL_EPOCH, "batch": KILL_BATCH}
    last = stopped_dir / "checkpoints" / "quick" / "last.ckpt"
    assert f"gnnchi: fit interrupted; {last} holds its last finished epoch: add --ckpt_path last" in stopped.stderr
    at_stop = torch.load(last, weights_only=True)
    assert (at_stop["epoch"], at_stop["global_step"]) == (KILL_EPOCH - 1, KILL_EPOCH * BATCHES)
    client = MlflowClient(f"sqlite:///{stopped_dir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gnnchi-quick").experiment_id
    (run,) = client.search_runs([experiment])
    assert run.info.status == "KILLED", run.info.status
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == KILL_EPOCH  # the epochs it finished

    monkeypatch.chdir(stopped_dir)
    main(fit_command([PIN], "--ckpt_path", "last", tracked=True)[3:])  # the arguments after `python -m gnnchi`
    assert f"Restoring states from the checkpoint path at {last}" in caplog.text
    final = torch.load(last, weights_only=True)
    assert final["epoch"] == EPOCHS - 1 and final["global_step"] == EPOCHS * BATCHES
    assert final["lr_schedulers"][0]["last_epoch"] == EPOCHS * BATCHES
    load_checkpoint(stopped_dir / "checkpoints" / "quick" / "best.ckpt")
    (resumed,) = [r for r in client.search_runs([experiment]) if r.info.run_id != run.info.run_id]
    assert resumed.info.status == "FINISHED" and client.get_run(run.info.run_id).info.status == "KILLED"
    assert len(client.get_metric_history(resumed.info.run_id, "val/loss")) == EPOCHS - KILL_EPOCH  # no epoch again
    assert straight.wait(timeout=400) == 0, (straight_dir / "stderr.txt").read_text()[-3000:]
    assert_same_checkpoints(stopped_dir, straight_dir)


def test_last_checkpoint_is_the_last_epoch_even_without_improvement(tmp_path, monkeypatch):
    """With lr 0 the weights never change, so no epoch after the first improves val/loss: best.ckpt stays at
    epoch 0 while last.ckpt, which ``--ckpt_path last`` resumes from, must follow every epoch."""
    monkeypatch.chdir(tmp_path)
    main(["fit", "--config", CONFIG, "--trainer.logger", "false", "--trainer.max_epochs", "3", "--model.lr", "0"])
    folder = tmp_path / "checkpoints" / "quick"
    best, last = (torch.load(folder / f"{name}.ckpt", weights_only=True) for name in ("best", "last"))
    assert best["epoch"] == 0
    assert last["epoch"] == 2 and last["global_step"] > best["global_step"]
