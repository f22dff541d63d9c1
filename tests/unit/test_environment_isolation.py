"""conftest's ``restore_environment``: what a test does to ``os.environ`` and to mlflow's global URIs
is undone before the next test. The first test leaves traces, the second (run after it, in file
order) finds none."""

import os

import pytest

ADDED, CHANGED, REMOVED = "GNNCHI_TEST_ADDED", "GNNCHI_TEST_CHANGED", "GNNCHI_TEST_REMOVED"
OUTER_URI = os.environ.get("MLFLOW_TRACKING_URI")  # the environment the suite started in
left_traces = []


@pytest.fixture(scope="module")
def preset():
    """Variables present before either test (set, and removed, by this module-scoped fixture)."""
    os.environ[CHANGED], os.environ[REMOVED] = "before", "before"
    yield
    os.environ.pop(CHANGED, None), os.environ.pop(REMOVED, None)


def test_a_test_changes_the_environment_and_mlflow_uris(preset, tmp_path):
    import mlflow

    os.environ[ADDED] = "added"  # set directly: monkeypatch would have undone it itself
    os.environ[CHANGED] = "changed"
    del os.environ[REMOVED]
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'leak.db'}")  # also sets MLFLOW_TRACKING_URI
    mlflow.set_registry_uri(f"sqlite:///{tmp_path / 'leak.db'}")
    assert os.environ["MLFLOW_TRACKING_URI"].endswith("leak.db")
    left_traces.append(True)


def test_the_next_test_finds_the_environment_as_it_was(preset):
    if not left_traces:
        pytest.skip("runs after test_a_test_changes_the_environment_and_mlflow_uris (run the file)")
    from mlflow.tracking._model_registry import utils as registry
    from mlflow.tracking._tracking_service import utils as tracking

    assert ADDED not in os.environ
    assert os.environ[CHANGED] == "before" and os.environ[REMOVED] == "before"
    assert os.environ.get("MLFLOW_TRACKING_URI") == OUTER_URI
    assert tracking._tracking_uri is None and registry._registry_uri is None
    assert "leak.db" not in tracking.get_tracking_uri()
