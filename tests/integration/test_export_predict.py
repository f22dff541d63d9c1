"""ONNX export with its parity check, the predictor (torch-free with ONNX), predict and screen."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gnnchi.cli import main
from gnnchi.inference.export import ExportError, export_checkpoint
from gnnchi.models import ChiModule
from gnnchi.models.checkpoint import model_card
from gnnchi.inference.onnx_format import file_names as export_file_names, read_metadata as model_metadata
from gnnchi.inference.predictor import Predictor

PAIRS = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e", "f", "g"],
        "polymer": ["*CC(*)c1ccccc1", "*CC(*)c1ccccc1", "CC", "*CCO*", "*C*", "*Oc1ccc(C(C)(C)c2ccc(OC(*)=O)cc2)cc1", "*CC*"],
        "solvent": ["Cc1ccccc1", "O", "O", "C", "[Cl-]", "ClC(Cl)Cl", "C1CC"],
        "temperature_C": ["25", "80", "25", "", "-10", "150", "25"],
    }
)
BAD_ROWS = {2, 3, 6}  # no '*', no temperature, unparsable solvent


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export")
    torch.manual_seed(0)
    module = ChiModule(latent_dim=4, hidden_dim=32, depth=3, ffn_hidden_dim=32, temperature_order=2)
    head = module.net.head
    head.inv_t_mean.fill_(1 / 350.0), head.inv_t_std.fill_(5e-4), head.chi_mean.fill_(0.6), head.chi_std.fill_(0.7)
    checkpoint = folder / "tiny.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "gnnchi": model_card()},
               checkpoint)  # fmt: skip
    paths = export_checkpoint(checkpoint, folder / "gnnchi.onnx")
    pairs = folder / "pairs.csv"
    PAIRS.to_csv(pairs, index=False)
    return checkpoint, paths, pairs


def test_export_writes_single_files_with_metadata(exported):
    _, paths, _ = exported
    assert set(paths) == {"pair_model", "polymer_encoder", "solvent_encoder", "pair_head"}
    for part, path in paths.items():
        meta = model_metadata(path)
        assert meta["gnnchi_part"] == part and meta["featurizer_version"] == "1"
        assert meta["tasks"] == '["soluble", "chi_exp", "chi_cosmo"]' and meta["temperature_order"] == "[2]"
        assert meta["ensemble_members"] == "1"
        assert "inv_t_mean" in meta["temperature_scaling"]
    assert not list(paths["pair_model"].parent.glob("*.data"))  # no external data


def test_export_refuses_a_model_outside_tolerance(exported, tmp_path):
    checkpoint, _, _ = exported
    with pytest.raises(ExportError, match="nothing was written"):
        export_checkpoint(checkpoint, tmp_path / "strict.onnx", tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []


def test_onnx_and_checkpoint_predictions_agree_row_by_row(exported):
    checkpoint, paths, _ = exported
    temps = pd.to_numeric(PAIRS["temperature_C"], errors="coerce") + 273.15
    args = (PAIRS["polymer"].tolist(), PAIRS["solvent"].tolist(), temps.to_numpy())
    onnx_out = Predictor.from_file(paths["pair_model"]).predict(*args)
    torch_out = Predictor.from_file(checkpoint).predict(*args)
    assert len(onnx_out) == len(PAIRS)
    assert set(np.flatnonzero(onnx_out["error"] != "")) == BAD_ROWS
    good = onnx_out["error"] == ""
    cols = ["chi_exp", "chi_cosmo", "p_soluble"]
    np.testing.assert_allclose(onnx_out.loc[good, cols], torch_out.loc[good, cols], atol=1e-5)
    assert onnx_out.loc[~good, cols].isna().all().all()


def test_predict_command_keeps_every_row_in_order(exported, tmp_path):
    _, paths, pairs = exported
    out = tmp_path / "out.csv"
    with pytest.raises(SystemExit) as status:
        main(["predict", "--model", str(paths["pair_model"]), "--input", str(pairs), "--output", str(out)])
    assert status.value.code == 1  # some rows failed
    result = pd.read_csv(out, dtype={"temperature_C": str}, keep_default_na=False)
    assert result["id"].tolist() == PAIRS["id"].tolist()
    predicted = ["chi_exp", "chi_exp_std", "chi_cosmo", "chi_cosmo_std", "p_soluble", "p_soluble_std"]
    assert list(result.columns) == [*PAIRS.columns, *predicted, "error", "warning"]
    assert (result["chi_exp_std"] == "").all()  # one model: no spread to report (read with keep_default_na=False)
    assert {i for i, e in enumerate(result["error"]) if e} == BAD_ROWS
    good = PAIRS.drop(index=sorted(BAD_ROWS))
    good.to_csv(tmp_path / "good.csv", index=False)
    assert main(["predict", "--model", str(paths["pair_model"]), "--input", str(tmp_path / "good.csv"),
                 "--output", str(tmp_path / "good_out.csv")]) is None  # exit status 0  # fmt: skip


def test_onnx_predictor_does_not_import_torch(exported):
    _, paths, _ = exported
    code = (
        "import sys; from gnnchi.inference.predictor import Predictor; "
        f"p = Predictor.from_file({str(paths['pair_model'])!r}); "
        "out = p.predict(['*CC(*)c1ccccc1'], ['Cc1ccccc1'], [298.15]); "
        "assert out['error'][0] == '' and out['chi_exp'].notna().all(); "
        "assert 'torch' not in sys.modules, [m for m in sys.modules if m.startswith('torch')][:3]"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]


def test_screen_ranks_candidates_and_matches_predict(exported, tmp_path):
    _, paths, _ = exported
    solvents = pd.DataFrame({"solvent": ["Cc1ccccc1", "CCO", "O", "XX", "ClC(Cl)Cl"], "name": ["tol", "EtOH", "water", "bad", "CHCl3"]})
    solvents.to_csv(tmp_path / "solvents.csv", index=False)
    out = tmp_path / "ranked.csv"
    main(["screen", "--model", str(paths["pair_model"]), "--polymer", "*CC(*)c1ccccc1",
          "--solvents", str(tmp_path / "solvents.csv"), "--temperature_C", "25", "60", "--output", str(out)])  # fmt: skip
    ranked = pd.read_csv(out)
    ranked["error"] = ranked["error"].fillna("")
    good = ranked[ranked["error"] == ""]
    assert len(good) == 4 * 2 and ranked["name"].iloc[-1] == "bad"
    assert good["chi_exp"].is_monotonic_increasing and good["rank"].tolist() == list(range(1, 9))
    direct = Predictor.from_file(paths["pair_model"]).predict(
        ["*CC(*)c1ccccc1"] * len(good), good["solvent"].tolist(), good["temperature_K"].to_numpy()
    )
    np.testing.assert_allclose(good["chi_exp"], direct["chi_exp"], atol=1e-5)


def test_bad_model_files_give_one_clear_line(tmp_path, capsys):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx model")
    for name in ("gnnchi.polymer_encoder.onnx", "gnnchi.solvent_encoder.onnx", "gnnchi.pair_head.onnx"):
        (tmp_path / name).write_bytes(b"garbage")
    (tmp_path / "junk.polymer_encoder.onnx").write_bytes(b"garbage")
    pairs = tmp_path / "p.csv"
    PAIRS.to_csv(pairs, index=False)
    for model in (junk, tmp_path / "missing.ckpt"):
        with pytest.raises(SystemExit) as status:
            main(["predict", "--model", str(model), "--input", str(pairs), "--output", str(tmp_path / "o.csv")])
        assert status.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("gnnchi: error:") and "Traceback" not in err
    assert export_file_names(tmp_path / "x.onnx")["pair_head"].name == "x.pair_head.onnx"


@pytest.mark.parametrize("backend", ["onnx", "ckpt"])
def test_grid_screening_equals_pairwise_predictions(exported, backend):
    checkpoint, paths, _ = exported
    predictor = Predictor.from_file(paths["pair_model"] if backend == "onnx" else checkpoint)
    polymers = ["*CC(*)c1ccccc1", "*CCO*", "*C*"]
    solvents = ["Cc1ccccc1", "O", "ClC(Cl)Cl", "CCCCCCCC"]
    temps = np.array([260.0, 300.0, 420.0], np.float32)
    polymer_latent, _ = predictor.encode(polymers, "polymer")
    solvent_latent, _ = predictor.encode(solvents, "solvent")
    chi, p_soluble, _, _ = predictor.grid(polymer_latent, solvent_latent, temps)
    assert chi.shape == (2, 3, 4, 3) and p_soluble.shape == (3, 4)
    grid = [(i, j, t) for i in range(3) for j in range(4) for t in range(3)]
    direct = predictor.predict([polymers[i] for i, _, _ in grid], [solvents[j] for _, j, _ in grid],
                               [temps[t] for _, _, t in grid])  # fmt: skip
    np.testing.assert_allclose([chi[0, i, j, t] for i, j, t in grid], direct["chi_exp"], atol=1e-4)
    np.testing.assert_allclose([chi[1, i, j, t] for i, j, t in grid], direct["chi_cosmo"], atol=1e-4)
    np.testing.assert_allclose([p_soluble[i, j] for i, j, _ in grid], direct["p_soluble"], atol=1e-5)


def test_screen_one_solvent_against_many_polymers(exported, tmp_path):
    checkpoint, _, _ = exported
    polymers = pd.DataFrame({"polymer": ["*CC(*)c1ccccc1", "*CCO*", "CC", "*CC(*)C#N"]})
    polymers.to_csv(tmp_path / "polymers.csv", index=False)
    out = tmp_path / "ranked.csv"
    main(["screen", "--model", str(checkpoint), "--solvent", "Cc1ccccc1", "--polymers", str(tmp_path / "polymers.csv"),
          "--temperature_K", "300", "--rank_by", "p_soluble", "--output", str(out)])  # fmt: skip
    ranked = pd.read_csv(out)
    good = ranked[ranked["error"].isna()]
    assert len(good) == 3 and good["p_soluble"].is_monotonic_decreasing and (ranked["solvent"] == "Cc1ccccc1").all()
    direct = Predictor.from_file(checkpoint).predict(good["polymer"].tolist(), ["Cc1ccccc1"] * 3, [300.0] * 3)
    np.testing.assert_allclose(good["chi_exp"], direct["chi_exp"], atol=1e-4)
    assert ranked["polymer"].iloc[-1] == "CC" and "exactly two" in ranked["error"].iloc[-1]


def tiny_checkpoint(path: Path, seed: int) -> Path:
    torch.manual_seed(seed)
    module = ChiModule(latent_dim=4, hidden_dim=32, depth=2, ffn_hidden_dim=32)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "gnnchi": model_card()}, path)
    return path


def test_ensemble_mean_and_std_over_members_in_torch_onnx_and_grid(tmp_path):
    from gnnchi.models.ensemble import write_manifest

    members = [tiny_checkpoint(tmp_path / f"m{i}.ckpt", seed=i) for i in range(3)]
    manifest = write_manifest(tmp_path / "ensemble.json", members)
    paths = export_checkpoint([manifest], tmp_path / "ens.onnx")
    assert model_metadata(paths["pair_head"])["ensemble_members"] == "3"
    polymers, solvents, temps = ["*CC(*)c1ccccc1", "*CCO*", "*C*"], ["Cc1ccccc1", "O", "C"], [280.0, 330.0, 400.0]
    singles = [Predictor.from_file(m).predict(polymers, solvents, temps) for m in members]
    for model in (manifest, members, paths["pair_model"]):
        out = Predictor.from_file(model).predict(polymers, solvents, temps)
        for column in ("chi_exp", "chi_cosmo", "p_soluble"):
            stacked = np.stack([s[column].to_numpy() for s in singles])  # [members, pairs]
            np.testing.assert_allclose(out[column], stacked.mean(0), atol=1e-5)
            np.testing.assert_allclose(out[f"{column}_std"], stacked.std(0, ddof=1), atol=1e-5)
            assert (out[f"{column}_std"] > 0).all()
    predictor = Predictor.from_file(paths["pair_model"])
    grid = predictor.grid(predictor.encode(polymers, "polymer")[0], predictor.encode(solvents, "solvent")[0], temps)
    out = predictor.predict(polymers, solvents, temps)
    np.testing.assert_allclose([grid.chi[0, i, i, i] for i in range(3)], out["chi_exp"], atol=1e-4)
    np.testing.assert_allclose([grid.chi_std[0, i, i, i] for i in range(3)], out["chi_exp_std"], atol=1e-4)
    np.testing.assert_allclose([grid.p_soluble_std[i, i] for i in range(3)], out["p_soluble_std"], atol=1e-5)


def test_bad_ensemble_manifests_and_old_exports_give_one_clear_line(exported, tmp_path, capsys):
    from gnnchi.errors import ModelFileError

    bad = tmp_path / "ensemble.json"
    for text in ("{not json", '{"members": []}', '{"gnnchi_ensemble": 1, "members": [3]}', "[]"):
        bad.write_text(text)
        with pytest.raises(ModelFileError, match="not a gnnchi ensemble manifest"):
            Predictor.from_file(bad)
    bad.write_text('{"gnnchi_ensemble": 1, "members": ["gone.ckpt"]}')
    with pytest.raises(SystemExit) as status:
        main(["predict", "--model", str(bad), "--input", str(exported[2]), "--output", str(tmp_path / "o.csv")])
    assert status.value.code == 2 and "gone.ckpt" in capsys.readouterr().err
    import onnx

    _, paths, _ = exported
    for part, path in paths.items():  # an export of another format version
        model = onnx.load(str(path))
        for prop in model.metadata_props:
            if prop.key == "export_format":
                prop.value = "1"
        onnx.save(model, str(tmp_path / path.name))
    with pytest.raises(ModelFileError, match="export the model again"):
        Predictor.from_file(tmp_path / paths["pair_model"].name)


def test_screen_in_celsius_predicts_at_the_kelvin_temperature(exported, tmp_path):
    """--temperature_C 25 is 298.15 K: the rows say so, and chi is predict's at temperature_K 298.15."""
    _, paths, _ = exported
    polymer, solvents = "*CC(*)c1ccccc1", ["Cc1ccccc1", "CCO", "ClC(Cl)Cl", "CCCCCC"]
    pd.DataFrame({"solvent": solvents}).to_csv(tmp_path / "solvents.csv", index=False)
    candidates = str(tmp_path / "solvents.csv")
    main(["screen", "--model", str(paths["pair_model"]), "--polymer", polymer, "--solvents", candidates,
          "--temperature_C", "25", "--output", str(tmp_path / "ranked.csv")])  # fmt: skip
    ranked = pd.read_csv(tmp_path / "ranked.csv").set_index("solvent")
    np.testing.assert_allclose(ranked["temperature_K"], 298.15, rtol=0, atol=1e-4)
    pd.DataFrame({"polymer": [polymer] * 4, "solvent": solvents, "temperature_K": ["298.15"] * 4}).to_csv(
        tmp_path / "pairs.csv", index=False
    )
    main(["predict", "--model", str(paths["pair_model"]), "--input", str(tmp_path / "pairs.csv"),
          "--output", str(tmp_path / "predicted.csv")])  # fmt: skip
    predicted = pd.read_csv(tmp_path / "predicted.csv").set_index("solvent")
    for column in ("chi_exp", "chi_cosmo", "p_soluble"):
        np.testing.assert_allclose(ranked.loc[solvents, column], predicted.loc[solvents, column], rtol=0, atol=1e-5,
                                   err_msg=column)  # fmt: skip


def chunked_rows() -> pd.DataFrame:
    """41 rows (5 full chunks of 7 and a partial one): 11 polymers and 11 solvents, repeated, with bad rows."""
    polymers = ["*CC(*)c1ccccc1", "*CCO*", "*C*", "*CC*", "*CC(*)Cl", "*CC(*)C#N", "*O[Si](C)(C)*", "*CC(*)O",
                "*CC(*)(C)C(=O)OC", "*NCCCCCC(*)=O", "*CC(*)OC(C)=O"]  # fmt: skip
    solvents = ["Cc1ccccc1", "O", "CCO", "ClC(Cl)Cl", "C1CCOC1", "CC(C)=O", "CCCCCC", "CN(C)C=O", "CO", "CCCCCCC",
                "c1ccccc1"]  # fmt: skip
    rows = [(polymers[(3 * i) % 11], solvents[(5 * i + i // 11) % 11], f"{250 + 7 * i}") for i in range(41)]
    for i, bad in {4: ("CC", None, None), 12: (None, "C1CC", None), 20: (None, None, ""),
                   33: (None, None, "900"), 40: ("*CC(*)X", None, None)}.items():  # fmt: skip
        rows[i] = tuple(b if b is not None else r for b, r in zip(bad, rows[i]))
    frame = pd.DataFrame(rows, columns=["polymer", "solvent", "temperature_K"])
    frame.insert(0, "id", [f"row{i}" for i in range(len(frame))])
    return frame


def test_predict_across_row_and_molecule_chunks_keeps_every_row_and_value(exported, tmp_path, monkeypatch):
    """Chunks of 7 rows and 5 molecules per encoder call: each row equals its prediction made alone."""
    _, paths, _ = exported
    rows = chunked_rows()
    rows.to_csv(tmp_path / "pairs.csv", index=False)
    alone = Predictor.from_file(paths["pair_model"])
    expected = [
        alone.predict([p], [s], [float(t) if t else float("nan")]).iloc[0]
        for p, s, t in zip(rows["polymer"], rows["solvent"], rows["temperature_K"])
    ]
    assert sum(e["error"] != "" for e in expected) == 5
    monkeypatch.setattr("gnnchi.inference.predict_table.ROWS_PER_CHUNK", 7)
    monkeypatch.setattr("gnnchi.inference.predictor.MOLECULES_PER_CALL", 5)
    with pytest.raises(SystemExit) as status:
        main(["predict", "--model", str(paths["pair_model"]), "--input", str(tmp_path / "pairs.csv"),
              "--output", str(tmp_path / "out.csv")])  # fmt: skip
    assert status.value.code == 1  # the bad rows
    out = pd.read_csv(tmp_path / "out.csv", keep_default_na=False, dtype=str)
    assert out[["id", "polymer", "solvent", "temperature_K"]].values.tolist() == rows.values.tolist()
    assert out["error"].tolist() == [want["error"] for want in expected]
    for column in ("chi_exp", "chi_cosmo", "p_soluble"):  # NaN (an empty cell) where a row failed, in both
        got = pd.to_numeric(out[column], errors="coerce").to_numpy()
        np.testing.assert_allclose(got, [want[column] for want in expected], rtol=0, atol=1e-5, err_msg=column)
