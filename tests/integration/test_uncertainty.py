"""fit calibrates the std on its validation rows and writes it into the model file; predict, screen and
the ONNX export all give that calibrated std and flag molecules unlike the training data."""

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from gnnchi.cli import main
from gnnchi.inference.calibration import TaskCalibration, from_record, write_pooled
from gnnchi.inference.export import export_checkpoint
from gnnchi.inference.predictor import Predictor
from gnnchi.models.checkpoint import read_checkpoint
from gnnchi.models.ensemble import member_checkpoints
from tests.by_hand import novelty_by_hand

CONFIG = str(Path(__file__).parents[2] / "configs" / "quick.yaml")
POLYMERS = ["*CC(*)c1ccccc1", "*CC(*)[Ge](C)(C)C", "*CCO*", "*CC(*)C(=O)OC", "*CC(*)C1CCCCC1"]
SOLVENTS = ["Cc1ccccc1", "O", "CCCCCC", "ClC(Cl)Cl", "CC(C)=O"]


@pytest.fixture(scope="module")
def calibrated_ensemble(tmp_path_factory):
    """A 2-member quick ensemble whose validation groups are polymers (leave-polymer-out validation), each
    member trained on its own half of the training polymers (bagging)."""
    workdir = tmp_path_factory.mktemp("calibrated")
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(io.StringIO()) as printed:
        mp.chdir(workdir)
        cli = main(["fit", "--config", CONFIG, "--data.split", "polymer", "--ensemble_members", "2",
                    "--data.bagging_fraction", "0.5", "--trainer.logger", "false",
                    "--checkpoint.dirpath", str(workdir / "ens")])  # fmt: skip
    return workdir / "ens" / "ensemble.json", cli.datamodule, printed.getvalue()


def test_fit_writes_the_uncertainty_fitted_on_validation_rows_into_the_manifest(calibrated_ensemble):
    manifest, datamodule, printed = calibrated_ensemble
    uncertainty = from_record(json.loads(manifest.read_text())["uncertainty"])
    table, indices = datamodule.records.table, datamodule.indices
    train, val = table.iloc[indices["train"]], table.iloc[indices["val"]]
    for kind in ("polymer", "solvent"):  # the domain is the training rows' molecules, not the validation ones
        assert len(uncertainty.domain.kinds[kind].fingerprints) == train[kind].nunique()
    assert uncertainty.calibration["chi_exp"].rows == val["chi_exp"].notna().sum() > 0
    assert "uncertainty: chi_exp: sigma^2 = (" in printed


def test_bagged_members_train_on_different_polymers(calibrated_ensemble):
    """Each member's chi scalers are the statistics of its own training rows: with bagging they differ from
    each other and from those of every training row (which the calibration's domain keeps)."""
    manifest, datamodule, _ = calibrated_ensemble
    means = [read_checkpoint(path)["state_dict"]["net.head.chi_mean"][0].item() for path in member_checkpoints([manifest])]
    train = datamodule.records.table.iloc[datamodule.indices["train"]]
    assert abs(means[0] - means[1]) > 1e-4
    assert all(abs(m - train["chi_exp"].mean()) > 1e-4 for m in means)


def test_predict_screen_and_onnx_give_the_calibrated_std(calibrated_ensemble, tmp_path):
    manifest, datamodule, _ = calibrated_ensemble
    train = datamodule.records.table.iloc[datamodule.indices["train"]]
    calibration = from_record(json.loads(manifest.read_text())["uncertainty"]).calibration
    polymers = [p for p in POLYMERS for _ in SOLVENTS]
    solvents = SOLVENTS * len(POLYMERS)
    raw = Predictor(manifest, calibrated=False).predict(polymers, solvents, 330.0)
    out = Predictor(manifest).predict(polymers, solvents, 330.0)
    novelty_p = novelty_by_hand(polymers, train["polymer"].unique().tolist(), "polymer")
    novelty_s = novelty_by_hand(solvents, train["solvent"].unique().tolist(), "solvent")
    for task in ("chi_exp", "chi_cosmo"):
        c = calibration[task]
        expected = np.sqrt((c.a * raw[f"{task}_std"]) ** 2 + c.b**2 + (c.c_polymer * novelty_p) ** 2
                           + (c.c_solvent * novelty_s) ** 2 + (c.d * (raw[task] - c.center)) ** 2)  # fmt: skip
        np.testing.assert_allclose(out[f"{task}_std"], expected, rtol=1e-5)
        np.testing.assert_allclose(out[task], raw[task])  # only the std changes
    np.testing.assert_allclose(out["p_soluble_std"], raw["p_soluble_std"])
    germanium = out["polymer"] == "*CC(*)[Ge](C)(C)C"
    assert out.loc[germanium, "warning"].str.contains("element Ge not in the training polymers").all()
    assert not out.loc[~germanium, "warning"].str.contains("Ge").any()

    predictor = Predictor(manifest)
    grid = predictor.grid(predictor.encode(POLYMERS, "polymer")[0], predictor.encode(SOLVENTS, "solvent")[0], [330.0],
                          POLYMERS, SOLVENTS)  # fmt: skip
    np.testing.assert_allclose(grid.chi_std[0, :, :, 0].reshape(-1), out["chi_exp_std"], rtol=1e-4)

    paths = export_checkpoint([manifest], tmp_path / "calibrated.onnx")
    onnx = Predictor(paths["pair_model"]).predict(polymers, solvents, 330.0)
    np.testing.assert_allclose(onnx["chi_exp_std"], out["chi_exp_std"], rtol=1e-4, atol=1e-5)
    assert (onnx["warning"] == out["warning"]).all()


def test_calibrate_gives_the_model_the_pooled_calibration_and_keeps_its_domain(calibrated_ensemble, tmp_path, capsys):
    """``calibrate`` (and the release, through the same function) replaces the fit's calibration of the tasks
    evaluate pooled; the domain, the other tasks' calibration and the predictions stay; a calibration
    measured with another number of members is refused."""
    from gnnchi.release.__main__ import Recipe, pooled_uncertainty

    manifest, _, _ = calibrated_ensemble
    copy = shutil.copytree(manifest.parent, tmp_path / "ens") / manifest.name
    before = from_record(json.loads(copy.read_text())["uncertainty"])
    pooled = {"chi_exp": TaskCalibration(a=2.0, b=0.3, c_polymer=0.0, c_solvent=0.0, rows=100)}
    source = {"protocol": "leave-polymer-out", "folds": [0, 1], "members": 2, "config_args": [], "rows": {"chi_exp": 100}}
    calibration_file = write_pooled(tmp_path / "calibration.json", pooled, source)
    main(["calibrate", "--ckpt", str(copy), "--calibration", str(calibration_file)])
    assert "chi_exp: sigma^2 = (2.00 spread)^2 + 0.300^2" in capsys.readouterr().out
    after = from_record(json.loads(copy.read_text())["uncertainty"])
    assert after.calibration == {**before.calibration, **pooled}
    for kind, domain in before.domain.kinds.items():
        assert (after.domain.kinds[kind].fingerprints == domain.fingerprints).all()
    polymers, solvents = POLYMERS[:1] * len(SOLVENTS), SOLVENTS
    raw = Predictor(copy, calibrated=False).predict(polymers, solvents, 300.0)
    out = Predictor(copy).predict(polymers, solvents, 300.0)
    np.testing.assert_allclose(out["chi_exp_std"], np.sqrt((2.0 * raw["chi_exp_std"]) ** 2 + 0.3**2), rtol=1e-5)
    np.testing.assert_allclose(out["chi_exp"], raw["chi_exp"])

    card = pooled_uncertainty(Recipe(("quick.yaml",), copy, tmp_path, calibration_file), copy)
    assert card["source"] == source and card["calibration"]["chi_exp"]["a"] == 2.0

    write_pooled(calibration_file, pooled, {**source, "members": 3})
    with pytest.raises(SystemExit):
        main(["calibrate", "--ckpt", str(copy), "--calibration", str(calibration_file)])
    assert "measured with ensembles of 3 members" in capsys.readouterr().err
