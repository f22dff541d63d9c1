"""Bad input through the CLI and the Python API: one clear line, never a traceback, never a lost row."""

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from gnnchi.cli import main
from gnnchi.data import ChiDataModule
from gnnchi.data.records import check_pairs, normalize_columns, read_csv_table, read_pairs_csv
from gnnchi.errors import DataValidationError, GnnChiError, ModelFileError
from gnnchi.inference.predict_table import predict_file
from gnnchi.inference.predictor import Predictor

QUICK = str(Path(__file__).parents[2] / "configs" / "quick.yaml")


@pytest.fixture(scope="module")
def model(tiny_export):
    checkpoint, paths = tiny_export
    return checkpoint, paths["pair_model"], Predictor.from_file(paths["pair_model"])


def run_cli(args, capsys) -> tuple[int, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def test_out_of_vocabulary_atoms_are_predicted_with_a_warning(model, tmp_path, capsys):
    _, onnx, predictor = model
    out = predictor.predict(["*CC(*)c1ccccc1", "*CC(*)c1ccccc1"], ["C[Pb](C)(C)C", "Cc1ccccc1"], [300.0, 300.0])
    assert out["error"].tolist() == ["", ""] and out["chi_exp"].notna().all()
    assert "element Pb" in out["warning"][0] and out["warning"][1] == ""
    pd.DataFrame({"polymer": ["*CC*"], "solvent": ["C[Pb](C)(C)C"], "temperature_K": [300]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    assert (
        main(["predict", "--model", str(onnx), "--input", str(tmp_path / "p.csv"), "--output", str(tmp_path / "o.csv")])
        is None
    )
    assert "element Pb" in pd.read_csv(tmp_path / "o.csv")["warning"][0]


def test_training_data_warns_about_out_of_vocabulary_atoms(tmp_path, caplog):
    (tmp_path / "d.csv").write_text(
        "polymer,solvent,temperature_K,chi_exp\n*CC*,C[Pb](C)(C)C,300,0.5\n*CC*,CCCC,300,0.4\n"
    )
    ChiDataModule(data=str(tmp_path / "d.csv"), split="pair", num_folds=2, val_fraction=0).setup("fit")
    assert "C[Pb](C)(C)C" in caplog.text and "element Pb" in caplog.text


def test_size_limit_and_temperature_range_are_predict_options(model, tmp_path):
    _, onnx, _ = model
    rows = pd.DataFrame(
        {"polymer": ["*CC*"] * 3, "solvent": ["CCCCCCCC", "CC", "CC"], "temperature_K": [300, 300, 350]}
    )
    rows.to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(SystemExit):
        main(["predict", "--model", str(onnx), "--input", str(tmp_path / "p.csv"), "--output", str(tmp_path / "o.csv"),
              "--max_heavy_atoms", "5", "--temperature_range_K", "200", "320"])  # fmt: skip
    errors = pd.read_csv(tmp_path / "o.csv", keep_default_na=False)["error"].tolist()
    assert "8 heavy atoms exceed the limit of 5" in errors[0] and errors[1] == "" and "outside 200-320 K" in errors[2]
    api = Predictor.from_file(onnx, max_heavy_atoms=5, temperature_range_K=(200, 320)).predict(
        rows["polymer"], rows["solvent"], rows["temperature_K"]
    )
    assert api["error"].tolist() == errors
    rows[["solvent"]].to_csv(tmp_path / "s.csv", index=False)
    screen = ["screen", "--model", str(onnx), "--polymer", "*CC*", "--solvents", str(tmp_path / "s.csv"),
              "--output", str(tmp_path / "r.csv"), "--max_heavy_atoms", "5", "--temperature_range_K", "200", "320",
              "--temperature_C"]  # fmt: skip
    with pytest.raises(SystemExit) as status:
        main([*screen, "20", "80"])
    assert status.value.code == 2
    main([*screen, "20", "40"])
    assert len(pd.read_csv(tmp_path / "r.csv")) == 2 * 2 + 1  # two good candidates x two temperatures, one too large


@pytest.mark.parametrize(
    "header, message",
    [("polymer,solvent,temperature_K,temperature_C", "not both"), ("polymer,solvent", "give exactly one of")],
)
def test_both_or_neither_temperature_column(model, tmp_path, capsys, header, message):
    _, onnx, _ = model
    values = ["*CC*", "CC", "300", "27"][: len(header.split(","))]
    (tmp_path / "p.csv").write_text(header + "\n" + ",".join(values) + "\n")
    code, err = run_cli(
        ["predict", "--model", str(onnx), "--input", str(tmp_path / "p.csv"), "--output", str(tmp_path / "o.csv")],
        capsys,
    )
    assert code == 2 and message in err and "Traceback" not in err
    if "not both" in message:  # training data: the same rule
        with pytest.raises(DataValidationError, match=message):
            read_pairs_csv(tmp_path / "p.csv")


def test_truncated_other_version_and_foreign_model_files(model, tmp_path, capsys):
    checkpoint, onnx, _ = model
    (tmp_path / "pairs.csv").write_text("polymer,solvent,temperature_K\n*CC*,CC,300\n")
    truncated_ckpt = tmp_path / "t.ckpt"
    truncated_ckpt.write_bytes(checkpoint.read_bytes()[:5000])
    truncated_onnx = tmp_path / "t.onnx"
    for part in ("polymer_encoder", "solvent_encoder", "pair_head"):
        data = onnx.with_name(f"tiny.{part}.onnx").read_bytes()
        (tmp_path / f"t.{part}.onnx").write_bytes(data[: len(data) // 2])
    truncated_onnx.write_bytes(onnx.read_bytes()[:100])
    old = tmp_path / "old.ckpt"
    state = torch.load(checkpoint, weights_only=True)
    state["gnnchi"]["featurizer_version"] = 0
    torch.save(state, old)
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    for path, message in ((truncated_ckpt, "not a readable gnnchi checkpoint"), (truncated_onnx, "not a readable ONNX"),
                          (old, "featurizer version 0"), (foreign, "not a gnnchi model")):  # fmt: skip
        for verb in (
            ["predict", "--input", str(tmp_path / "pairs.csv")],
            ["screen", "--polymer", "*CC*", "--solvents", str(tmp_path / "pairs.csv"), "--temperature_K", "300"],
        ):
            code, err = run_cli([verb[0], "--model", str(path), *verb[1:], "--output", str(tmp_path / "o.csv")], capsys)
            assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err, err
        with pytest.raises(ModelFileError, match=message):
            Predictor.from_file(path)
    code, err = run_cli(["export", "--ckpt", str(old), "--output", str(tmp_path / "x.onnx")], capsys)
    assert code == 2 and "featurizer version 0" in err


def test_fit_with_a_bad_config_value_stops_with_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(
        "polymer,solvent,temperature_K,chi_exp\n*CC*,CC,300,0.5\n*CC*,XX,300,0.4\nCC,CC,900,0.3\n"
    )
    code, err = run_cli(
        ["fit", "--config", QUICK, "--data.data", str(tmp_path / "d.csv"), "--trainer.logger", "false"], capsys
    )
    assert code == 2 and "row 3" in err and "row 4" in err and "Traceback" not in err


# ------------------------------------------------------------------ property-based
# Most rows are valid pairs at valid temperatures, so predictions (not only refusals) are checked;
# the rest are junk: one bad part in an otherwise good row, or junk throughout.
VALID_POLYMERS = ["*CC*", "*CC(*)c1ccccc1", "*CCO*", "*C*", "*CC(*)Cl", "*O[Si](C)(C)*", "*CC(*)C#N", "*NCCCCCC(*)=O"]
VALID_SOLVENTS = ["CCO", "O", "Cc1ccccc1", "ClC(Cl)Cl", "C1CCOC1", "CC(C)=O", "CCCCCC", "C[Pb](C)(C)C"]
smiles_like = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="CNOcn()[]=#*12+-.@/\\HClBrS", max_size=25),
    st.sampled_from(["*CC*", "*CC(*)c1ccccc1", "CCO", "O", "[Na+].[Cl-]", "*C*C*", "C[Pb](C)(C)C", "", " ", "nan"]),
)
temperature_like = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=False), st.floats(150, 700, allow_subnormal=False)
)
valid_polymer, valid_solvent = st.sampled_from(VALID_POLYMERS), st.sampled_from(VALID_SOLVENTS)
# no subnormals: loading a checkpoint calls torch.set_flush_denormal(True), which hypothesis refuses to draw under
valid_kelvin = st.floats(150, 700, allow_subnormal=False)
valid_celsius = st.floats(150 - 273.15, 700 - 273.15, allow_subnormal=False).filter(lambda c: 150 <= c + 273.15 <= 700)


def mostly_valid(good: st.SearchStrategy, *junk: st.SearchStrategy) -> st.SearchStrategy:
    """(row, made_valid): a good row three times in four, else one of the junk rows."""
    good_row, junk_row = good.map(lambda r: (r, True)), st.one_of(*junk).map(lambda r: (r, False))
    return st.integers(0, 3).flatmap(lambda k: good_row if k else junk_row)


pair_rows = mostly_valid(
    st.tuples(valid_polymer, valid_solvent, valid_kelvin),
    st.tuples(smiles_like, valid_solvent, valid_kelvin),
    st.tuples(valid_polymer, smiles_like, valid_kelvin),
    st.tuples(valid_polymer, valid_solvent, temperature_like),
    st.tuples(smiles_like, smiles_like, temperature_like),
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PREDICTED = ("chi_exp", "chi_cosmo", "p_soluble")


def predicted_alone(predictor: Predictor, polymer: str, solvent: str, temperature_K: float) -> pd.Series:
    """The prediction of one pair made on its own (no batch, no chunk, no neighbour)."""
    return predictor.predict([polymer], [solvent], [temperature_K]).iloc[0]


def check_rows(out: pd.DataFrame, pairs: list, made_valid: list[bool], predictor: Predictor) -> None:
    """One output row per input row, in order: refused rows have NaN and a reason; the others are finite and,
    where ``pairs[i]`` (polymer, solvent, kelvin) is given, equal to that pair predicted alone."""
    assert len(out) == len(pairs)
    values = out[list(PREDICTED)].to_numpy(float)
    failed = (out["error"] != "").to_numpy()
    assert np.isnan(values[failed]).all() and np.isfinite(values[~failed]).all()
    assert not failed[made_valid].any(), out.loc[failed & np.array(made_valid, bool), "error"].tolist()
    for i in np.flatnonzero(~failed):
        if pairs[i] is not None:
            alone = predicted_alone(predictor, *pairs[i])
            assert alone["error"] == "", (pairs[i], alone["error"])
            # rtol: a CSV keeps 6 significant digits (tables.FLOAT_FORMAT); atol: float32 batch noise
            np.testing.assert_allclose(values[i], alone[list(PREDICTED)].to_numpy(float), rtol=1e-5, atol=1e-5,
                                       err_msg=f"row {i}: {pairs[i]}")  # fmt: skip
    event(f"rows predicted: {'all' if not failed.any() else 'none' if failed.all() else 'some'}")


@PROPERTY
@given(st.lists(pair_rows, max_size=12))
def test_predictor_returns_one_row_per_input_whatever_it_gets(model, rows):
    _, _, predictor = model
    pairs, made_valid = [r for r, _ in rows], [v for _, v in rows]
    polymers, solvents, temps = ([p[i] for p in pairs] for i in range(3))
    out = predictor.predict(polymers, solvents, np.asarray(temps, dtype=float))
    check_rows(out, pairs, made_valid, predictor)


PAIR_HEADER = b"polymer,solvent,temperature_K\n"
text_lines = st.lists(st.text(max_size=40), max_size=8).map(lambda lines: "\n".join(lines).encode())
random_bytes = st.one_of(
    st.binary(max_size=400), st.binary(max_size=300).map(PAIR_HEADER.__add__), text_lines.map(PAIR_HEADER.__add__)
)


@PROPERTY
@given(random_bytes)
def test_random_bytes_are_read_or_refused_with_a_typed_error(model, tmp_path_factory, data):
    """Either one typed error in one line, or every row the input parses to comes back, in order."""
    _, _, predictor = model
    folder = tmp_path_factory.mktemp("bytes")
    path = folder / "in.csv"
    path.write_bytes(data)
    try:
        read_pairs_csv(path)
    except GnnChiError as err:
        assert str(err).startswith(f"{path}: "), str(err)
    try:
        predict_file(predictor, str(path), str(folder / "out.csv"))
    except GnnChiError as err:
        assert str(err).strip() and "\n" not in str(err), str(err)
        event("refused")
        return
    given_rows = read_csv_table(path, dtype=str, keep_default_na=False)
    out = pd.read_csv(folder / "out.csv", dtype=str, keep_default_na=False)
    assert len(out) == len(given_rows) and out["polymer"].tolist() == given_rows["polymer"].tolist()
    event("read")


cell = st.one_of(smiles_like, st.just(""), st.floats(allow_subnormal=False).map(str), st.integers(-1000, 1000).map(str))
table_rows = mostly_valid(
    st.tuples(valid_polymer, valid_solvent, valid_celsius.map(repr), cell, cell),
    st.tuples(smiles_like, smiles_like, cell, cell, cell),
    st.tuples(valid_polymer, valid_solvent, cell, cell, cell),
)


@PROPERTY
@given(st.lists(table_rows, min_size=1, max_size=10))
@example([(("*CC*", "Cc1ccccc1", "-120.0", "", ""), True)])  # chi_cosmo about 10: more digits than a CSV keeps
def test_random_tables_keep_every_row_in_predict_and_report_every_bad_row_in_training(model, tmp_path_factory, rows):
    _, _, predictor = model
    folder = tmp_path_factory.mktemp("tables")
    frame = pd.DataFrame([r for r, _ in rows], columns=["polymer", "solvent", "temperature_C", "chi_exp", "soluble"])
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    frame.to_csv(folder / "in.csv", index=False, quoting=csv.QUOTE_ALL)  # a bare \r would be a line break
    try:
        predict_file(predictor, str(folder / "in.csv"), str(folder / "out.csv"))
    except GnnChiError:
        assert not all(valid for _, valid in rows)  # a file of good rows is always read
        event("refused")
        return  # e.g. a cell that makes the whole file unreadable as CSV: one clear error
    out = pd.read_csv(folder / "out.csv", dtype=str, keep_default_na=False)
    echoed = ["id", "polymer", "solvent", "temperature_C"]
    assert out[echoed].values.tolist() == frame[echoed].values.tolist()
    out[list(PREDICTED)] = out[list(PREDICTED)].replace("", "nan").astype(float)
    made_valid = [valid for _, valid in rows]
    pairs = [(p, s, float(c) + 273.15) if valid else None for (p, s, c, _, _), valid in rows]
    check_rows(out, pairs, made_valid, predictor)
    try:
        table = read_pairs_csv(folder / "in.csv")
    except GnnChiError:
        return
    records, problems = check_pairs(table, "in.csv")
    assert len(records.table) + len({p.row for p in problems}) == len(frame)  # each row kept or reported


def test_normalize_columns_reports_unparsed_numbers_instead_of_dropping_them():
    frame = normalize_columns(
        pd.DataFrame({"polymer": ["*CC*"], "solvent": ["C"], "temperature_K": ["3OO"], "chi_exp": ["0.4"]}), "t"
    )
    _, problems = check_pairs(frame, "t")
    assert [(p.column, p.reason) for p in problems] == [("temperature_K", "not a number")]


@pytest.mark.parametrize("verb", ["fit", "evaluate"])
def test_broken_or_missing_config_files_stop_with_a_parser_error(tmp_path, capsys, verb):
    broken = tmp_path / "broken.yaml"
    broken.write_text("model:\n  depth: [oops\n")
    extra = ["--protocol", "seed-folds", "--output", str(tmp_path / "out")] if verb == "evaluate" else []
    for config in (broken, tmp_path / "missing.yaml"):
        code, err = run_cli([verb, "--config", str(config), *extra], capsys)
        assert code == 2 and "error" in err and "Traceback" not in err
    code, err = run_cli(["fit", "--config", QUICK, "--data.duplicates", "maybe"], capsys)
    assert code == 2 and "keep" in err and "Traceback" not in err
