"""``evaluate``: every fold of a protocol with an ensemble and baselines on the same folds."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.cli import main
from gnnchi.evaluation.metrics import score
from gnnchi.inference.calibration import fit_task, read_pooled
from gnnchi.systems import CHI
from tests.by_hand import novelty_by_hand

QUICK = str(Path(__file__).parents[2] / "configs" / "quick.yaml")


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
    term = CHI.task("chi_exp").value_term  # the calibration's value term, as the system declares it
    assert term == "threshold"  # chi_exp's: centred on the miscibility threshold 0.5
    for fold, other in ((0, 1), (1, 0)):  # pooled: fold k's std is calibrated on the other fold's test rows only
        mine, theirs = predictions[predictions["fold"] == fold], predictions[predictions["fold"] == other]
        inputs = lambda rows: [rows[f"gnnchi_{c}"] for c in ("chi_exp_spread", "novelty_polymer", "novelty_solvent", "chi_exp")]
        fitted = fit_task(theirs["gnnchi_chi_exp"] - theirs["chi_exp"], *inputs(theirs), value_term=term, value_center=0.5)
        std = fitted.sigma(*inputs(mine))
        np.testing.assert_allclose(mine["gnnchi_chi_exp_std_pooled"], std)
        error, has = (mine["gnnchi_chi_exp"] - mine["chi_exp"]).abs(), mine["chi_exp"].notna()
        assert metrics["folds"][fold]["within_2sigma_chi_exp_pooled"] == pytest.approx(np.mean(error[has] <= 2 * std[has]))
    calibration, source = read_pooled(out / "calibration.json")  # the one release gives: fitted on every fold's rows
    error = predictions["gnnchi_chi_exp"] - predictions["chi_exp"]
    everything = fit_task(error, *inputs(predictions), value_term=term, value_center=0.5)
    assert calibration["chi_exp"] == everything and source["folds"] == [0, 1] and source["members"] == 2
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
    # ... and retrains when the config file's contents change (fold 0 alone is enough to show it)
    config.write_text(Path(QUICK).read_text().replace("max_epochs: 2", "max_epochs: 1"))
    main([*args[: args.index("--folds")], "--folds", "0", "--baselines", "cosmo_rs"])
    assert checkpoint.stat().st_mtime_ns != before


def test_evaluate_scores_each_fold_on_rows_its_model_never_saw(small_table, tmp_path, monkeypatch):
    """The fit of fold k (a LightningCLI run of its own, with its own split) and evaluate's scoring of
    fold k (``split_indices`` again) must agree: the model trained and validated on the other folds'
    rows only, evaluate scored it on all of fold k's rows, and the baselines' parts are the fit's parts.
    ``RecordSplit`` writes the rows the fit used; a spy keeps the parts evaluate drew."""
    import gnnchi.evaluation.run as evaluation
    from gnnchi.data import ChiDataModule
    from tests.callbacks import SPLIT_FILE

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    drawn, split_indices = [], evaluation.split_indices

    def spy(*args, **kwargs):
        drawn.append(split_indices(*args, **kwargs))
        return drawn[-1]

    monkeypatch.setattr(evaluation, "split_indices", spy)
    folds, out = (0, 3), tmp_path / "out"
    record = json.dumps([{"class_path": "tests.callbacks.RecordSplit"}])
    main(["evaluate", "--config", QUICK, "--data.data", str(small_table), "--protocol", "leave-solvent-out",
          "--output", str(out), "--members", "1", "--folds", *map(str, folds), "--baselines",
          "--trainer.max_epochs", "1", "--trainer.callbacks", record])  # fmt: skip

    table = ChiDataModule(data=str(small_table)).prepare_records().table.reset_index(drop=True)
    position = dict(zip(table["row"], table.index))  # file line -> row of the records table
    predictions = pd.read_csv(out / "predictions.csv")
    identity = ["polymer", "solvent", "temperature_K"]
    assert len(drawn) == len(folds)
    tested = []
    for fold, parts in zip(folds, drawn):
        fit = json.loads((out / "models" / "gnnchi" / f"fold_{fold}" / SPLIT_FILE).read_text())
        for part in ("train", "val"):  # the rows of the batches drawn belong to the parts recorded
            assert fit[f"{part}_batches"] and set(fit[f"{part}_batches"]) <= set(fit[part]), (fold, part)
        scored = predictions[predictions["fold"] == fold]
        test = [position[line] for line in scored["row"]]
        assert (scored[identity].to_numpy() == table.loc[test, identity].to_numpy()).all()
        assert len(set(test)) == len(test)
        seen = set(fit["train"]) | set(fit["val"])
        assert not seen & set(test), f"fold {fold}: the model trained or validated on {len(seen & set(test))} test rows"
        assert seen | set(test) == set(table.index), f"fold {fold}: the test rows are not the whole fold"
        shared = set(table.loc[test, "solvent_key"]) & set(table.loc[sorted(seen), "solvent_key"])
        assert not shared, f"fold {fold}: test solvents trained on: {sorted(shared)[:3]}"
        for part in ("train", "val", "test"):  # the baselines train on evaluate's parts
            fitted = fit[part] if part != "test" else sorted(test)
            assert sorted(parts[part].tolist()) == fitted, f"fold {fold}: evaluate's {part} rows are not the fit's"
        tested.append(set(test))
        training = table.loc[parts["train"], "solvent"].unique().tolist()  # novelty: against the fit's training rows
        assert scored["gnnchi_novelty_solvent"].to_numpy() == pytest.approx(novelty_by_hand(scored["solvent"], training, "solvent"))
    assert not tested[0] & tested[1]


def test_evaluate_refuses_bad_options(tmp_path, capsys):
    for extra, message in ((["--folds", "7"], "folds must be in"), (["--baselines", "chemprop"], "chemprop_venv")):
        with pytest.raises(SystemExit) as status:
            main(["evaluate", "--config", QUICK, "--protocol", "seed-folds", "--output", str(tmp_path), *extra])
        assert status.value.code == 2 and message in capsys.readouterr().err
