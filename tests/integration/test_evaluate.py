"""``evaluate``: every fold of a protocol with an ensemble and baselines on the same folds."""

import json
from pathlib import Path

import pandas as pd
import pytest

from gnnchi.cli import main
from gnnchi.evaluation.metrics import score

QUICK = str(Path(__file__).parents[2] / "configs" / "quick.yaml")


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    """About 150 real rows of the bundled data: chi_exp with its COSMO-RS twin, and solubility labels."""
    from gnnchi.datasets import bundled_pairs

    table = bundled_pairs()
    chi = table[table["chi_exp"].notna()].sample(60, random_state=0)
    keys = chi[["polymer", "solvent", "temperature_K"]]
    cosmo = table[table["chi_cosmo"].notna()].merge(keys, on=["polymer", "solvent", "temperature_K"])
    soluble = table[table["soluble"].notna()].groupby("soluble").sample(30, random_state=0)
    frame = pd.concat([chi, cosmo, soluble])[["polymer", "solvent", "temperature_K", "soluble", "chi_exp", "chi_cosmo"]]
    path = tmp_path_factory.mktemp("data") / "pairs.csv"
    frame.to_csv(path, index=False)
    return path


def test_evaluate_writes_metrics_report_plots_and_mlflow_run(small_table, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the default store: ./mlflow.db
    out, config = tmp_path / "out", tmp_path / "quick.yaml"
    config.write_text(Path(QUICK).read_text())
    args = ["evaluate", "--config", str(config), "--data.data", str(small_table), "--protocol", "leave-solvent-out",
            "--output", str(out), "--members", "2", "--folds", "0", "1",
            "--baselines", "gnnchi_single_model", "single_task", "descriptor_mlp", "random_forest", "cosmo_rs"]  # fmt: skip
    main(args)
    metrics = json.loads((out / "metrics.json").read_text())
    assert [f["fold"] for f in metrics["folds"]] == [0, 1] and metrics["members"] == 2
    for summary in (metrics, *metrics["baselines"].values()):
        assert {"r2_chi_exp", "mae_chi_exp"} <= set(summary["mean"]) and set(summary["mean"]) == set(summary["std"])
    assert set(metrics["baselines"]) == {
        "gnnchi_single_model",
        "single_task",
        "descriptor_mlp",
        "random_forest",
        "cosmo_rs",
    }
    assert "within_1sigma_chi_exp" in metrics["mean"] and "auc_soluble" in metrics["baselines"]["random_forest"]["mean"]
    assert "auc_soluble" not in metrics["baselines"]["single_task"]["mean"]  # its soluble head never trained

    predictions = pd.read_csv(out / "predictions.csv")
    for fold in (0, 1):  # the written metrics are those of the written predictions
        part = predictions[predictions["fold"] == fold]
        pred = pd.DataFrame({c: part[f"gnnchi_{c}"].to_numpy() for c in ("chi_exp", "chi_exp_std", "p_soluble")})
        again = score(part, pred)
        assert again["r2_chi_exp"] == pytest.approx(metrics["folds"][fold]["r2_chi_exp"], abs=1e-9)
    cosmo = predictions.dropna(subset=["cosmo_rs_chi_exp"])
    assert len(cosmo) > 0 and (predictions["gnnchi_chi_exp_std"].dropna() > 0).all()
    assert (out / "parity.png").stat().st_size > 1000 and (out / "calibration.png").stat().st_size > 1000
    assert "| gnnchi (ensemble) |" in (out / "report.md").read_text()
    manifest = json.loads((out / "models" / "gnnchi" / "fold_0" / "ensemble.json").read_text())
    assert manifest["members"] == ["member_0/best.ckpt", "member_1/best.ckpt"]

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")  # (mlflow.set_tracking_uri would set the env var)
    (run,) = client.search_runs([client.get_experiment_by_name("gnnchi-evaluate").experiment_id])
    assert run.data.metrics["gnnchi/mean/r2_chi_exp"] == pytest.approx(metrics["mean"]["r2_chi_exp"])
    assert "baseline/cosmo_rs/mean/mae_chi_exp" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"metrics.json", "report.md", "parity.png", "calibration.png"} <= artifacts

    # a second run reuses the trained models (same fit arguments)
    checkpoint = out / "models" / "gnnchi" / "fold_0" / "member_0" / "best.ckpt"
    before = checkpoint.stat().st_mtime_ns
    main([*args[:-5], "cosmo_rs"])
    assert checkpoint.stat().st_mtime_ns == before
    assert json.loads((out / "metrics.json").read_text())["folds"] == metrics["folds"]
    # ... and retrains when the config file's contents change
    config.write_text(Path(QUICK).read_text().replace("max_epochs: 2", "max_epochs: 1"))
    main([*args[:-5], "cosmo_rs"])
    assert checkpoint.stat().st_mtime_ns != before


def test_evaluate_refuses_bad_options(tmp_path, capsys):
    for extra, message in ((["--folds", "7"], "folds must be in"), (["--baselines", "chemprop"], "chemprop_venv")):
        with pytest.raises(SystemExit) as status:
            main(["evaluate", "--config", QUICK, "--protocol", "seed-folds", "--output", str(tmp_path), *extra])
        assert status.value.code == 2 and message in capsys.readouterr().err


def test_tune_is_reproducible_and_writes_a_config_layer(small_table, tmp_path, monkeypatch):
    import yaml

    from gnnchi.evaluation.tuning import sample_trials

    assert sample_trials(5, seed=3) == sample_trials(5, seed=3) != sample_trials(5, seed=4)
    monkeypatch.chdir(tmp_path)
    args = ["tune", "--config", QUICK, "--data.data", str(small_table), "--protocol", "leave-polymer-out",
            "--output", str(tmp_path / "tune"), "--trials", "2", "--inner", "2", "--seed", "3"]  # fmt: skip
    main(args)
    trials = pd.read_csv(tmp_path / "tune" / "trials.csv")
    assert len(trials) == 2 and trials["mean_r2_chi_exp"].is_monotonic_decreasing
    best = yaml.safe_load((tmp_path / "tune" / "best.yaml").read_text())
    expected = sample_trials(2, seed=3)[int(trials["trial"].iloc[0])]
    assert best["model"]["depth"] == expected["model.depth"] and set(best["model"]["task_weights"]) == {
        "chi_exp",
        "chi_cosmo",
        "soluble",
    }
    # the best layer is a valid config on top of the base one
    main(["fit", "--config", QUICK, "--config", str(tmp_path / "tune" / "best.yaml"), "--data.data", str(small_table),
          "--data.split", "pair", "--trainer.logger", "false", "--checkpoint.dirpath", str(tmp_path / "ck")])  # fmt: skip
    assert (tmp_path / "ck" / "best.ckpt").is_file()
