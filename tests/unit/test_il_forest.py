"""The co2_il forest baseline's features and training rows, and the x_co2 scores evaluate writes."""

import numpy as np
import pandas as pd
import pytest

from gnnchi.evaluation.baselines import BASELINES, default_baselines
from gnnchi.evaluation.baselines.il_forest import fit_il_random_forest, il_features
from gnnchi.evaluation.metrics import score
from gnnchi.evaluation.protocols import SCORED

TF2N = "O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F"


def table(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cations = rng.choice(["CCCC[n+]1ccn(C)c1", "CC[n+]1ccn(C)c1", "CCCC[N+]1(C)CCCC1"], n)
    anions = rng.choice([TF2N, "F[B-](F)(F)F", "F[P-](F)(F)(F)(F)F"], n)
    pressure = rng.uniform(10, 10000, n)
    return pd.DataFrame({"cation": cations, "anion": anions, "temperature_K": rng.uniform(290, 350, n),
                         "pressure_kPa": pressure, "x_co2": np.clip(pressure / 12000 + rng.normal(0, 0.02, n), 0, 0.99)})  # fmt: skip


def test_features_are_count_fingerprints_of_each_ion_and_the_conditions():
    rows = table(5)
    x = il_features(rows)
    assert x.shape == (5, 2 * 512 + 3)
    np.testing.assert_allclose(x[:, -3], 1000 / rows["temperature_K"])
    np.testing.assert_allclose(x[:, -2], np.log10(rows["pressure_kPa"]))
    np.testing.assert_allclose(x[:, -1], rows["pressure_kPa"])
    tf2n = il_features(pd.DataFrame({"cation": ["CC[n+]1ccn(C)c1"], "anion": [TF2N], "temperature_K": [300.0],
                                     "pressure_kPa": [100.0]}))  # fmt: skip
    assert tf2n[0, 512:1024].max() >= 6  # counts, not bits: six fluorines share one environment


def test_the_forest_trains_on_train_and_val_rows_only():
    rows = table()
    parts = {"train": np.arange(0, 25), "val": np.arange(25, 30), "test": np.arange(30, 40)}
    predicted = fit_il_random_forest(rows, parts, seed=3)
    assert predicted.shape == (10,)
    changed_test = rows.assign(x_co2=rows["x_co2"].where(rows.index < 30, 0.5))
    np.testing.assert_array_equal(fit_il_random_forest(changed_test, parts, seed=3), predicted)
    changed_val = rows.assign(x_co2=rows["x_co2"].where(~rows.index.isin(parts["val"]), 0.9))
    assert not np.array_equal(fit_il_random_forest(changed_val, parts, seed=3), predicted)


def test_co2_il_scores_and_baselines():
    truth = pd.DataFrame({"x_co2": [0.1, 0.3, 0.5, 0.7]})
    pred = pd.DataFrame({"x_co2": [0.1, 0.35, 0.45, 0.7], "x_co2_std": [0.01, 0.1, 0.01, 0.01]})
    metrics = score(truth, pred, SCORED["co2_il"])
    assert metrics["mae_x_co2"] == pytest.approx(0.025) and metrics["n_x_co2"] == 4
    assert metrics["within_1sigma_x_co2"] == 0.75 and metrics["within_2sigma_x_co2"] == 0.75
    assert not any("chi" in k or "soluble" in k for k in metrics)
    assert SCORED["co2_il"].headline == ("r2_x_co2", "mae_x_co2", "rmse_x_co2")
    assert default_baselines("co2_il") == ("gnnchi_single_model", "il_random_forest")
    assert "il_random_forest" not in default_baselines("chi") and BASELINES["il_random_forest"].systems == ("co2_il",)
