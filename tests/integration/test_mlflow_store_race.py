"""Fits started together on a new local store (evaluate_parallel's fold processes, two tune processes) each get
their run: MLflow makes the store's tables and the experiment without a lock, and this once failed a fold run with
"table ... already exists"."""

import multiprocessing
import os
import queue

from mlflow import MlflowClient

STARTS = 2  # new stores raced on; without the lock the first one failed in 5 runs of 5 here
EXPERIMENT = "race"


def start_run(barrier, results, workdir: str) -> None:
    """In ``workdir``, after every process is ready: a logger on the default local store, its run and one metric."""
    try:
        os.chdir(workdir)
        from gnnchi.training.tracking import GnnChiMLFlowLogger

        barrier.wait(timeout=120)
        logger = GnnChiMLFlowLogger(experiment_name=EXPERIMENT, run_name="racer")
        logger.log_metrics({"loss": 1.0}, step=0)
        logger.finalize("success")
        results.put("ok")
    except BaseException as err:  # noqa: BLE001 - the parent reports whatever stopped the child
        results.put(f"{type(err).__name__}: {str(err)[:300]}")


def test_two_fits_on_a_new_local_store_both_get_their_run(tmp_path):
    context = multiprocessing.get_context("spawn")
    for start in range(STARTS):
        workdir = tmp_path / f"start_{start}"
        workdir.mkdir()
        barrier, results = context.Barrier(2), context.Queue()
        processes = [context.Process(target=start_run, args=(barrier, results, str(workdir))) for _ in range(2)]
        for process in processes:
            process.start()
        try:
            outcomes = [results.get(timeout=300) for _ in processes]
        except queue.Empty:
            outcomes = ["no answer within 300 s"]
        for process in processes:
            process.join(timeout=60)
        assert outcomes == ["ok", "ok"], f"start {start}: {outcomes}"

        client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
        experiments = [e for e in client.search_experiments() if e.name == EXPERIMENT]
        assert len(experiments) == 1
        runs = client.search_runs([experiments[0].experiment_id])
        assert len(runs) == 2
        assert all(run.data.metrics == {"loss": 1.0} for run in runs)
