import numpy as np
import pandas as pd
import pytest

from gnnchi.evaluation.metrics import score, summarize


def frame(chi, soluble=None):
    return pd.DataFrame({"chi_exp": chi, "soluble": soluble if soluble is not None else [np.nan] * len(chi)})


def test_score_of_exact_and_shifted_predictions():
    truth = frame([0.2, 0.5, 0.9, 1.4], [1, 0, np.nan, 1])
    exact = pd.DataFrame({"chi_exp": truth["chi_exp"], "chi_exp_std": [0.1] * 4, "p_soluble": [0.9, 0.2, 0.5, 0.6]})
    metrics = score(truth, exact)
    assert metrics["r2_chi_exp"] == 1.0 and metrics["mae_chi_exp"] == 0.0 and metrics["within_1sigma_chi_exp"] == 1.0
    assert metrics["auc_soluble"] == 1.0 and metrics["n_soluble"] == 3 and metrics["accuracy_soluble"] == 1.0
    shifted = exact.assign(chi_exp=exact["chi_exp"] + [0.05, -0.15, 0.25, 0.05])
    metrics = score(truth, shifted)
    assert metrics["mae_chi_exp"] == pytest.approx(0.125)
    assert metrics["within_1sigma_chi_exp"] == 0.5 and metrics["within_2sigma_chi_exp"] == 0.75


def test_missing_predictions_are_left_out_and_counted():
    truth = frame([0.2, 0.5, 0.9])
    metrics = score(truth, pd.DataFrame({"chi_exp": [0.2, np.nan, 0.8], "p_soluble": [np.nan] * 3}))
    assert metrics["n_chi_exp"] == 2 and "auc_soluble" not in metrics


def test_summary_over_folds():
    summary = summarize([{"fold": 0, "r2": 0.5}, {"fold": 1, "r2": 0.7}, {"fold": 2}])
    assert summary["mean"]["r2"] == pytest.approx(0.6) and summary["std"]["r2"] == pytest.approx(
        np.std([0.5, 0.7], ddof=1)
    )
