"""The solubility protocol's figure: ROC and reliability of P(soluble), gnnchi and the baselines that
predict it; ``evaluate`` writes and logs it in place of the chi parity plot. A synthetic predictions frame."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from gnnchi.evaluation.plots import plot_files, plot_solubility, reliability, write_plots
from gnnchi.evaluation.protocols import PROTOCOLS

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def predictions():
    """evaluate's predictions.csv columns: 200 labelled rows (a good and a random P(soluble)), and chi
    rows without labels."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200).astype(float)
    labelled = pd.DataFrame({
        "fold": rng.integers(0, 5, 200), "soluble": y, "chi_exp": np.nan,
        "gnnchi_chi_exp": np.nan, "gnnchi_chi_exp_std": np.nan,
        "gnnchi_p_soluble": np.clip(0.2 + 0.6 * y + rng.normal(0, 0.2, 200), 0, 1), "gnnchi_p_soluble_std": 0.05,
        "random_forest_chi_exp": np.nan, "random_forest_p_soluble": rng.uniform(0, 1, 200),
        "single_task_chi_exp": np.nan, "single_task_p_soluble": np.nan,  # trained without the soluble head
    })  # fmt: skip
    chi = pd.DataFrame({"fold": [0, 1, 2], "soluble": np.nan, "chi_exp": [0.3, 0.8, 1.2],
                        "gnnchi_chi_exp": [0.4, 0.7, 1.0], "gnnchi_chi_exp_std": [0.1, 0.1, 0.1],
                        "gnnchi_p_soluble": [0.9, 0.1, 0.1], "single_task_p_soluble": [0.5, 0.5, 0.5]})  # fmt: skip
    return pd.concat([labelled, chi], ignore_index=True)


def test_roc_and_reliability_of_each_method_that_predicts_p_soluble(predictions, tmp_path):
    drawn = plot_solubility(predictions, tmp_path / "roc.png", "solubility")
    assert (tmp_path / "roc.png").read_bytes()[:8] == PNG
    assert list(drawn) == ["gnnchi", "random_forest"]  # single_task has no P(soluble) on a labelled row
    labelled = predictions[predictions["soluble"].notna()]
    for method, curve in drawn.items():
        p = labelled[f"{method}_p_soluble"]
        assert curve["auc"] == pytest.approx(roc_auc_score(labelled["soluble"], p), abs=1e-12)
        assert curve["n"] == len(labelled)
    assert drawn["gnnchi"]["auc"] > 0.9 and abs(drawn["random_forest"]["auc"] - 0.5) < 0.15


def test_reliability_bins_predictions_and_counts_the_observed_share():
    p = np.array([0.0, 0.05, 0.12, 0.18, 0.55, 0.95, 1.0, 1.0])
    y = np.array([0, 0, 1, 0, 1, 1, 1, 0], dtype=float)
    bins = reliability(p, y)
    assert bins["bin"].tolist() == [0, 1, 5, 9]  # 1.0 goes to the last bin; empty bins are left out
    assert bins["n"].tolist() == [2, 2, 1, 3]
    np.testing.assert_allclose(bins["p"], [0.025, 0.15, 0.55, (0.95 + 1 + 1) / 3])
    np.testing.assert_allclose(bins["y"], [0.0, 0.5, 1.0, 2 / 3])


def test_evaluate_writes_and_logs_the_roc_for_the_solubility_protocol_and_parity_for_chi(
    predictions, tmp_path, monkeypatch
):
    from mlflow import MlflowClient

    from gnnchi.evaluation.tracking import log_evaluation

    assert set(PROTOCOLS) == {"seed-folds", "leave-polymer-out", "leave-solvent-out", "solubility"}
    assert plot_files("solubility") == ("roc.png", "calibration.png")
    for protocol in ("seed-folds", "leave-polymer-out", "leave-solvent-out"):
        assert plot_files(protocol) == ("parity.png", "calibration.png")
    result = {"protocol": "solubility", "split": "polymer", "task": "soluble", "members": 1, "config_args": [],
              "folds": [{"fold": 0, "auc_soluble": 0.8}], "mean": {"auc_soluble": 0.8}, "std": {"auc_soluble": 0.0},
              "baselines": {}}  # fmt: skip
    for protocol in ("solubility", "seed-folds"):
        out = tmp_path / protocol
        out.mkdir()
        figures = write_plots(predictions, out, protocol)
        written = {f.name for f in out.iterdir()}
        assert written == set(figures) == set(plot_files(protocol))
        assert all((out / name).read_bytes()[:8] == PNG for name in figures)
        if protocol == "solubility":  # the files evaluate hands to its MLflow run are the ones written
            for name in ("metrics.json", "report.md", "predictions.csv"):
                (out / name).write_text("x")
            monkeypatch.chdir(tmp_path)  # the artifact store of a sqlite URI: ./mlartifacts
            uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
            log_evaluation(result, out, "plots", uri, figures)
            client = MlflowClient(uri)
            (run,) = client.search_runs([client.get_experiment_by_name("plots").experiment_id])
            artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
            assert {"roc.png", "calibration.png"} <= artifacts and "parity.png" not in artifacts
