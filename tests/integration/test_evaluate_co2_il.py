"""``evaluate`` for the co2_il system: grouped folds of ionic liquids, gnnchi and the forest on the same rows."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.cli import main
from gnnchi.evaluation.isotherms import EXAMPLE
from gnnchi.inference.calibration import read_pooled
from tests.by_hand import novelty_by_hand

CONFIGS = Path(__file__).parents[2] / "configs"
CO2_IL = str(CONFIGS / "co2_il.yaml")
QUICK = str(CONFIGS / "quick.yaml")
CATIONS = ["CC[n+]1ccn(C)c1", "CCCC[n+]1ccn(C)c1", "CCCCCC[n+]1ccn(C)c1", "CCCCCCCC[n+]1ccn(C)c1",
           "CCCC[n+]1ccn(C)c1C", "CCCC[N+]1(C)CCCC1"]  # fmt: skip
ANIONS = ["O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F", "F[B-](F)(F)F", "F[P-](F)(F)(F)(F)F", "N#CC(=C=[N-])C#N"]
TINY = ["--trainer.max_epochs", "2", "--model.init_args.hidden_dim", "16", "--model.init_args.ffn_hidden_dim", "16",
        "--model.init_args.depth", "2", "--model.init_args.descriptors", "false",
        "--data.init_args.batch_size", "64"]  # fmt: skip


@pytest.fixture(scope="module")
def il_table(tmp_path_factory):
    """6 cations x 4 anions of the bundled data, at most 25 rows per ionic liquid (a few hundred rows)."""
    from gnnchi.datasets.co2_il import load_co2_il

    data = load_co2_il()
    subset = data[data["cation"].isin(CATIONS) & data["anion"].isin(ANIONS)]
    rows = subset.sample(frac=1.0, random_state=0).groupby(["cation", "anion"]).head(25)
    path = tmp_path_factory.mktemp("data") / "co2_il.csv"
    rows[["cation", "anion", "temperature_K", "pressure_kPa", "x_co2"]].to_csv(path, index=False)
    return path


def independent_forest_r2(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> tuple[float, np.ndarray]:
    """The il_random_forest recipe written out again: Morgan count fingerprints (radius 2, 512 bits) of the
    cation and of the anion, 1000/T, log10 P, P; 100 trees, random_state = fold; R2 on the test rows."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.metrics import r2_score

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=512)

    def features(rows: pd.DataFrame) -> np.ndarray:
        counts = [[generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(s)) for s in rows[ion]]
                  for ion in ("cation", "anion")]  # fmt: skip
        t, p = rows["temperature_K"].to_numpy(float), rows["pressure_kPa"].to_numpy(float)
        return np.column_stack([np.array(counts[0]), np.array(counts[1]), 1000 / t, np.log10(p), p])

    forest = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1).fit(features(train), train["x_co2"])
    predicted = forest.predict(features(test))
    return r2_score(test["x_co2"], predicted), predicted


def test_evaluate_leave_cation_out_scores_gnnchi_and_the_forest_on_unseen_cations(il_table, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    from gnnchi.data import IonicLiquidDataModule

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # the default store: ./mlflow.db
    out, folds = tmp_path / "out", (0, 1)
    main(["evaluate", "--config", CO2_IL, "--data.data", str(il_table), "--protocol", "leave-cation-out",
          "--output", str(out), "--members", "2", "--folds", *map(str, folds), *TINY])  # fmt: skip

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "cation" and metrics["task"] == "x_co2" and metrics["members"] == 2
    assert [f["fold"] for f in metrics["folds"]] == list(folds)
    assert set(metrics["baselines"]) == {"gnnchi_single_model", "il_random_forest"}  # co2_il's defaults
    for summary in (metrics, *metrics["baselines"].values()):
        assert {"r2_x_co2", "mae_x_co2", "rmse_x_co2", "n_x_co2"} <= set(summary["mean"])
        assert not any("chi_exp" in k or "soluble" in k for k in summary["mean"])
    assert {"within_1sigma_x_co2", "within_2sigma_x_co2", "spearman_abs_error_std_x_co2"} <= set(metrics["mean"])
    assert metrics["target"] == {"metric": "r2_x_co2", "value": 0.93}

    # every fold's test rows hold whole cations that no other row of the table has
    table = IonicLiquidDataModule(data=str(il_table)).prepare_records().table.reset_index(drop=True)
    position = dict(zip(table["row"], table.index))
    predictions = pd.read_csv(out / "predictions.csv")
    tested = {}
    for fold in folds:
        scored = predictions[predictions["fold"] == fold]
        test = [position[line] for line in scored["row"]]
        assert len(set(test)) == len(test) == metrics["folds"][fold]["n_x_co2"] > 0
        identity = ["cation", "anion", "temperature_K", "pressure_kPa"]
        assert (scored[identity].to_numpy() == table.loc[test, identity].to_numpy()).all()
        cations = set(table.loc[test, "cation_group_key"])
        rest = table.drop(index=test)
        assert not cations & set(rest["cation_group_key"]), f"fold {fold}: test cations elsewhere in the table"
        tested[fold] = set(test)
    assert not tested[0] & tested[1]

    # the forest's R2 on fold 0 is that of the recipe fitted here on the same rows (all rows but the fold's)
    fold = 0
    test_rows = table.loc[sorted(tested[fold])]
    r2, predicted = independent_forest_r2(table.drop(index=sorted(tested[fold])), test_rows, seed=fold)
    assert metrics["baselines"]["il_random_forest"]["folds"][fold]["r2_x_co2"] == pytest.approx(r2, abs=1e-9)
    written = predictions[predictions["fold"] == fold].set_index("row").loc[test_rows["row"], "il_random_forest_x_co2"]
    np.testing.assert_allclose(written.to_numpy(), predicted, rtol=0, atol=1e-9)

    assert (predictions["gnnchi_x_co2_std"] > 0).all() and predictions["gnnchi_x_co2"].between(0, 1).all()
    for fold in folds:  # pooled calibration: the test cations are new to the fold's training rows, anions may not be
        scored = predictions[predictions["fold"] == fold]
        training = table.drop(index=sorted(tested[fold]))  # train and validation rows: a superset of training
        assert (scored["gnnchi_novelty_cation"] >= novelty_by_hand(scored["cation"], training["cation"].unique(), "cation") - 1e-9).all()
        assert scored["gnnchi_novelty_anion"].between(0, 1).all()
    assert {"within_2sigma_x_co2_pooled", "spearman_abs_error_std_x_co2_pooled"} <= set(metrics["mean"])
    calibration, source = read_pooled(out / "calibration.json")
    assert set(calibration) == {"x_co2"} and source["protocol"] == "leave-cation-out" and source["members"] == 2
    report = (out / "report.md").read_text()
    assert "| gnnchi (ensemble) |" in report and "| il_random_forest |" in report and "n_x_co2" in report
    assert (out / "parity.png").stat().st_size > 1000 and (out / "calibration.png").stat().st_size > 1000
    example = (table["cation"] == EXAMPLE[0]) & (table["anion"] == EXAMPLE[1])
    held_out = [f for f in folds if example.loc[sorted(tested[f])].any()]
    assert (out / "isotherms.png").is_file() == bool(held_out)  # drawn when a tested fold holds [BMIM][PF6]
    if held_out:
        curves = pd.read_csv(out / "isotherms.csv")
        assert curves["fold"].iloc[0] in held_out and curves["x_co2"].between(0, 1).all()
        for _, curve in curves.groupby("temperature_K"):
            assert (np.diff(curve["x_co2"]) >= -1e-6).all()  # at one temperature, x_co2 rises with pressure
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("gnnchi-evaluate").experiment_id])
    assert run.data.metrics["baseline/il_random_forest/mean/r2_x_co2"] == pytest.approx(
        metrics["baselines"]["il_random_forest"]["mean"]["r2_x_co2"]
    )


@pytest.mark.parametrize(
    ("config", "extra", "message"),
    [
        (QUICK, ["--protocol", "random-rows"], "'random-rows' is for the co2_il system, but the config trains chi"),
        (CO2_IL, ["--protocol", "seed-folds"], "'seed-folds' is for the chi system, but the config trains co2_il"),
        (CO2_IL, ["--protocol", "random-rows", "--baselines", "random_forest"], "do not serve the co2_il system"),
        (QUICK, ["--protocol", "seed-folds", "--baselines", "il_random_forest"], "do not serve the chi system"),
    ],
)
def test_evaluate_refuses_a_protocol_or_baseline_of_another_system(config, extra, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as status:
        main(["evaluate", "--config", config, "--output", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert status.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, err
