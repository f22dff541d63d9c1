"""The isotherm figure of a co2_il evaluation (gnnchi.evaluation.isotherms): which fold, temperatures and pressures it draws."""

import numpy as np
import pandas as pd

from gnnchi.evaluation.isotherms import CURVE_POINTS, CURVES, EXAMPLE, FIGURE, write_example_figure

PNG = b"\x89PNG\r\n\x1a\n"


def test_the_figure_draws_the_fold_that_tested_most_example_rows_at_its_most_measured_temperatures(tmp_path):
    cation, anion, _ = EXAMPLE
    example = [(298.15, 100.0), (298.4, 2000.0), (297.9, 500.0), (323.2, 50.0), (323.0, 9000.0), (283.1, 300.0),
               (283.0, 400.0), (350.0, 800.0), (313.0, 10.0), (313.0, 20.0), (313.0, 30.0)]  # fmt: skip
    table = pd.DataFrame({"cation": cation, "anion": anion, "temperature_K": [t for t, _ in example],
                          "pressure_kPa": [p for _, p in example], "x_co2": 0.1})  # fmt: skip
    other = pd.DataFrame({"cation": "CC[n+]1ccn(C)c1", "anion": anion, "temperature_K": [298.0] * 5,
                          "pressure_kPa": 100.0, "x_co2": 0.1})  # fmt: skip
    table = pd.concat([table, other], ignore_index=True)
    tested = {0: np.array([8, 9, 10, 11, 12, 13, 14, 15]), 1: np.arange(8)}  # fold 0: 3 example rows; fold 1: 8
    asked = []

    def predict_fold(fold, frame):  # x rises with P, falls with T: a stand-in with known values
        asked.append(fold)
        return pd.DataFrame({"x_co2": frame["pressure_kPa"] / (frame["pressure_kPa"] + frame["temperature_K"]),
                             "x_co2_std": 0.01})  # fmt: skip

    assert write_example_figure(tmp_path, table, tested, predict_fold, "leave-ionic-liquid-out") == [FIGURE]
    assert asked == [1] and (tmp_path / FIGURE).read_bytes()[:8] == PNG
    curves = pd.read_csv(tmp_path / CURVES)
    assert (curves["fold"] == 1).all() and len(curves) == 3 * CURVE_POINTS
    assert sorted(curves["temperature_K"].unique()) == [283.0, 298.0, 323.0]  # 298 K: 3 rows; 283, 323 K: 2; 350 K: 1
    ranges = curves.groupby("temperature_K")["pressure_kPa"].agg(["min", "max"])
    assert np.allclose(ranges.loc[298.0], [100.0, 2000.0]) and np.allclose(ranges.loc[323.0], [50.0, 9000.0])
    np.testing.assert_allclose(
        curves["x_co2"], curves["pressure_kPa"] / (curves["pressure_kPa"] + curves["temperature_K"])
    )
    assert write_example_figure(tmp_path, table, {0: np.array([11, 12])}, predict_fold, "x") == []  # not tested
