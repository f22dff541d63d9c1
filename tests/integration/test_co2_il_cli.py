"""The co2_il system through the command line: fit a tiny ensemble on a slice of the bundled data,
export it, and predict and screen with the torch-free predictor."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.cli import main
from gnnchi.datasets.co2_il import load_co2_il
from gnnchi.errors import ModelFileError
from gnnchi.inference.calibration import from_record
from gnnchi.inference.il_predictor import IonicLiquidPredictor
from gnnchi.inference.onnx_format import SYSTEM, read_metadata
from gnnchi.inference.predictor import Predictor

CONFIG = str(Path(__file__).parents[2] / "configs" / "co2_il.yaml")
BMIM, PF6 = "CCCC[n+]1ccn(C)c1", "F[P-](F)(F)(F)(F)F"
TINY = ["--model.init_args.hidden_dim", "16", "--model.init_args.ffn_hidden_dim", "16", "--model.init_args.depth", "2",
        "--trainer.max_epochs", "2", "--trainer.logger", "false", "--trainer.enable_progress_bar", "false"]  # fmt: skip


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A 2-member ensemble fitted by ``fit --config configs/co2_il.yaml`` on 8 ionic liquids, exported."""
    folder = tmp_path_factory.mktemp("co2_il")
    table = load_co2_il()
    kept = table.groupby(["cation", "anion"]).size().sort_values(ascending=False).index[:8]
    rows = table.set_index(["cation", "anion"]).loc[list(kept)].reset_index()
    data = folder / "co2.csv"
    rows[["cation", "anion", "temperature_K", "pressure_kPa", "x_co2"]].to_csv(data, index=False)
    main(["fit", "--config", CONFIG, "--data.init_args.data", str(data), "--checkpoint.dirpath", str(folder / "models"),
          "--ensemble_members", "2", *TINY])  # fmt: skip
    manifest = folder / "models" / "ensemble.json"
    main(["export", "--ckpt", str(manifest), "--output", str(folder / "co2.onnx")])
    return folder, manifest, rows


def test_the_export_predicts_what_the_checkpoints_predict_without_torch(fitted):
    folder, manifest, rows = fitted
    sample = rows.sample(50, random_state=0)
    args = (sample["cation"].tolist(), sample["anion"].tolist(), sample["temperature_K"].to_numpy(), sample["pressure_kPa"].to_numpy())
    torch_out = IonicLiquidPredictor(manifest).predict(*args)
    assert (torch_out["error"] == "").all() and torch_out["x_co2"].between(0, 1).all()
    assert (torch_out["x_co2_std"] > 0).all()  # calibrated on the validation rows by fit
    raw = IonicLiquidPredictor(manifest, calibrated=False).predict(*args)
    c = from_record(json.loads(manifest.read_text())["uncertainty"]).calibration["x_co2"]
    novelty_c, novelty_a = (IonicLiquidPredictor(manifest).novelty(list(ions), kind) for ions, kind in
                            ((args[0], "cation"), (args[1], "anion")))  # fmt: skip
    expected = np.sqrt((c.a * raw["x_co2_std"]) ** 2 + c.b**2 + (c.d * raw["x_co2"]) ** 2 + (c.c_polymer * novelty_c) ** 2
                       + (c.c_solvent * novelty_a) ** 2)  # fmt: skip
    np.testing.assert_allclose(torch_out["x_co2_std"], expected, rtol=1e-6)
    grid = IonicLiquidPredictor(manifest).grid(args[0][:1], args[1][:1], args[2][:1], args[3][:1])
    np.testing.assert_allclose(grid.x_co2_std[0, 0, 0], expected[0], rtol=1e-5)  # screening: the same std
    code = (
        "import io, sys, pandas as pd\n"
        "from gnnchi.inference.il_predictor import IonicLiquidPredictor\n"
        "frame = pd.read_json(io.StringIO(sys.stdin.read()))\n"
        f"out = IonicLiquidPredictor({str(folder / 'co2.onnx')!r}).predict(frame.cation.tolist(), frame.anion.tolist(), frame.t.to_numpy(), frame.p.to_numpy())\n"
        "assert 'torch' not in sys.modules, 'the ONNX predictor imported torch'\n"
        "print(out[['x_co2', 'x_co2_std']].to_json(orient='split'))\n"
    )  # fmt: skip
    stdin = pd.DataFrame({"cation": args[0], "anion": args[1], "t": args[2], "p": args[3]}).to_json()
    result = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, check=True)
    onnx_out = pd.read_json(io.StringIO(result.stdout.strip()), orient="split")
    np.testing.assert_allclose(onnx_out["x_co2"], torch_out["x_co2"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(onnx_out["x_co2_std"], torch_out["x_co2_std"], rtol=1e-5, atol=1e-6)
    assert read_metadata(folder / "co2.onnx")[SYSTEM] == "co2_il"
    with pytest.raises(ModelFileError, match="'co2_il' system"):
        Predictor(folder / "co2.onnx")


def test_predict_adds_x_co2_to_every_row_and_names_bad_ones(fitted, tmp_path, capsys):
    folder, _, _ = fitted
    table = pd.DataFrame({"cation": [BMIM, BMIM, PF6], "anion": [PF6, PF6, PF6], "temperature_C": [25.0, 25.0, 25.0],
                          "pressure_MPa": [1.0, 2.0, 1.0], "note": ["a", "b", "c"]})  # fmt: skip
    table.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(SystemExit) as exit_:  # 1: a row failed
        main(["predict", "--model", str(folder / "co2.onnx"), "--input", str(tmp_path / "in.csv"), "--output", str(tmp_path / "out.csv")])
    assert exit_.value.code == 1
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    assert out["note"].tolist() == ["a", "b", "c"] and out.columns[-4:].tolist() == ["x_co2", "x_co2_std", "error", "warning"]
    assert float(out["x_co2"][1]) >= float(out["x_co2"][0])  # 2 MPa absorbs at least as much as 1 MPa
    assert out["error"][0] == "" and "cation needs a net charge above zero" in out["error"][2]
    expected = IonicLiquidPredictor(folder / "co2.onnx").predict(BMIM, PF6, 298.15, 1000.0)["x_co2"][0]
    assert float(out["x_co2"][0]) == pytest.approx(expected, rel=1e-5)  # °C and MPa converted


def test_screen_scores_every_cation_with_every_anion_and_ranks_each_condition(fitted, tmp_path, capsys):
    folder, _, rows = fitted
    cations, anions = sorted(rows["cation"].unique()), sorted(rows["anion"].unique()) + ["CCO"]
    pd.DataFrame({"cation": cations}).to_csv(tmp_path / "cations.csv", index=False)
    pd.DataFrame({"anion": anions}).to_csv(tmp_path / "anions.csv", index=False)
    main(["screen", "--model", str(folder / "co2.onnx"), "--cations", str(tmp_path / "cations.csv"), "--anions",
          str(tmp_path / "anions.csv"), "--temperature_K", "298.15", "340", "--pressure_bar", "10", "50",
          "--output", str(tmp_path / "ranked.csv")])  # fmt: skip
    ranked = pd.read_csv(tmp_path / "ranked.csv", keep_default_na=False)
    good = ranked[ranked["error"] == ""]
    n = len(cations) * (len(anions) - 1)
    assert len(good) == 2 * n and ranked["error"].iloc[-1].startswith("anion:")
    predictor = IonicLiquidPredictor(folder / "co2.onnx")
    for (t, p), block in good.groupby(["temperature_K", "pressure_kPa"], sort=False):
        assert block["rank"].astype(int).tolist() == list(range(1, n + 1))
        assert (np.diff(block["x_co2"].astype(float)) <= 0).all()
        # every screened value is the pairwise prediction of that ionic liquid at that condition
        direct = predictor.predict(block["cation"].tolist(), block["anion"].tolist(), float(t), float(p))
        np.testing.assert_allclose(block["x_co2"].astype(float), direct["x_co2"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(block["x_co2_std"].astype(float), direct["x_co2_std"], rtol=1e-4, atol=1e-6)
    assert sorted(good["pressure_kPa"].astype(float).unique()) == [1000.0, 5000.0]


def test_the_released_ensemble_is_the_default_model_of_each_entry(fitted, tmp_path, monkeypatch, capsys):
    """``python -m gnnchi.release --system co2_il --from_checkpoints`` (here into a temporary release folder)
    exports the ensemble and writes its card; with no --model, predict (an input with cation and anion
    columns) and screen (--cations x --anions) use it, as do IonicLiquidPredictor() and info --system co2_il."""
    from gnnchi.inference.calibration import TaskCalibration, write_pooled
    from gnnchi.inference.onnx_format import read_metadata
    from gnnchi.release.__main__ import RECIPES
    from gnnchi.release.__main__ import main as release
    from gnnchi.release.card import staleness

    _, manifest, _ = fitted
    manifest = Path(shutil.copytree(manifest.parent, tmp_path / "fitted")) / manifest.name  # the release calibrates it
    monkeypatch.setattr("gnnchi.release.HERE", tmp_path / "release")
    pooled = {"x_co2": TaskCalibration(a=1.5, b=0.01, c_polymer=0.2, c_solvent=0.05, rows=500, d=0.1)}
    source = {"protocol": "leave-ionic-liquid-out", "folds": [0, 1], "members": 2, "config_args": [], "rows": {"x_co2": 500}}
    recipe = dataclasses.replace(RECIPES["co2_il"], calibration=write_pooled(tmp_path / "calibration.json", pooled, source))
    monkeypatch.setitem(RECIPES, "co2_il", recipe)
    release(["--system", "co2_il", "--from_checkpoints", str(manifest)])
    shipped = tmp_path / "release" / "co2_il" / "co2_il.onnx"
    assert f"shipped model: {shipped}" in capsys.readouterr().out
    card = json.loads((shipped.parent / "card.json").read_text())
    assert card["system"] == "co2_il" and card["recipe"]["members"] == 2 and staleness(card, "co2_il") == []
    assert card["uncertainty"]["calibration"]["x_co2"]["a"] == 1.5  # the recipe's pooled calibration, in the export too
    assert from_record(json.loads(read_metadata(shipped.parent / "co2_il.pair_head.onnx")["uncertainty"])).calibration == pooled
    main(["info", "--system", "co2_il"])
    assert capsys.readouterr().out.startswith(f"shipped co2_il model: {shipped}\n")
    args = (BMIM, PF6, 298.15, [100.0, 1000.0])
    pd.testing.assert_frame_equal(IonicLiquidPredictor().predict(*args), IonicLiquidPredictor(shipped).predict(*args))
    pd.DataFrame({"cation": [BMIM, BMIM], "anion": [PF6, PF6], "temperature_K": [298.15, 320.0],
                  "pressure_bar": [10.0, 20.0]}).to_csv(tmp_path / "ils.csv", index=False)  # fmt: skip
    pd.DataFrame({"cation": [BMIM, "CCCCCC[n+]1ccn(C)c1"]}).to_csv(tmp_path / "cations.csv", index=False)
    pd.DataFrame({"anion": [PF6, "[Cl-]"]}).to_csv(tmp_path / "anions.csv", index=False)
    for model, name in (([], "shipped"), (["--model", str(shipped)], "given")):
        main(["predict", *model, "--input", str(tmp_path / "ils.csv"), "--output", str(tmp_path / f"{name}_preds.csv")])
        main(["screen", *model, "--cations", str(tmp_path / "cations.csv"), "--anions", str(tmp_path / "anions.csv"),
              "--temperature_K", "298.15", "--pressure_bar", "10", "--output", str(tmp_path / f"{name}_ranked.csv")])  # fmt: skip
    for table in ("preds", "ranked"):
        assert (tmp_path / f"shipped_{table}.csv").read_bytes() == (tmp_path / f"given_{table}.csv").read_bytes()
    assert len(pd.read_csv(tmp_path / "shipped_ranked.csv")) == 4
    monkeypatch.setattr("gnnchi.release.MODEL", tmp_path / "no_chi_model.onnx")  # polymer-solvent pairs: chi's model
    pairs = pd.DataFrame({"polymer": ["*CC*"], "solvent": ["O"], "temperature_K": [300.0]})
    pairs.to_csv(tmp_path / "pairs.csv", index=False)
    with pytest.raises(SystemExit):
        main(["predict", "--input", str(tmp_path / "pairs.csv")])
    assert "no shipped model for chi" in capsys.readouterr().err
