"""MLflow tracking: a local sqlite store by default, a server when MLFLOW_TRACKING_URI says so; a server that
cannot be reached at the start is one line and exit status 2, one that goes away mid-fit costs no training."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from gnnchi.errors import TrackingServerError

log = logging.getLogger(__name__)

# MLflow 3 opens experiments in its GenAI view unless they say they are model training
EXPERIMENT_KIND_TAG = ("mlflow.experimentKind", "custom_model_development")
DEFAULT_STORE = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"
LOCAL_FALLBACK_ENV = "GNNCHI_MLFLOW_LOCAL_FALLBACK"  # 1: a fit whose server cannot be reached goes to the local store
PROBE_SECONDS = 3.0  # one GET of the server's /health
REPLAYED = ("log_batch", "log_text", "log_figure")  # client calls kept for a later send or a fallback run


def local_store_uri() -> str:
    """``sqlite:///<cwd>/mlflow.db``."""
    return f"sqlite:///{Path(DEFAULT_STORE).resolve()}"


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """One process at a time inside this block on the local sqlite store ``uri`` (a server needs none): MLflow
    makes a new store's tables and an experiment without a lock, so fits started together on a new store
    failed ("table ... already exists"). The lock is the file ``<store>.lock`` beside the store."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    store = Path(uri.removeprefix("sqlite:///"))
    store.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(store.with_name(f"{store.name}.lock")):
        yield


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    """The given URI, else ``$MLFLOW_TRACKING_URI``, else the local store."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or local_store_uri()


def server_problem(uri: str) -> str | None:
    """Why the MLflow server at ``uri`` cannot take a run now (its ``/health``, within ``PROBE_SECONDS``), or None."""
    parts = urllib.parse.urlsplit(uri)
    health = parts._replace(netloc=parts.netloc.rpartition("@")[2], path=f"{parts.path.rstrip('/')}/health")
    try:
        with urllib.request.urlopen(health.geturl(), timeout=PROBE_SECONDS):  # credentials in the URI left out
            return None
    except urllib.error.HTTPError as err:  # MLflow answers 200, without login too; 401/403: a login proxy in front
        if err.code in (401, 403):
            return None
        return f"HTTP {err.code} from {health.path}" + (": is it an MLflow server?" if err.code < 500 else "")
    except (OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return getattr(reason, "strerror", None) or str(reason)


def wants_local_fallback(local_fallback: bool | None) -> bool:
    """``local_fallback`` if given, else ``$GNNCHI_MLFLOW_LOCAL_FALLBACK`` (1, true or yes)."""
    if local_fallback is not None:
        return local_fallback
    return os.environ.get(LOCAL_FALLBACK_ENV, "").strip().lower() in ("1", "true", "yes")


@dataclass
class _Call:
    """A client call of the run (its run id left out), and whether the server has it."""

    name: str
    args: tuple
    kwargs: dict
    sent: bool = False


class _ServerClient:
    """The logger's MLflow client as callers see it while the run is on a server: every call goes through
    :meth:`GnnChiMLFlowLogger._send`."""

    def __init__(self, logger: GnnChiMLFlowLogger):
        self._logger = logger

    def __getattr__(self, name: str):
        attribute = getattr(self._logger._mlflow_client, name)
        return functools.partial(self._logger._send, name) if callable(attribute) else attribute


class GnnChiMLFlowLogger(MLFlowLogger):
    """Lightning's MLFlowLogger with gnnchi's defaults (checkpoints logged as artifacts), a run marked
    ``KILLED`` on Ctrl-C, and a server that may go away.

    A server that cannot be reached when the run is made stops the fit (:class:`TrackingServerError`),
    or, with ``local_fallback``, sends the run to the local store. A server that stops answering later
    costs no training: metrics, parameters, texts and figures it could not take are kept, and sent when
    it answers again (tried every ``retry_seconds``, and at the end); if it is still away at the end, the
    whole run, with what the server missed, goes to the local store. :attr:`tracking_note` says which.

    Args:
        experiment_name: MLflow experiment.
        run_name: MLflow run name.
        tracking_uri: store or server; default ``$MLFLOW_TRACKING_URI`` or a local sqlite file.
        artifact_location: where a new experiment keeps artifacts; default ``./mlartifacts``
            for a local store (a server chooses its own).
        log_model: log checkpoints as artifacts (``True``: at the end of training).
        local_fallback: a server that cannot be reached at the start sends the run to the local store, with
            a warning, instead of stopping; default ``$GNNCHI_MLFLOW_LOCAL_FALLBACK``.
        retry_seconds: while the server is away, how often to try it again.
    """

    def __init__(
        self,
        experiment_name: str = "gnnchi",
        run_name: str | None = None,
        tracking_uri: str | None = None,
        artifact_location: str | None = None,
        log_model: bool = True,
        local_fallback: bool | None = None,
        retry_seconds: float = 60.0,
    ):
        uri = resolve_tracking_uri(tracking_uri)
        self.tracking_note = ""  # what happened to the server, for the fit summary
        self._server = uri if uri.startswith(("http://", "https://")) else None  # None: the run is in a local store
        self._local_fallback = local_fallback
        self.resolved_tracking_uri = uri  # the store or server this run goes to (for the fit summary)
        if artifact_location is None and uri.startswith("sqlite:"):
            artifact_location = Path(DEFAULT_ARTIFACTS).resolve().as_uri()
        with store_lock(uri):  # MLflow's client makes a new store's tables
            super().__init__(
                experiment_name=experiment_name,
                run_name=run_name,
                tracking_uri=uri,
                artifact_location=artifact_location,
                log_model=log_model,
            )
        self._retry_seconds = retry_seconds
        self._calls: list[_Call] = []  # the REPLAYED calls of the run on a server, in order
        self._away_since: float | None = None  # when the server last failed to answer; None while it answers
        self._resent = 0  # metric values the server took late, after it was away

    @property
    @rank_zero_experiment
    def experiment(self):
        """The run's MLflow client; the run is made on first use, after :meth:`check_server`. On a server, calls
        go through :meth:`_send`."""
        if not self._initialized:
            self.check_server()
            with store_lock(self._tracking_uri):  # the experiment may be made here
                MLFlowLogger.experiment.fget(self)
        return self._mlflow_client if self._server is None else _ServerClient(self)

    @rank_zero_only
    def check_server(self) -> None:
        """Before the run is made: if its server cannot be reached, stop (:class:`TrackingServerError`), or with
        ``local_fallback`` move the run to the local store."""
        if self._server is None or self._initialized or not (problem := server_problem(self._server)):
            return
        if not wants_local_fallback(self._local_fallback):
            raise TrackingServerError(
                f"the MLflow tracking server {self._server} cannot be reached ({problem}). Start it, or track this "
                f"fit in the local sqlite store ./{DEFAULT_STORE}: {LOCAL_FALLBACK_ENV}=1 (config: "
                "trainer.logger.init_args.local_fallback: true)"
            )
        self._fall_back(f"the MLflow server {self._server} could not be reached ({problem}): the run is in "
                        f"{local_store_uri()}")  # fmt: skip

    def _send(self, name: str, *args, **kwargs):
        """The client's ``name`` on the server. A REPLAYED call (the run's data, always to this logger's run) is
        kept, and sent with any kept before it unless the server is away; another call made while the server
        is away does nothing and returns None."""
        method = getattr(self._mlflow_client, name)
        if name in REPLAYED:
            args = args if kwargs.pop("run_id", None) else args[1:]
            if self._server is None:  # moved to the local store since the caller got the client
                return method(self._run_id, *args, **kwargs)
            call = _Call(name, args, kwargs)
            self._calls.append(call)
            self._deliver()
            return None
        if self._server is None:
            return method(*args, **kwargs)
        if not self._deliver():
            return None
        try:
            return method(*args, **kwargs)
        except Exception as err:  # what is not the server's absence is raised again
            self._note_away(err)
            return None

    def _deliver(self, force: bool = False) -> bool:
        """Send the kept calls unless the server is away (tried again after ``retry_seconds``, or now with
        ``force``); True when the server has them all."""
        if self._away_since is not None:
            if not force and time.monotonic() - self._away_since < self._retry_seconds:
                return False
            if server_problem(self._server):
                self._away_since = time.monotonic()
                return False
        kept = [call for call in self._calls if not call.sent]
        for call in kept:
            try:
                getattr(self._mlflow_client, call.name)(self._run_id, *call.args, **call.kwargs)
            except Exception as err:  # what is not the server's absence is raised again
                self._note_away(err)
                return False
            call.sent = True
        if self._away_since is not None:
            self._away_since, self._resent = None, self._resent + metric_values(kept)
            self.tracking_note = (f"the MLflow server {self._server} was away during the fit; the {self._resent} "
                                  "metric value(s) it missed were kept and sent when it answered again")  # fmt: skip
            log.warning("gnnchi: %s", self.tracking_note)
        return True

    def _note_away(self, err: Exception) -> None:
        """The server did not take a call: note when, and warn the first time; ``err`` is raised again if it
        is not about the server's absence."""
        if not server_away(err):
            raise err
        if self._away_since is None:
            log.warning("gnnchi: warning: the MLflow server %s does not answer (%s); training goes on, and what the "
                        "server misses is kept and sent when it answers again, else written to the local store at "
                        "the end", self._server, server_problem(self._server) or str(err)[:200])  # fmt: skip
        self._away_since = time.monotonic()

    def _fall_back(self, note: str) -> None:
        """Move the run to the local store, saying ``note``: a run there gets every kept call, sent or not, and
        the checkpoints; it names the server run it replaces."""
        server_run, uri = self._run_id, local_store_uri()
        self._mlflow_client, self._experiment_id = mlflow_client(self._experiment_name, uri)
        self._server, self._tracking_uri, self.resolved_tracking_uri = None, uri, uri
        self._run_id, self._initialized, self._logged_model_time = None, False, {}
        self.tracking_note = note
        log.warning("gnnchi: warning: %s", note)
        self.tags = {k: v for k, v in (self.tags or {}).items() if k != "mlflow.runName"}  # set again from run_name
        if server_run:
            self.tags["gnnchi.server_run"] = server_run
        if self._calls:
            MLFlowLogger.experiment.fget(self)  # the local run
            for call in self._calls:
                getattr(self._mlflow_client, call.name)(self._run_id, *call.args, **call.kwargs)
            self._calls = []

    def _lost(self) -> None:
        """The server is still away at the end: the run goes to the local store."""
        missed = metric_values([call for call in self._calls if not call.sent])
        self._fall_back(f"the MLflow server {self._server} stopped answering: the whole run, with the {missed} metric "
                        f"value(s) the server missed, is in {local_store_uri()} (the server's run {self._run_id} is "
                        "incomplete)")  # fmt: skip

    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        """End the run as ``status`` (``KILLED`` on Ctrl-C) once the server has what was kept for it, or once the
        run moved to the local store. Ending a failed run never hides why it failed."""
        if status == "failed" and isinstance(sys.exc_info()[1], KeyboardInterrupt):
            status = "KILLED"  # Lightning finalizes its loggers inside its `except KeyboardInterrupt`
        try:
            if self._initialized and self._server is not None and not self._deliver(force=True):
                self._lost()
            super().finalize(status)
            if self._server is not None and self._away_since is not None:  # it went away while checkpoints were sent
                self._lost()
                super().finalize(status)
        except Exception as err:  # a failed run ends with its own error, not this one
            if status == "success":
                raise
            log.warning("gnnchi: warning: the MLflow run %s could not be ended as %s: %s", self._run_id, status, err)


def metric_values(calls: list[_Call]) -> int:
    """How many metric values ``calls`` log."""
    return sum(len(call.kwargs.get("metrics") or ()) for call in calls if call.name == "log_batch")


def server_away(err: Exception) -> bool:
    """Whether a failed MLflow call says that the server is away (no answer, or a server error), not that the
    call was wrong."""
    from mlflow.exceptions import MlflowException, RestException

    if isinstance(err, RestException):
        return err.get_http_status_code() >= 500
    return isinstance(err, (MlflowException, OSError))


def mlflow_client(experiment_name: str, tracking_uri: str | None = None):
    """An MLflow client on gnnchi's store and the id of ``experiment_name`` (created with the default artifact location)."""
    from mlflow.tracking import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    with store_lock(uri):
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(experiment_name)
        if experiment is not None:
            return client, experiment.experiment_id
        location = Path(DEFAULT_ARTIFACTS).resolve().as_uri() if uri.startswith("sqlite:") else None
        experiment_id = client.create_experiment(experiment_name, artifact_location=location)
        client.set_experiment_tag(experiment_id, *EXPERIMENT_KIND_TAG)
        return client, experiment_id
