"""Runs go to a tracking server when MLFLOW_TRACKING_URI names one."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow import MlflowClient

from gnnchi.cli import main

CONFIG = str(Path(__file__).parents[2] / "configs" / "quick.yaml")


LISTENING = re.compile(r"Uvicorn running on http://127\.0\.0\.1:([1-9][0-9]*)")


@pytest.fixture
def mlflow_server(tmp_path):
    """A loopback MLflow server on a port it binds itself (``--port 0``; uvicorn logs the port it got),
    so no other process can take the port between choosing and binding it."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = tmp_path / "server.log"
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", "0",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1",
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
        yield url, tmp_path / "server-artifacts"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_quick_fit_is_tracked_on_the_server(mlflow_server, tmp_path, monkeypatch):
    url, artifact_folder = mlflow_server
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
