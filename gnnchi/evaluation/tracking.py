"""One MLflow run per evaluation: parameters, mean/std/per-fold metrics of gnnchi and each baseline, the files."""

from __future__ import annotations

import math
from pathlib import Path


def log_evaluation(
    result: dict, output: Path, experiment_name: str, tracking_uri: str | None, figures: list[str] | tuple[str, ...]
) -> None:
    """One MLflow run: protocol parameters, mean/std/per-fold metrics of gnnchi and each baseline, the
    files (metrics.json, report.md, predictions.csv and ``figures``, names in ``output``)."""
    from gnnchi.training.tracking import mlflow_client

    client, experiment_id = mlflow_client(experiment_name, tracking_uri)
    run = client.create_run(experiment_id, run_name=f"evaluate-{result['protocol']}")
    run_id = run.info.run_id
    for key in ("protocol", "split", "task", "members"):
        client.log_param(run_id, key, str(result[key]))
    client.log_param(run_id, "config_args", " ".join(result["config_args"])[:6000])
    client.log_param(run_id, "folds", str([f["fold"] for f in result["folds"]]))
    summaries = {"gnnchi": result, **{f"baseline/{n}": s for n, s in result["baselines"].items()}}
    for prefix, summary in summaries.items():
        for stat in ("mean", "std"):
            for key, value in summary[stat].items():
                if value is not None and math.isfinite(value):
                    client.log_metric(run_id, f"{prefix}/{stat}/{key}", value)
        for fold in summary["folds"]:
            for key, value in fold.items():
                if key != "fold" and value is not None and math.isfinite(value):
                    client.log_metric(run_id, f"{prefix}/fold/{key}", value, step=fold["fold"])
    for name in ("metrics.json", "report.md", "predictions.csv", *figures):
        client.log_artifact(run_id, str(output / name))
    client.set_terminated(run_id)
