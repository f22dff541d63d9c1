"""Pooled calibration (gnnchi.evaluation.pooled_calibration): one calibration fitted on every fold's held-out
rows, and each fold scored under a calibration that never saw that fold's rows."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from gnnchi.evaluation.pooled_calibration import add_pooled
from gnnchi.inference.calibration import TaskCalibration, read_pooled, write_pooled
from gnnchi.systems import CHI

TRUTH = {"a": 2.0, "b": 0.1, "c_polymer": 0.3, "c_solvent": 0.0}  # chi_exp declares no relative term: d stays 0


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


def test_one_fold_gives_a_calibration_but_no_cross_fitted_scores():
    frame = predictions(rows_per_fold=200, folds=1)
    folds = [{"fold": 0}]
    out, calibration = add_pooled(frame, folds, CHI, ("chi_exp",))
    assert "gnnchi_chi_exp_std_pooled" not in out and folds == [{"fold": 0}] and calibration["chi_exp"].rows == 200


def test_the_pooled_calibration_file_round_trips(tmp_path):
    calibration = {"chi_exp": TaskCalibration(a=1.1, b=0.26, c_polymer=0.0, c_solvent=0.87, rows=1190)}
    source = {"protocol": "leave-polymer-out", "folds": [0, 1, 2, 3, 4], "members": 5, "config_args": ["--config", "c.yaml"]}
    assert read_pooled(write_pooled(tmp_path / "calibration.json", calibration, source)) == (calibration, source)
