"""ONNX export with its parity check, the predictor (torch-free with ONNX), predict and screen."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.cli import main
from gnnchi.errors import DataValidationError, ModelFileError
from gnnchi.featurizers import FEATURIZER_VERSION
from gnnchi.inference.export import ExportError, export_checkpoint
from gnnchi.inference.onnx_format import file_names as export_file_names
from gnnchi.inference.onnx_format import read_metadata as model_metadata
from gnnchi.inference.predictor import Predictor
from tests.conftest import tiny_checkpoint

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
def exported(tiny_export, tmp_path_factory):
    checkpoint, paths = tiny_export
    pairs = tmp_path_factory.mktemp("export") / "pairs.csv"
    PAIRS.to_csv(pairs, index=False)
    return checkpoint, paths, pairs


def test_export_writes_single_files_with_metadata(exported):
    _, paths, _ = exported
    assert set(paths) == {"pair_model", "polymer_encoder", "solvent_encoder", "pair_head"}
    for part, path in paths.items():
        meta = model_metadata(path)
        assert meta["gnnchi_part"] == part and meta["featurizer_version"] == str(FEATURIZER_VERSION)
        assert meta["tasks"] == '["soluble", "chi_exp", "chi_cosmo"]' and meta["temperature_order"] == "[2]"
        assert meta["ensemble_members"] == "1"
        assert "inv_t_mean" in meta["temperature_scaling"]
    assert not list(paths["pair_model"].parent.glob("*.data"))  # no external data


def test_export_refuses_a_model_outside_tolerance(exported, tmp_path, monkeypatch):
    """The parity check runs for real on the fixture's ONNX parts (exported from this checkpoint: the
    same bytes ``export_models`` gives, without a second 30-s export); no tolerance admits them."""
    checkpoint, paths, _ = exported
    monkeypatch.setattr("gnnchi.inference.export.export_models", lambda *_: {p: f.read_bytes() for p, f in paths.items()})
    with pytest.raises(ExportError, match="nothing was written"):
        export_checkpoint(checkpoint, tmp_path / "strict.onnx", tolerance=-1.0)
    assert list(tmp_path.iterdir()) == []
    assert export_checkpoint(checkpoint, tmp_path / "loose.onnx")["pair_model"].read_bytes() == paths["pair_model"].read_bytes()


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
        "import gnnchi, gnnchi.release; "  # the shipped-model default: the same torch-free path
        f"gnnchi.release.MODEL = gnnchi.release.Path({str(paths['pair_model'])!r}); "
        "assert gnnchi.Predictor().predict('*CCO*', ['O', 'CCO'], 298.15)['chi_exp'].notna().all(); "
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
    # grouped by temperature in the order given (25 then 60 °C), ranked within each: rank restarts at 1
    np.testing.assert_allclose(good["temperature_K"], [298.15] * 4 + [333.15] * 4, atol=1e-4)
    assert good["rank"].tolist() == [1, 2, 3, 4, 1, 2, 3, 4]
    for _, block in good.groupby("temperature_K", sort=False):
        assert block["chi_exp"].is_monotonic_increasing and sorted(block["name"]) == ["CHCl3", "EtOH", "tol", "water"]
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
    assert chi.shape == (2, 3, 4, 3) and p_soluble.shape == (3, 4, 3)
    grid = [(i, j, t) for i in range(3) for j in range(4) for t in range(3)]
    direct = predictor.predict([polymers[i] for i, _, _ in grid], [solvents[j] for _, j, _ in grid],
                               [temps[t] for _, _, t in grid])  # fmt: skip
    np.testing.assert_allclose([chi[0, i, j, t] for i, j, t in grid], direct["chi_exp"], atol=1e-4)
    np.testing.assert_allclose([chi[1, i, j, t] for i, j, t in grid], direct["chi_cosmo"], atol=1e-4)
    np.testing.assert_allclose([p_soluble[i, j, t] for i, j, t in grid], direct["p_soluble"], atol=1e-5)
    assert not np.allclose(p_soluble[..., 0], p_soluble[..., 2])  # P(soluble) moves with T where chi does


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


def test_ensemble_mean_and_std_over_members_in_torch_onnx_and_grid(tmp_path):
    from gnnchi.models.ensemble import write_manifest

    members = [tiny_checkpoint(tmp_path / f"m{i}.ckpt", seed=i) for i in range(2)]
    manifest = write_manifest(tmp_path / "ensemble.json", members)
    paths = export_checkpoint([manifest], tmp_path / "ens.onnx")
    assert model_metadata(paths["pair_head"])["ensemble_members"] == "2"
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
    np.testing.assert_allclose([grid.p_soluble_std[i, i, i] for i in range(3)], out["p_soluble_std"], atol=1e-5)


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


# ------------------------------------------------------------------ the first hour: a chemist's habits
ADDED = ["chi_exp", "chi_exp_std", "chi_cosmo", "chi_cosmo_std", "p_soluble", "p_soluble_std", "error", "warning"]
# A user's table, byte for byte: own column names, Celsius, numeric cells written as the user wrote them
# ("060", "2.5e1", a quoted "25", "007"), and note cells holding a bare carriage return and a line feed.
USER_TABLE = (
    'id,SMILES_P,SMILES_S,T_C,note\r\n'
    'a,*CC(*)c1ccccc1,Cc1ccccc1,25,"line\rbreak"\n'
    'b,*CCO*,CCO,060,"two\nlines"\n'
    'c,*CC(*)c1ccccc1,O,2.5e1,plain\n'
    'd,*CC(*)c1ccccc1,CCO,"25",007\n'
)
USER_KELVIN = [298.15, 333.15, 298.15, 298.15]
MAPPING = ["--polymer_column", "SMILES_P", "--solvent_column", "SMILES_S", "--temperature_column", "T_C",
           "--temperature_unit", "C"]  # fmt: skip


@pytest.fixture
def user_table(tmp_path) -> Path:
    path = tmp_path / "my pairs.csv"
    path.write_bytes(USER_TABLE.encode())
    return path


def test_predict_maps_the_users_columns_and_writes_them_back_unchanged(exported, user_table):
    """Output: the user's columns and cells as given (quoted only where a cell holds a line break), then
    the predictions with 6 significant digits, equal to the Python API's at the converted kelvin."""
    _, paths, _ = exported
    assert main(["predict", "--model", str(paths["pair_model"]), "--input", str(user_table), *MAPPING]) is None
    written = (user_table.parent / "my pairs_preds.csv").read_bytes().decode()  # default: beside the input
    out = pd.read_csv(user_table.parent / "my pairs_preds.csv", dtype=str, keep_default_na=False)
    given = pd.read_csv(user_table, dtype=str, keep_default_na=False)
    assert list(out.columns) == [*given.columns, *ADDED]  # no polymer/solvent/temperature_K added
    assert len(out) == 4 and out[list(given.columns)].values.tolist() == given.values.tolist()
    assert out["note"].tolist() == ["line\rbreak", "two\nlines", "plain", "007"]
    lines = written.split("\r\n")
    assert lines[2].startswith("b,*CCO*,CCO,060,") and lines[4].startswith("d,*CC(*)c1ccccc1,CCO,25,007,")
    assert lines[3].startswith("c,*CC(*)c1ccccc1,O,2.5e1,plain,") and '"' not in lines[3] + lines[4]
    expected = Predictor(paths["pair_model"]).predict(given["SMILES_P"], given["SMILES_S"], USER_KELVIN)
    for column in ("chi_exp", "chi_cosmo", "p_soluble"):
        assert out[column].tolist() == [f"{v:.6g}" for v in expected[column]], column
    assert (out["error"] == "").all() and (out["chi_exp_std"] == "").all()


def test_predict_column_options_refuse_what_they_cannot_read(exported, user_table, capsys):
    _, paths, _ = exported
    model = ["predict", "--model", str(paths["pair_model"]), "--input", str(user_table)]
    for args, message in (
        ([], "--polymer_column"),  # the default names are missing: say how to name one's own
        (MAPPING[:6], "--temperature_unit K or C"),  # T_C's unit is not in its name
        ([*MAPPING[:4], "--temperature_K", "300"], None),  # one temperature for every row
        ([*MAPPING, "--temperature_C", "25"], "not both"),
    ):
        try:
            main([*model, *args, "--output", str(user_table.parent / "o.csv")])
            code = 0
        except SystemExit as exit_:
            code = exit_.code
        err = capsys.readouterr().err
        if message is None:
            assert code == 0, err
            out = pd.read_csv(user_table.parent / "o.csv", keep_default_na=False)
            direct = Predictor(paths["pair_model"]).predict(out["SMILES_P"], out["SMILES_S"], 300.0)
            np.testing.assert_allclose(out["chi_exp"], direct["chi_exp"], rtol=1e-5)
        else:
            assert code == 2 and message in err and "Traceback" not in err, (args, err)


def test_predict_output_dash_writes_the_table_to_stdout_and_messages_to_stderr(exported, user_table, capsys):
    _, paths, _ = exported
    main(["predict", "--model", str(paths["pair_model"]), "--input", str(user_table), *MAPPING, "--output", "-"])
    captured = capsys.readouterr()
    main(["predict", "--model", str(paths["pair_model"]), "--input", str(user_table), *MAPPING])
    with open(user_table.parent / "my pairs_preds.csv", encoding="utf-8", newline="") as written:
        assert captured.out == written.read()
    assert "wrote 4 rows to stdout" in captured.err and "wrote" not in captured.out


@pytest.mark.parametrize("verb", ["predict", "screen"])
def test_predict_and_screen_into_a_closed_pipe_end_quietly(exported, tmp_path, verb):
    """`predict|screen --output - | head -n 2`: head leaves after two lines while gnnchi still writes thousands."""
    _, paths, _ = exported
    rows = 4000  # about 0.4 MB of output: far more than a pipe buffer
    if verb == "predict":
        pd.DataFrame({"polymer": ["*CC(*)c1ccccc1", "*CCO*"] * (rows // 2), "solvent": ["Cc1ccccc1", "CCO"] * (rows // 2),
                      "temperature_C": ["25", "60"] * (rows // 2)}).to_csv(tmp_path / "many.csv", index=False)  # fmt: skip
        args, header = ["--input", str(tmp_path / "many.csv")], b"polymer,solvent,temperature_C,chi_exp,"
    else:
        pd.DataFrame({"solvent": ["Cc1ccccc1", "CCO"] * (rows // 2)}).to_csv(tmp_path / "many.csv", index=False)
        args = ["--polymer", "*CC(*)c1ccccc1", "--solvents", str(tmp_path / "many.csv"), "--temperature_C", "25"]
        header = b"rank,polymer,solvent,temperature_K,chi_exp,"
    command = [sys.executable, "-m", "gnnchi", verb, "--model", str(paths["pair_model"]), *args, "--output", "-"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path) as process:
        assert process.stdout.readline().startswith(header)
        process.stdout.close()  # the reader goes away
        stderr = process.stderr.read().decode()
        code = process.wait(timeout=120)
    assert code == 0 and "Traceback" not in stderr and "Exception ignored" not in stderr, stderr[-3000:]


def test_model_defaults_to_the_shipped_model(exported, tmp_path, monkeypatch, capsys):
    _, paths, pairs = exported
    monkeypatch.setattr("gnnchi.release.MODEL", tmp_path / "none_yet.onnx")
    with pytest.raises(ModelFileError, match="no shipped model"):
        Predictor()
    code = None
    try:
        main(["predict", "--input", str(pairs), "--output", str(tmp_path / "o.csv")])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2 and "no shipped model" in capsys.readouterr().err
    monkeypatch.setattr("gnnchi.release.MODEL", paths["pair_model"])
    args = (PAIRS["polymer"], PAIRS["solvent"], pd.to_numeric(PAIRS["temperature_C"], errors="coerce") + 273.15)
    pd.testing.assert_frame_equal(Predictor().predict(*args), Predictor.from_file(paths["pair_model"]).predict(*args))
    for model, output in (([], "shipped.csv"), (["--model", str(paths["pair_model"])], "given.csv")):
        with pytest.raises(SystemExit, match="1"):  # some rows fail: status 1
            main(["predict", *model, "--input", str(pairs), "--output", str(tmp_path / output)])
    assert (tmp_path / "shipped.csv").read_bytes() == (tmp_path / "given.csv").read_bytes()
    pd.DataFrame({"solvent": ["Cc1ccccc1", "CCO"]}).to_csv(tmp_path / "solvents.csv", index=False)
    main(["screen", "--polymer", "*CC*", "--solvents", str(tmp_path / "solvents.csv"), "--temperature_K", "300"])
    assert len(pd.read_csv(tmp_path / "solvents_ranked.csv")) == 2  # default output beside the candidates


def test_predictor_takes_a_path_a_list_or_a_backend(exported):
    checkpoint, paths, _ = exported
    args = (["*CC(*)c1ccccc1", "*CCO*"], ["Cc1ccccc1", "O"], [298.15, 350.0])
    reference = Predictor.from_file(checkpoint).predict(*args)
    for model in (str(checkpoint), [checkpoint], [str(checkpoint)], Predictor.from_file(checkpoint).backend):
        pd.testing.assert_frame_equal(Predictor(model).predict(*args), reference)
    onnx = Predictor(str(paths["pair_model"])).predict(*args)
    np.testing.assert_allclose(onnx["chi_exp"], reference["chi_exp"], atol=1e-5)


def test_predict_broadcasts_a_single_smiles_or_temperature_and_keeps_the_inputs(exported):
    _, paths, _ = exported
    predictor = Predictor(paths["pair_model"])
    polymers = ["*CC(*)c1ccccc1", "*CCO*", "CC"]
    out = predictor.predict(polymers, "Cc1ccccc1", 298.15)
    assert list(out.columns) == ["polymer", "solvent", "temperature_K", *ADDED]
    assert out["polymer"].tolist() == polymers and (out["solvent"] == "Cc1ccccc1").all()
    assert (out["temperature_K"] == 298.15).all() and out["error"].tolist()[:2] == ["", ""]
    full = predictor.predict(polymers, ["Cc1ccccc1"] * 3, [298.15] * 3)
    pd.testing.assert_frame_equal(out, full)
    one = predictor.predict("*CCO*", ["O", "CCO"], [300.0, 320.0])
    assert one["polymer"].tolist() == ["*CCO*"] * 2 and one["temperature_K"].tolist() == [300.0, 320.0]
    with pytest.raises(DataValidationError, match="as many polymers, solvents and temperatures_K"):
        predictor.predict(polymers, ["O", "CCO"], 300.0)


def test_screen_ranks_within_each_temperature_in_the_order_given(exported, tmp_path, capsys):
    """60 °C given first: its block comes first; each block is ranked from 1; mapped column, stdout."""
    _, paths, _ = exported
    names = ["tol", "EtOH", "water", "CHCl3", "hexane"]
    pd.DataFrame({"name": names, "SMILES": ["Cc1ccccc1", "CCO", "O", "ClC(Cl)Cl", "CCCCCC"]}).to_csv(
        tmp_path / "solvents.csv", index=False
    )
    main(["screen", "--model", str(paths["pair_model"]), "--polymer", "*CC(*)c1ccccc1", "--solvents",
          str(tmp_path / "solvents.csv"), "--solvent_column", "SMILES", "--temperature_C", "60", "25",
          "--rank_by", "p_soluble", "--output", "-"])  # fmt: skip
    captured = capsys.readouterr()
    ranked = pd.read_csv(io.StringIO(captured.out))
    assert "rank 1 the best at each temperature" in captured.err
    assert list(ranked.columns[:4]) == ["rank", "polymer", "name", "SMILES"]
    np.testing.assert_allclose(ranked["temperature_K"], [333.15] * 5 + [298.15] * 5, atol=1e-4)
    assert ranked["rank"].tolist() == [1, 2, 3, 4, 5] * 2
    for _, block in ranked.groupby("temperature_K", sort=False):
        assert block["p_soluble"].is_monotonic_decreasing and sorted(block["name"]) == sorted(names)
        direct = Predictor(paths["pair_model"]).predict("*CC(*)c1ccccc1", block["SMILES"], block["temperature_K"])
        np.testing.assert_allclose(block["chi_exp"], direct["chi_exp"], rtol=1e-5, atol=1e-6)


def test_own_verbs_spell_each_option_one_way():
    """Underscores, never hyphens, in every own verb's options; predict and screen share their options."""
    from gnnchi.cli import build_parser

    parser = build_parser()
    (verbs,) = [a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction)]
    options = {name: {o for a in p._actions for o in a.option_strings} for name, p in verbs.choices.items()}
    for name, spelled in options.items():
        assert all("-" not in o[2:] for o in spelled if o.startswith("--")), (name, sorted(spelled))
    shared = {"--model", "--output", "--polymer_column", "--solvent_column", "--temperature_K", "--temperature_C",
              "--max_heavy_atoms", "--temperature_range_K"}  # fmt: skip
    assert shared <= options["predict"] and shared <= options["screen"]
    assert "--output" in options["export"]
