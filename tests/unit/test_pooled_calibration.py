"""Pooled calibration (gnnchi.evaluation.pooled_calibration): one calibration fitted on every fold's held-out
rows, and each fold scored under a calibration that never saw that fold's rows."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from gnnchi.errors import GnnChiError
from gnnchi.evaluation.pooled_calibration import add_pooled
from gnnchi.inference.calibration import TaskCalibration, read_pooled, write_pooled
from gnnchi.systems import CHI

TRUTH = {"a": 2.0, "b": 0.1, "c_polymer": 0.3, "c_solvent": 0.0}  # errors blind to chi itself: its value term fits d near 0


def predictions(rows_per_fold: int = 1500, folds: int = 3, seed: int = 0) -> pd.DataFrame:
    """evaluate's prediction columns for chi_exp, with errors drawn from TRUTH's sigma."""
    rng = np.random.default_rng(seed)
    n = rows_per_fold * folds
    spread, novelty_p, novelty_s = rng.uniform(0.02, 0.3, n), rng.uniform(0, 1, n), rng.uniform(0, 1, n)
    sigma = np.sqrt((TRUTH["a"] * spread) ** 2 + TRUTH["b"] ** 2 + (TRUTH["c_polymer"] * novelty_p) ** 2)
    prediction = rng.uniform(-0.5, 2.0, n)
    return pd.DataFrame({"fold": np.repeat(np.arange(folds), rows_per_fold), "chi_exp": prediction - rng.normal(0, sigma),
                         "gnnchi_chi_exp": prediction, "gnnchi_chi_exp_spread": spread,
                         "gnnchi_novelty_polymer": novelty_p, "gnnchi_novelty_solvent": novelty_s})  # fmt: skip


def test_the_pooled_calibration_recovers_the_parameters_that_generated_every_folds_errors():
    _, calibration = add_pooled(predictions(), [{"fold": f} for f in range(3)], CHI, ("chi_exp",))
    fitted = calibration["chi_exp"]
    for name, value in TRUTH.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.15, abs=0.03), name
    assert fitted.rows == 4500


def test_each_folds_pooled_std_comes_from_the_other_folds_only():
    frame, folds = predictions(rows_per_fold=400), [{"fold": f} for f in range(3)]
    out, _ = add_pooled(frame, folds, CHI, ("chi_exp",))
    wild = frame.copy()
    fold0 = (wild["fold"] == 0).to_numpy()
    wild.loc[fold0, "chi_exp"] = wild.loc[fold0, "gnnchi_chi_exp"] + 10 * (wild.loc[fold0, "chi_exp"] - wild.loc[fold0, "gnnchi_chi_exp"])
    again, _ = add_pooled(wild, [{"fold": f} for f in range(3)], CHI, ("chi_exp",))
    column = "gnnchi_chi_exp_std_pooled"
    np.testing.assert_allclose(again.loc[fold0, column], out.loc[fold0, column])  # fold 0's own errors do not move it
    assert (again.loc[~fold0, column] > 2 * out.loc[~fold0, column]).all()  # the other folds learn from fold 0's


def test_each_folds_pooled_scores_are_those_of_its_rows_under_the_std_written():
    frame, folds = predictions(rows_per_fold=300), [{"fold": f} for f in range(3)]
    out, _ = add_pooled(frame, folds, CHI, ("chi_exp",))
    for fold in folds:  # by hand, with numpy and scipy, from the written columns
        rows = out[out["fold"] == fold["fold"]]
        error, std = (rows["gnnchi_chi_exp"] - rows["chi_exp"]).abs(), rows["gnnchi_chi_exp_std_pooled"]
        assert fold["within_1sigma_chi_exp_pooled"] == pytest.approx(np.mean(error <= std))
        assert fold["within_2sigma_chi_exp_pooled"] == pytest.approx(np.mean(error <= 2 * std))
        assert fold["spearman_abs_error_std_chi_exp_pooled"] == pytest.approx(spearmanr(error, std).statistic)


def test_predictions_without_novelty_say_how_to_add_it():
    frame = predictions(rows_per_fold=50).drop(columns="gnnchi_novelty_solvent")
    with pytest.raises(GnnChiError, match="gnnchi_novelty_solvent.*benchmarks/pooled_calibration.py"):
        add_pooled(frame, [{"fold": f} for f in range(3)], CHI, ("chi_exp",))


def test_one_fold_gives_a_calibration_but_no_cross_fitted_scores():
    frame = predictions(rows_per_fold=200, folds=1)
    folds = [{"fold": 0}]
    out, calibration = add_pooled(frame, folds, CHI, ("chi_exp",))
    assert "gnnchi_chi_exp_std_pooled" not in out and folds == [{"fold": 0}] and calibration["chi_exp"].rows == 200


def test_the_pooled_calibration_file_round_trips(tmp_path):
    calibration = {"chi_exp": TaskCalibration(a=1.1, b=0.26, c_polymer=0.0, c_solvent=0.87, rows=1190)}
    source = {"protocol": "leave-polymer-out", "folds": [0, 1, 2, 3, 4], "members": 5, "config_args": ["--config", "c.yaml"]}
    assert read_pooled(write_pooled(tmp_path / "calibration.json", calibration, source)) == (calibration, source)


def fold_output(folder, fold_rows: pd.DataFrame, members: int = 2) -> None:
    """What an evaluate run of one fold writes, as far as merging reads it."""
    folder.mkdir(parents=True)
    fold = int(fold_rows["fold"].iloc[0])
    result = {"protocol": "leave-polymer-out", "split": "polymer", "task": "chi_exp", "members": members, "target": None,
              "config_args": ["--config", "c.yaml"], "folds": [{"fold": fold, "r2_chi_exp": 0.5}], "baselines": {},
              "seconds": 1.0}  # fmt: skip
    (folder / "metrics.json").write_text(json.dumps(result))
    fold_rows.assign(soluble=np.nan, gnnchi_p_soluble=np.nan, gnnchi_chi_exp_std=fold_rows["gnnchi_chi_exp_spread"]).to_csv(
        folder / "predictions.csv", index=False
    )


def test_merging_fold_runs_scores_and_writes_the_pooled_calibration_as_one_run_would(tmp_path):
    from gnnchi.evaluation.run import merge_fold_results

    frame = predictions(rows_per_fold=200)
    for fold in range(3):
        fold_output(tmp_path / f"fold_{fold}", frame[frame["fold"] == fold])
    result = merge_fold_results([tmp_path / f"fold_{f}" for f in (2, 0, 1)], tmp_path / "merged")
    folds = [{"fold": f} for f in range(3)]
    expected, calibration = add_pooled(frame, folds, CHI, ("chi_exp",))
    for merged, alone in zip(result["folds"], folds):
        assert merged["within_1sigma_chi_exp_pooled"] == pytest.approx(alone["within_1sigma_chi_exp_pooled"])
    written = pd.read_csv(tmp_path / "merged" / "predictions.csv")
    np.testing.assert_allclose(written["gnnchi_chi_exp_std_pooled"], expected["gnnchi_chi_exp_std_pooled"])
    stored, source = read_pooled(tmp_path / "merged" / "calibration.json")
    assert stored == calibration and source["folds"] == [0, 1, 2] and source["members"] == 2

    fold_output(tmp_path / "other", frame[frame["fold"] == 0], members=3)
    with pytest.raises(GnnChiError, match="ensemble sizes"):
        merge_fold_results([tmp_path / "other", tmp_path / "fold_1"], tmp_path / "bad")


def test_a_merged_result_carries_the_example_figure_of_the_fold_one_run_would_draw(tmp_path):
    """Folds 0, 1 and 3 tested [BMIM][PF6] (2, 5 and 5 of its rows), fold 2 none: one run of every fold draws
    the fold that tested most, the lowest on a tie (1), so the merge must carry fold 1's figure and curves,
    whatever order the fold runs come in; a system without an example figure gets none."""
    from gnnchi.evaluation.isotherms import CURVES, FIGURE
    from gnnchi.evaluation.run import merge_fold_results

    tested_rows = {0: 2, 1: 5, 2: 0, 3: 5}
    for fold, rows in predictions(rows_per_fold=50, folds=4).groupby("fold"):
        fold_output(tmp_path / f"fold_{fold}", rows)
        if tested_rows[fold]:  # as an evaluate run of this fold alone draws it (the writer's columns)
            (tmp_path / f"fold_{fold}" / FIGURE).write_bytes(f"figure of fold {fold}".encode())
            (tmp_path / f"fold_{fold}" / CURVES).write_text(f"fold,tested_rows,x\n{fold},{tested_rows[fold]},0.1\n")
    runs = [tmp_path / f"fold_{f}" for f in (3, 0, 2, 1)]
    merge_fold_results(runs, tmp_path / "chi")  # chi draws no example figure
    assert not (tmp_path / "chi" / FIGURE).exists()

    from gnnchi.evaluation.run import copy_example_figure

    (tmp_path / "merged").mkdir()
    copy_example_figure(runs, "co2_il", tmp_path / "merged")
    assert (tmp_path / "merged" / FIGURE).read_bytes() == b"figure of fold 1"
    assert (tmp_path / "merged" / CURVES).read_text().splitlines()[1] == "1,5,0.1"
