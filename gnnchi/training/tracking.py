"""MLflow tracking: a local sqlite store by default, a server when MLFLOW_TRACKING_URI says so."""

from __future__ import annotations

import os
from pathlib import Path

from lightning.pytorch.loggers import MLFlowLogger

# MLflow 3 opens experiments in its GenAI view unless they say they are model training
EXPERIMENT_KIND_TAG = ("mlflow.experimentKind", "custom_model_development")
DEFAULT_STORE = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    """The given URI, else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlflow.db``."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(DEFAULT_STORE).resolve()}"


class GnnChiMLFlowLogger(MLFlowLogger):
    """Lightning's MLFlowLogger with gnnchi's defaults (checkpoints logged as artifacts).

    Args:
        experiment_name: MLflow experiment.
        run_name: MLflow run name.
        tracking_uri: store or server; default ``$MLFLOW_TRACKING_URI`` or a local sqlite file.
        artifact_location: where a new experiment keeps artifacts; default ``./mlartifacts``
            for a local store (a server chooses its own).
        log_model: log checkpoints as artifacts (``True``: at the end of training).
    """

    def __init__(
        self,
        experiment_name: str = "gnnchi",
        run_name: str | None = None,
        tracking_uri: str | None = None,
        artifact_location: str | None = None,
        log_model: bool = True,
    ):
        uri = resolve_tracking_uri(tracking_uri)
        self.resolved_tracking_uri = uri  # the store or server this run goes to (for the fit summary)
        if artifact_location is None and uri.startswith("sqlite:"):
            artifact_location = Path(DEFAULT_ARTIFACTS).resolve().as_uri()
        super().__init__(
            experiment_name=experiment_name,
            run_name=run_name,
            tracking_uri=uri,
            artifact_location=artifact_location,
            log_model=log_model,
        )


def mlflow_client(experiment_name: str, tracking_uri: str | None = None):
    """An MLflow client on gnnchi's store and the id of ``experiment_name`` (created with the default artifact location)."""
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is not None:
        return client, experiment.experiment_id
    location = Path(DEFAULT_ARTIFACTS).resolve().as_uri() if uri.startswith("sqlite:") else None
    experiment_id = client.create_experiment(experiment_name, artifact_location=location)
    client.set_experiment_tag(experiment_id, *EXPERIMENT_KIND_TAG)
    return client, experiment_id
