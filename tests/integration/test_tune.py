"""``tune``: an Optuna study over SPACE, scored on grouped inner validation draws from the outer
training part only; resumable from its sqlite storage without refitting finished fits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import yaml

from gnnchi.cli import main

ROOT = Path(__file__).parents[2]
QUICK = str(ROOT / "configs" / "quick.yaml")
KILL_ENV = "GNNCHI_TEST_KILL_IN_INNER_1"


class SigkillInInner1(L.Callback):
    """SIGKILL this process when a fit into a folder named ``inner_1`` starts training, if ``KILL_ENV``
    is set (the callback is part of the config, so the resumed run, without the variable, keeps the
    study's fingerprint)."""

    def on_train_start(self, trainer, pl_module):
        if os.environ.get(KILL_ENV) and Path(trainer.checkpoint_callback.dirpath).name == "inner_1":
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture
def fits(monkeypatch):
    """The folders of the fits that really ran (``fit_cached`` calls LightningCLI only for those)."""
    import gnnchi.training.cli as training

    folders, run = [], training.run_lightning_cli

    def spy(args, *rest, **kwargs):
        if args and args[0] == "fit":
            folders.append(Path(args[args.index("--checkpoint.dirpath") + 1]))
        return run(args, *rest, **kwargs)

    monkeypatch.setattr(training, "run_lightning_cli", spy)
    return folders


def tune_args(data, out, *extra, seed: int = 3) -> list[str]:
    return ["tune", "--config", QUICK, "--data.data", str(data), "--output", str(out), "--inner", "2", "--seed",
            str(seed), *extra]  # fmt: skip


def load(out: Path):
    import optuna

    return optuna.load_study(study_name="gnnchi-tune", storage=f"sqlite:///{out / 'study.db'}")


def test_tune_is_reproducible_and_best_yaml_is_the_studys_best_trial(small_table, tmp_path, monkeypatch):
    from gnnchi.cli import build_parser
    from gnnchi.evaluation.tuning import SPACE, as_config, first_trials

    assert build_parser().parse_args(["tune", "--config", QUICK, "--output", "x"]).protocol == "leave-polymer-out"
    assert first_trials(5, seed=3) == first_trials(5, seed=3) != first_trials(5, seed=4)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "tune"
    main(tune_args(small_table, out, "--trials", "2"))  # no --protocol: leave-polymer-out
    study = load(out)
    assert study.user_attrs["gnnchi_setup"]["protocol"] == "leave-polymer-out"
    stamp = json.loads((out / "models" / "trial_0" / "inner_0" / "evaluate_fit.json").read_text())
    assert stamp["args"][stamp["args"].index("--data.split") + 1] == "polymer"
    # the same seed, the same first trials: those first_trials promises, drawn through the real study
    assert [{key: t.params[key] for key in SPACE} for t in study.trials] == first_trials(2, seed=3)

    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 2 and (trials["state"] == "COMPLETE").all()
    assert trials["mean_r2_chi_exp"].is_monotonic_decreasing and trials["mean_r2_chi_exp"].nunique() == 2
    best = study.best_trial
    assert int(trials["trial"].iloc[0]) == best.number
    assert trials["mean_r2_chi_exp"].iloc[0] == pytest.approx(best.value)
    assert trials["mean_r2_chi_exp"].iloc[0] == pytest.approx(trials[["inner_0", "inner_1"]].iloc[0].mean())
    text = (out / "best.yaml").read_text()
    assert yaml.safe_load(text) == as_config(best.params) and f"best: trial {best.number}," in text
    assert set(yaml.safe_load(text)["model"]["task_weights"]) == {"chi_exp", "chi_cosmo", "soluble"}
    # the best layer is a valid config on top of the base one
    main(["fit", "--config", QUICK, "--config", str(out / "best.yaml"), "--data.data", str(small_table),
          "--data.split", "pair", "--trainer.logger", "false",
          "--checkpoint.dirpath", str(tmp_path / "ck")])  # fmt: skip
    assert (tmp_path / "ck" / "best.ckpt").is_file()


def test_a_config_inside_the_space_is_trial_0_and_the_search_is_ranked_against_it(small_table, tmp_path, monkeypatch):
    from gnnchi.evaluation.tuning import SPACE, first_trials

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "tune"
    inside = {"model.depth": 3, "model.hidden_dim": 128, "model.latent_dim": 4, "model.dropout": 0.1, "model.lr": 2e-3,
              "model.task_weights.chi_exp": 4.0, "model.task_weights.chi_cosmo": 0.5, "model.task_weights.soluble": 1.0}  # fmt: skip
    weights = {k.split(".")[-1]: v for k, v in inside.items() if ".task_weights." in k}
    overrides = [a for k, v in inside.items() if ".task_weights." not in k for a in (f"--{k}", str(v))]
    main(tune_args(small_table, out, "--trials", "2", *overrides, "--model.task_weights", json.dumps(weights)))
    study = load(out)
    assert {key: study.trials[0].params[key] for key in SPACE} == inside  # the config itself, as written
    # the draws after it are those of a study without it, from trial 1 on
    assert {key: study.trials[1].params[key] for key in SPACE} == first_trials(2, seed=3)[1]
    trials = pd.read_csv(out / "trials.csv")
    assert trials.set_index("trial")["config"].to_dict() == {0: True, 1: False}
    mine = int(trials.index[trials["config"]][0]) + 1
    assert f"the config's own setting, trial 0, ranks {mine} of 2" in (out / "best.yaml").read_text()


@pytest.mark.slow  # about 30 s: the suite time budget (run with -m slow)
def test_tune_resumes_its_study_and_refits_nothing_finished(small_table, tmp_path, monkeypatch, fits, capsys):
    from gnnchi.evaluation.tuning import SPACE, first_trials

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "tune"
    main(tune_args(small_table, out, "--trials", "2"))
    assert sorted(fits) == [out / "models" / f"trial_{t}" / f"inner_{r}" for t in (0, 1) for r in (0, 1)]
    checkpoints = {p: p.stat().st_mtime_ns for p in (out / "models").glob("trial_*/inner_*/best.ckpt")}
    before = load(out).trials

    fits.clear()
    main(tune_args(small_table, out, "--trials", "3"))  # resumes: one trial more, its two fits only
    assert fits == [out / "models" / "trial_2" / f"inner_{r}" for r in (0, 1)]
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in checkpoints.items())
    study = load(out)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    same = ("params", "value", "datetime_start", "datetime_complete", "user_attrs")  # the stored trials, not redrawn
    assert [[getattr(t, a) for a in same] for t in study.trials[:2]] == [[getattr(t, a) for a in same] for t in before]
    # the resumed study drew what an uninterrupted one with the same seed draws
    assert [{key: t.params[key] for key in SPACE} for t in study.trials] == first_trials(3, seed=3)
    assert len(pd.read_csv(out / "trials.csv")) == 3

    fits.clear()
    main(tune_args(small_table, out, "--trials", "3"))  # the study is complete: nothing runs
    assert fits == [] and len(load(out).trials) == 3

    capsys.readouterr()
    with pytest.raises(SystemExit) as status:  # another seed (or fold, config, data): another study
        main(tune_args(small_table, out, "--trials", "4", "--trainer.max_epochs", "1", seed=4))
    assert status.value.code == 2
    err = capsys.readouterr().err
    assert "was run with seed 3, another config or data" in err and "--study_name" in err
    assert fits == [] and len(load(out).trials) == 3


def test_tune_never_trains_validates_or_scores_on_the_outer_test_fold(small_table, tmp_path, monkeypatch):
    """Each inner fit (a LightningCLI run with its own split) trains and validates on the outer training
    part only, and tune scores it on exactly the validation rows that fit validated on. ``RecordSplit``
    writes the rows each fit used; a spy keeps the rows tune scored."""
    from gnnchi.data import ChiDataModule
    from gnnchi.data.splits import assign_folds, group_keys
    from gnnchi.evaluation import tuning
    from tests.callbacks import SPLIT_FILE

    monkeypatch.chdir(tmp_path)
    scored, score = [], tuning.score

    def spy(rows, pred, *args, **kwargs):
        scored.append(rows.index.to_numpy())
        return score(rows, pred, *args, **kwargs)

    monkeypatch.setattr(tuning, "score", spy)
    out, test_fold = tmp_path / "tune", 2  # not the quick config's test fold (0)
    record = json.dumps([{"class_path": "tests.callbacks.RecordSplit"}])
    main(tune_args(small_table, out, "--trials", "1", "--test_fold", str(test_fold), "--trainer.max_epochs", "1",
                   "--trainer.callbacks", record))  # fmt: skip

    table = ChiDataModule(data=str(small_table)).prepare_records().table.reset_index(drop=True)
    test = set(map(int, (assign_folds(table, "polymer", 5, 0) == test_fold).nonzero()[0]))
    polymers = group_keys(table, "polymer")
    assert test and len(scored) == 2
    vals = []
    for r in (0, 1):
        fit = json.loads((out / "models" / "trial_0" / f"inner_{r}" / SPLIT_FILE).read_text())
        assert fit["test_fold"] == test_fold
        for part in ("train", "val"):  # the rows of the batches drawn belong to the parts recorded
            assert fit[f"{part}_batches"] and set(fit[f"{part}_batches"]) <= set(fit[part]), (r, part)
        seen = set(fit["train"]) | set(fit["val"])
        assert not seen & test, f"inner {r}: the fit trained or validated on {len(seen & test)} outer test rows"
        assert seen | test == set(table.index), f"inner {r}: the fit did not use the whole outer training part"
        shared = set(polymers[sorted(test)]) & set(polymers[sorted(seen)])
        assert not shared, f"inner {r}: outer test polymers trained on: {sorted(shared)[:3]}"
        assert sorted(scored[r].tolist()) == fit["val"], f"inner {r}: tune scored other rows than the fit validated on"
        assert not set(polymers[fit["val"]]) & set(polymers[fit["train"]]), f"inner {r}: validation not grouped"
        vals.append(set(fit["val"]))
    assert vals[0] != vals[1]  # two inner draws, two validation sets


def test_tune_records_failed_trials_and_goes_on(small_table, tmp_path, monkeypatch, capsys):
    from gnnchi.evaluation import tuning

    monkeypatch.chdir(tmp_path)
    calls, predict_rows = [], tuning.predict_rows

    def diverged_first(models, rows, hp):  # the first trial's fit "diverges": non-finite predictions
        calls.append(models)
        pred = predict_rows(models, rows, hp)
        return pred.assign(chi_exp=float("nan")) if len(calls) == 1 else pred

    monkeypatch.setattr(tuning, "predict_rows", diverged_first)
    out = tmp_path / "tune"
    main(tune_args(small_table, out, "--trials", "1", "--inner", "1"))
    trials = pd.read_csv(out / "trials.csv", keep_default_na=False)
    assert trials["state"].tolist() == ["COMPLETE", "FAIL"] and trials["trial"].tolist() == [1, 0]
    assert "inner 0: FloatingPointError: non-finite chi_exp predictions" in trials["fail_reason"].iloc[1]
    assert yaml.safe_load((out / "best.yaml").read_text()) == tuning.as_config(load(out).trials[1].params)

    def always_fails(*args, **kwargs):
        raise RuntimeError("loss is nan")

    monkeypatch.setattr(tuning, "fit_cached", always_fails)
    capsys.readouterr()
    with pytest.raises(SystemExit) as status:  # failures do not loop forever: max(3, --trials) of them per run
        main(tune_args(small_table, tmp_path / "failing", "--trials", "2", "--inner", "1"))
    assert status.value.code == 2 and "no trial of study 'gnnchi-tune' completed" in capsys.readouterr().err
    assert [t.state.name for t in load(tmp_path / "failing").trials] == ["FAIL"] * 3


@pytest.mark.slow  # about 25 s; a trial that fails is recorded by test_tune_records_failed_trials_and_goes_on
def test_tune_retries_a_trial_whose_process_died_in_its_folder(small_table, tmp_path, monkeypatch, fits):
    """A tune process SIGKILLed inside trial 0's second fit leaves the trial running; once its heartbeat
    is stale, the next run fails it and retries its settings in trial_0's folder: the first fit is reused."""
    from gnnchi.evaluation import tuning

    out = tmp_path / "tune"
    kill = json.dumps([{"class_path": "tests.integration.test_tune.SigkillInInner1"}])
    args = tune_args(small_table, out, "--trials", "1", "--trainer.callbacks", kill)
    env = {**os.environ, "PYTHONPATH": str(ROOT), KILL_ENV: "1"}
    killed = subprocess.run([sys.executable, "-m", "gnnchi", *args], check=False, cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert [t.state.name for t in load(out).trials] == ["RUNNING"]
    first = out / "models" / "trial_0" / "inner_0" / "best.ckpt"
    mtime, died = first.stat().st_mtime_ns, time.monotonic()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tuning, "GRACE_PERIOD_S", 1)
    monkeypatch.setattr(tuning, "HEARTBEAT_S", 1)
    time.sleep(max(0.0, 2.5 - (time.monotonic() - died)))  # heartbeats are stamped to the second
    main(args)
    assert fits == [out / "models" / "trial_0" / "inner_1"] and first.stat().st_mtime_ns == mtime
    study = load(out)
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]
    assert study.trials[1].params == study.trials[0].params
    trials = pd.read_csv(out / "trials.csv", keep_default_na=False)
    assert trials["models"].tolist() == ["models/trial_0"] * 2 and "no heartbeat" in trials["fail_reason"].iloc[1]
