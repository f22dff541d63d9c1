"""The electrolyte system through the command line: fit a tiny ensemble on a slice of the bundled data,
then predict a user's formulations, screen polymers x salts x loadings, and export it to ONNX."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.chem import make_mol
from gnnchi.cli import main
from gnnchi.datasets.electrolytes import check_electrolytes, component_mol, load_electrolytes
from gnnchi.inference.calibration import from_record
from gnnchi.inference.electrolyte_predictor import ElectrolytePredictor

CONFIG = str(Path(__file__).parents[2] / "configs" / "electrolyte.yaml")
TARGET = "log10_conductivity_S_cm"
PEO, LITFSI = "*CCO*", "[Li+].O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F"
TINY = ["--model.init_args.hidden_dim", "16", "--model.init_args.ffn_hidden_dim", "16", "--model.init_args.depth", "2",
        "--model.init_args.mixture_dim", "8", "--trainer.max_epochs", "2", "--trainer.logger", "false",
        "--trainer.enable_progress_bar", "false", "--data.init_args.split", "rows"]  # fmt: skip


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A 2-member ensemble fitted by ``fit --config configs/electrolyte.yaml`` on 400 bundled records, as a user's CSV."""
    folder = tmp_path_factory.mktemp("electrolyte")
    table = check_electrolytes(load_electrolytes())[0].sample(400, random_state=0)  # records the checks keep
    columns = [f"{c}_{i}" for i in range(1, 5) for c in ("component", "role", "fraction")]
    data = folder / "records.csv"
    table[[*columns, "mn_g_mol", "temperature_K", TARGET]].to_csv(data, index=False)
    main(["fit", "--config", CONFIG, "--data.init_args.data", str(data), "--checkpoint.dirpath", str(folder / "models"),
          "--ensemble_members", "2", *TINY])  # fmt: skip
    return folder, folder / "models" / "ensemble.json"


def test_predict_reads_a_users_formulations_and_says_what_failed(fitted):
    folder, manifest = fitted
    user = folder / "mine.csv"
    pd.DataFrame({
        "component_1": [PEO, LITFSI, PEO], "fraction_1": [0.9, 0.1, 0.9],
        "component_2": [LITFSI, PEO, "C1=CC"], "fraction_2": [0.1, 0.9, 0.1],
        "mn_g_mol": [1e5, 1e5, 1e5], "temperature_C": [60, 60, 60],
    }).to_csv(user, index=False)  # fmt: skip
    with pytest.raises(SystemExit) as stopped:
        main(["predict", "--model", str(manifest), "--input", str(user)])
    assert stopped.value.code == 1  # one row failed
    out = pd.read_csv(folder / "mine_preds.csv", keep_default_na=False)
    assert out["error"].iloc[:2].tolist() == ["", ""] and "component_2" in out["error"].iloc[2]
    values = out[TARGET].iloc[:2].astype(float)
    assert abs(values.iloc[0] - values.iloc[1]) < 1e-5  # the same mixture in another order
    assert (out[f"{TARGET}_std"].iloc[:2].astype(float) > 0).all()
    assert (out["activation_energy_kJ_mol"].iloc[:2].astype(float) > 0).all()


def test_the_std_is_the_calibration_fitted_on_validation_rows(fitted):
    _, manifest = fitted
    frame = pd.DataFrame({"component_1": [PEO, "*CC(C)O*", "*C(F)(F)C(F)(F)*"], "fraction_1": [0.9, 0.8, 0.8],
                          "component_2": [LITFSI, LITFSI, "[Cs+].[I-]"], "fraction_2": [0.1, 0.2, 0.2],
                          "temperature_K": [330.0, 350.0, 350.0]})  # fmt: skip
    predictor = ElectrolytePredictor(manifest)
    uncertainty = from_record(json.loads(manifest.read_text())["uncertainty"])
    assert predictor.calibration == uncertainty.calibration[TARGET]
    # a small fit may weigh novelty by 0: weigh both terms so that the test sees them
    predictor.calibration = c = predictor.calibration._replace(c_polymer=2.0, c_solvent=3.0)
    calibrated = predictor.predict_frame(frame)
    raw = ElectrolytePredictor(manifest, calibrated=False).predict_frame(frame)
    # each record has one polymer and one salt: its novelty terms are theirs, 1 - highest similarity to training
    polymers = uncertainty.domain.kinds["polymer"].highest_similarity([make_mol(s, "polymer") for s in frame["component_1"]])
    salts = uncertainty.domain.kinds["salt"].highest_similarity([component_mol("salt", s) for s in frame["component_2"]])
    novelty = [1 - polymers, 1 - salts]
    assert novelty[0][2] > 0.3 and novelty[1][2] > 0.3 and novelty[0][2] != novelty[1][2]  # PTFE and CsI are new
    spread = raw[f"{TARGET}_std"].to_numpy()
    expected = np.sqrt((c.a * spread) ** 2 + c.b**2 + (c.c_polymer * novelty[0]) ** 2 + (c.c_solvent * novelty[1]) ** 2)
    np.testing.assert_allclose(calibrated[f"{TARGET}_std"], expected, rtol=1e-6)
    np.testing.assert_allclose(calibrated[TARGET], raw[TARGET])


def test_screen_ranks_polymers_salts_and_loadings_at_each_temperature(fitted):
    folder, manifest = fitted
    (folder / "polymers.csv").write_text(f"polymer\n{PEO}\n*CC(C)O*\n")
    (folder / "salts.csv").write_text(f"salt\n\"{LITFSI}\"\n[Li+].[O-][Cl+3]([O-])([O-])[O-]\n")
    output = folder / "ranked.csv"
    main(["screen", "--model", str(manifest), "--polymers", str(folder / "polymers.csv"), "--salts",
                   str(folder / "salts.csv"), "--salt_fractions", "0.05", "0.1", "--temperature_C", "25", "80",
                   "--output", str(output)])  # fmt: skip
    ranked = pd.read_csv(output, keep_default_na=False)
    assert len(ranked) == 2 * 2 * 2 * 2
    for _, block in ranked.groupby("temperature_K"):
        assert block["rank"].tolist() == list(range(1, 9))
        assert block[TARGET].is_monotonic_decreasing
    hot, cold = (ranked[ranked["temperature_K"].round(2) == t].set_index(["polymer", "salt", "salt_fraction"])[TARGET]
                 for t in (353.15, 298.15))  # fmt: skip
    assert (hot > cold.reindex(hot.index)).all()  # Arrhenius: warmer conducts better


def test_the_export_predicts_what_the_checkpoints_predict_without_torch(fitted):
    folder, manifest = fitted
    main(["export", "--ckpt", str(manifest), "--output", str(folder / "electrolyte.onnx")])
    formulations = folder / "formulations.csv"
    pd.DataFrame({"component_1": [PEO, "*CC(C)O*", "CCOC(=O)OC"], "fraction_1": [0.9, 0.75, 0.6],
                  "component_2": [LITFSI, LITFSI, LITFSI], "fraction_2": [0.1, 0.25, 0.4],
                  "mn_g_mol": [2e4, None, None], "temperature_K": [260.0, 300.0, 410.0]}).to_csv(formulations, index=False)  # fmt: skip
    code = ("import sys, pandas as pd\nfrom gnnchi.inference.electrolyte_predictor import ElectrolytePredictor\n"
            f"out = ElectrolytePredictor({str(folder / 'electrolyte.onnx')!r}).predict_frame(pd.read_csv({str(formulations)!r}))\n"
            "assert 'torch' not in sys.modules, 'the exported model needs no torch'\n"
            "print(out.to_json(orient='records'))\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    onnx_out = pd.DataFrame(json.loads(done.stdout.strip().splitlines()[-1]))
    torch_out = ElectrolytePredictor(manifest).predict_frame(pd.read_csv(formulations))
    columns = [TARGET, f"{TARGET}_std", "log10_prefactor", "activation_energy_kJ_mol"]
    np.testing.assert_allclose(onnx_out[columns].to_numpy(float), torch_out[columns].to_numpy(float), rtol=1e-5, atol=1e-5)
