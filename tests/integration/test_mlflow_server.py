"""Runs go to a tracking server when MLFLOW_TRACKING_URI names one; a server that cannot be reached stops a fit
in one line, or with the local fallback sends it to the local store; one that goes away mid-fit costs no training."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

import pytest
import torch
from mlflow import MlflowClient

from gnnchi.cli import main
from gnnchi.models import load_checkpoint
from gnnchi.training.tracking import LOCAL_FALLBACK_ENV

ROOT = Path(__file__).parents[2]
CONFIG = str(ROOT / "configs" / "quick.yaml")
RETRY_SECONDS = 0.5  # how often a fit tries a server that went away


LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:([1-9][0-9]*)")


class Server(NamedTuple):
    url: str
    artifacts: Path  # the server's artifact folder
    store: str  # the server's backend store (a sqlite URI), readable while the server is down
    pid: int  # of the leader of the server's process group: os.killpg(pid, SIGSTOP) makes it hang

    def signal(self, number: int) -> None:
        os.killpg(self.pid, number)


@pytest.fixture
def mlflow_server(tmp_path):
    """A loopback MLflow server on a port it binds itself (``--port 0``; uvicorn logs the port it got),
    so no other process can take the port between choosing and binding it. A test may stop, continue
    or kill it (:meth:`Server.signal`)."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = tmp_path / "server.log"
    store = f"sqlite:///{tmp_path / 'server.db'}"
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", "0",
        "--backend-store-uri", store, "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1",
    ]  # fmt: skip
    with log.open("wb") as output:  # a file, not a pipe: a chatty server can never block on a full pipe
        server = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                                  stdout=output, stderr=output)  # fmt: skip
    try:
        deadline, url = time.time() + 120, None
        while True:
            if url is None and (found := LISTENING.search(log.read_text(errors="replace"))):
                url = f"http://127.0.0.1:{found.group(1)}"
            if url is not None:
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
            if server.poll() is not None or time.time() > deadline:
                pytest.fail(f"mlflow server did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)  # polling, with the deadline above
        yield Server(url, tmp_path / "server-artifacts", store, server.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone already where a test killed it
            os.killpg(server.pid, signal.SIGCONT)  # a stopped server cannot take the SIGTERM
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_quick_fit_is_tracked_on_the_server(mlflow_server, tmp_path, monkeypatch):
    url, artifact_folder = mlflow_server.url, mlflow_server.artifacts
    workdir = tmp_path / "work"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    main(["fit", "--config", CONFIG])
    assert not (workdir / "mlflow.db").exists()  # nothing went to the local store

    client = MlflowClient(url)
    (run,) = client.search_runs([client.get_experiment_by_name("gnnchi-quick").experiment_id])
    assert run.data.params["hidden_dim"] == "32" and run.data.params["split"] == "paper"
    history = client.get_metric_history(run.info.run_id, "val/r2_chi_exp")
    assert [m.step for m in history] == sorted(m.step for m in history) and len(history) == 2
    assert "test/auc_soluble" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "parity_test.png", "best", "last"} <= artifacts
    checkpoints = [a for a in client.list_artifacts(run.info.run_id, "best") if a.path.endswith(".ckpt")]
    assert len(checkpoints) == 1 and checkpoints[0].file_size > 10_000
    assert any(artifact_folder.rglob("*.ckpt"))  # stored by the server, in its own artifact folder


def free_port() -> int:
    """A loopback port nobody listens on (bound and let go: connecting to it is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_server_that_cannot_be_reached_stops_the_fit_in_one_line_within_15_s(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    env.pop(LOCAL_FALLBACK_ENV, None)
    start = time.monotonic()
    command = [sys.executable, "-m", "gnnchi", "fit", "--config", CONFIG]
    done = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - start
    errors = [line for line in done.stderr.splitlines() if line.startswith("gnnchi: error:")]
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(errors) == 1 and url in errors[0], done.stderr[-3000:]
    assert "Start it" in errors[0] and f"{LOCAL_FALLBACK_ENV}=1" in errors[0] and "local_fallback: true" in errors[0]
    assert seconds < 15, f"{seconds:.1f} s to say the server cannot be reached"
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "checkpoints").exists()  # nothing started
    print(f"dead tracking URI: exit 2 after {seconds:.1f} s")  # the measured time, shown with pytest -s


def test_local_fallback_tracks_the_fit_in_the_local_store(tmp_path, monkeypatch, capsys, caplog):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv(LOCAL_FALLBACK_ENV, "1")
    main(["fit", "--config", CONFIG])
    captured = capsys.readouterr()
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert f"gnnchi: warning: the MLflow server {url} could not be reached" in caplog.text
    summary = captured.out[captured.out.index("gnnchi fit:") :]
    assert f"could not be reached (Connection refused): the run is in {store}" in summary
    assert f"--backend-store-uri {store}" in summary
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("gnnchi-quick").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_id in summary
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 2 and "test/auc_soluble" in run.data.metrics


@pytest.mark.slow  # about 50 s: the suite time budget; an unreachable server is checked in the suite
def test_a_server_that_hangs_comes_back_then_dies_mid_fit_costs_no_training(mlflow_server, tmp_path):
    """A real server made to hang (SIGSTOP) at the start of epoch 1 of a 4-epoch fit, let go on (SIGCONT) at
    the start of epoch 2 and killed (SIGKILL) at the start of epoch 3, each at a pause of the fit
    (``tests.callbacks.PauseAt``). The fit trains all 4 epochs and writes its checkpoints; what the hanging
    server missed reaches it when it answers again; at the end, with the server dead, the whole run goes to
    the local store, and the summary says so."""
    work = tmp_path / "work"
    work.mkdir()
    pause = {"class_path": "tests.callbacks.PauseAt", "init_args": {"epochs": [1, 2, 3], "folder": str(work)}}
    # a call to the hanging server gives up after 1 s
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": mlflow_server.url,
           "MLFLOW_HTTP_REQUEST_TIMEOUT": "1", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}  # fmt: skip
    command = [sys.executable, "-m", "gnnchi", "fit", "--config", CONFIG, "--trainer.max_epochs", "4",
               "--trainer.logger.init_args.retry_seconds", str(RETRY_SECONDS),
               "--trainer.callbacks", json.dumps([pause])]  # fmt: skip
    start = time.monotonic()
    with subprocess.Popen(command, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as fit:
        for epoch, action in ((1, signal.SIGSTOP), (2, signal.SIGCONT), (3, signal.SIGKILL)):
            deadline = time.monotonic() + 120
            while not (work / f"paused_{epoch}").exists():
                assert fit.poll() is None and time.monotonic() < deadline, f"no pause at epoch {epoch}"
                time.sleep(0.05)
            mlflow_server.signal(action)
            if action == signal.SIGCONT:
                time.sleep(2 * RETRY_SECONDS)  # so that the fit's next call tries the server again
            (work / f"go_{epoch}").touch()
        out, err = fit.communicate(timeout=300)
    print(f"fit with a hanging, then dead server: {time.monotonic() - start:.1f} s")
    assert fit.returncode == 0, err[-3000:]
    last = torch.load(work / "checkpoints" / "quick" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 3  # all 4 epochs trained
    load_checkpoint(work / "checkpoints" / "quick" / "best.ckpt")
    assert f"gnnchi: warning: the MLflow server {mlflow_server.url} does not answer" in err
    assert f"gnnchi: the MLflow server {mlflow_server.url} was away during the fit" in err  # came back
    store = f"sqlite:///{work / 'mlflow.db'}"
    summary = out[out.index("gnnchi fit:") :]
    assert f"the MLflow server {mlflow_server.url} stopped answering: the whole run" in summary and store in summary

    local = MlflowClient(store)
    (run,) = local.search_runs([local.get_experiment_by_name("gnnchi-quick").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_id in summary
    steps = [m.step for m in local.get_metric_history(run.info.run_id, "val/loss")]
    assert len(steps) == 4 and steps == sorted(steps)  # every epoch, the last one the server never got included
    assert run.data.params["hidden_dim"] == "32" and "test/auc_soluble" in run.data.metrics
    assert {"config.yaml", "parity_test.png", "best", "last"} <= {a.path for a in local.list_artifacts(run.info.run_id)}

    server = MlflowClient(mlflow_server.store)  # the dead server's own store, read directly
    (server_run,) = server.search_runs([server.get_experiment_by_name("gnnchi-quick").experiment_id])
    assert run.data.tags["gnnchi.server_run"] == server_run.info.run_id and server_run.info.status == "RUNNING"
    # epoch 1's values, logged while the server hung, were sent when it came back; epoch 3's never reached it
    assert [m.step for m in server.get_metric_history(server_run.info.run_id, "val/loss")] == steps[:3]
