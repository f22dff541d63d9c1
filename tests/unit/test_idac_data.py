"""The bundled infinite-dilution activity coefficients (through the RDKit gate, every unused row reported)."""

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from rdkit import Chem, rdBase

from gnnchi.chem import make_mol
from gnnchi.datasets import idac, load_idac
from gnnchi.datasets.idac import EXCLUDED_FILE, HERE
from gnnchi.errors import InvalidSmilesError

RAW_FILE = HERE / "brouwer_2021_idac.csv"
HEADER = "Solute_SMILES,Solvent_SMILES,log-gamma,T\n"


@pytest.fixture(scope="module")
def bundled():
    return load_idac()


@pytest.fixture(scope="module")
def raw():
    """The raw file read with pandas, its lines (header = 1) as the index, and plain-RDKit keys."""
    frame = pd.read_csv(RAW_FILE)
    frame.index = frame.index + 2
    with rdBase.BlockLogs():
        canon = {
            s: Chem.MolToSmiles(Chem.MolFromSmiles(s)) for s in {*frame["Solute_SMILES"], *frame["Solvent_SMILES"]}
        }
    return frame.assign(solute_key=frame["Solute_SMILES"].map(canon), solvent_key=frame["Solvent_SMILES"].map(canon))


# --- the bundled file -------------------------------------------------------------------------------


def test_raw_file_as_described(raw):
    assert len(raw) == 20870 and list(raw.columns[:4]) == ["Solute_SMILES", "Solvent_SMILES", "log-gamma", "T"]
    assert raw["Solute_SMILES"].nunique() == 373 and raw["Solvent_SMILES"].nunique() == 349
    assert (HERE / "LICENSE").read_text().startswith("MIT License\n\nCopyright (c) 2022 Edgar Sanchez")


@pytest.mark.parametrize(
    "row, solute, solvent, temperature_K, ln_gamma",
    [  # read off the file with sed; the temperature is T (°C) + 273.15 by hand
        (2, "C", "CCCCCCCCCCCCCCCC", 313.15, -0.261364764),  # 40 °C
        (1000, "CCCCCC", "CN1CCCC1=O", 323.35, 2.602689685),  # 50.2 °C
        (1723, "CCCCCC", "O=S1(CCCC1)=O", 555.60, 1.479329227),  # 282.45 °C, the hottest
        (17611, "CCCl", "O1CCCCC1", 250.00, 0.254642218),  # -23.15 °C, the coldest
        (20871, "CCCCOP(OCCCC)(OCCCC)=O", "ClC(Cl)(Cl)Cl", 298.15, -0.400029906),  # the last line, 25 °C
    ],
)
def test_named_rows_by_hand(bundled, row, solute, solvent, temperature_K, ln_gamma):
    rec = bundled.table.set_index("row").loc[row]
    assert (rec["solute_smiles"], rec["solvent_smiles"]) == (solute, solvent)
    assert rec["temperature_K"] == pytest.approx(temperature_K, abs=1e-9)
    assert rec["ln_gamma_inf"] == pytest.approx(ln_gamma, abs=1e-12)


def test_every_line_accounted_for_once(bundled, raw):
    table, excluded = bundled.table, bundled.excluded
    assert len(table) == 20265 and len(excluded) == 605
    assert sorted([*table["row"], *excluded["row"]]) == list(range(2, 20872))
    assert excluded["reason"].str.len().gt(0).all()
    # the kept rows are the file's, value for value
    expected = raw.loc[table["row"]]
    assert table["solute_smiles"].tolist() == expected["Solute_SMILES"].tolist()
    assert table["solvent_smiles"].tolist() == expected["Solvent_SMILES"].tolist()
    assert (table["ln_gamma_inf"].to_numpy() == expected["log-gamma"].to_numpy()).all()
    assert (table["temperature_K"] - (expected["T"].to_numpy() + 273.15)).abs().max() < 1e-9
    assert table["temperature_K"].between(250.0, 555.6).all()
    assert table["temperature_K"].min() == 250.0 and table["temperature_K"].max() == 555.6


def test_keys_are_plain_rdkit_canonical_smiles(bundled):
    table = bundled.table
    with rdBase.BlockLogs():
        for side in ("solute", "solvent"):
            for smiles, group in table.groupby(f"{side}_smiles"):
                mol = Chem.MolFromSmiles(smiles)
                assert mol is not None and len(Chem.GetMolFrags(mol)) == 1, smiles
                assert sum(a.GetFormalCharge() for a in mol.GetAtoms()) == 0, smiles
                assert set(group[f"{side}_key"]) == {Chem.MolToSmiles(mol)}, smiles
                assert set(group[f"{side}_group_key"]) == {Chem.MolToSmiles(mol, isomericSmiles=False)}, smiles
    assert table["solute_key"].nunique() == 372 and table["solvent_key"].nunique() == 347


def test_exact_repeats_keep_the_first_and_name_it(bundled, raw):
    # computed from the raw file with pandas: same keys, T and value; molecules in themselves aside
    rows = raw[raw["solute_key"] != raw["solvent_key"]].copy()
    rows["line"] = rows.index
    condition = ["solute_key", "solvent_key", "T", "log-gamma"]
    rows["first"] = rows.groupby(condition)["line"].transform("min")
    repeats = rows[rows["line"] != rows["first"]]
    assert len(repeats) == 593
    reasons = bundled.excluded.set_index("row")["reason"]
    expected = pd.Series("repeats row " + repeats["first"].astype(str), index=repeats["line"])
    assert reasons[reasons.str.startswith("repeats row")].sort_index().to_dict() == expected.to_dict()
    kept = bundled.table
    assert not kept.duplicated(["solute_key", "solvent_key", "temperature_K", "ln_gamma_inf"]).any()
    # one molecule written two ways is one molecule: decalin (C(CCC1CC2)CC1CC2, C2CC1CCCCC1CC2) and
    # 3-aminosulfolane (NC1CC[S](=O)(=O)C1, C1CS(=O)(=O)CC1N) repeat rows under their other SMILES
    assert (reasons[1834], reasons[6717], reasons[7512]) == ("repeats row 1465", "repeats row 6712", "repeats row 7178")


def test_repeated_conditions_with_other_values_are_all_kept(bundled, raw):
    same = bundled.table[bundled.table.duplicated(["solute_key", "solvent_key", "temperature_K"], keep=False)]
    assert len(same) == 3524 and same.groupby(["solute_key", "solvent_key", "temperature_K"]).ngroups == 1265
    # e.g. methanol in water at 25 °C: every distinct value of the file is kept, once
    in_water = raw[(raw["solute_key"] == "CO") & (raw["solvent_key"] == "O") & (raw["T"] == 25)]
    kept = bundled.table.query("solute_key == 'CO' and solvent_key == 'O' and temperature_K == 298.15")
    assert in_water["log-gamma"].nunique() > 1
    assert sorted(kept["ln_gamma_inf"]) == sorted(in_water["log-gamma"].unique())


def test_molecules_in_themselves_are_excluded(bundled, raw):
    expected = raw.index[raw["solute_key"] == raw["solvent_key"]].tolist()
    assert len(expected) == 12
    reasons = bundled.excluded.set_index("row")["reason"]
    assert reasons[reasons.str.startswith("solute and solvent are the same molecule")].index.tolist() == expected
    assert not (bundled.table["solute_key"] == bundled.table["solvent_key"]).any()


def test_committed_exclusion_file_is_current(bundled):
    committed = pd.read_csv(EXCLUDED_FILE, dtype=str, keep_default_na=False)
    assert list(committed.columns) == ["row", "solute", "solvent", "reason"]
    pd.testing.assert_frame_equal(committed, bundled.excluded.astype(str), check_dtype=False)


def test_each_smiles_goes_through_the_gate_once(monkeypatch):
    calls = []

    def counting(smiles, kind, row=None):
        calls.append((smiles, kind))
        return make_mol(smiles, kind, row)

    monkeypatch.setattr(idac, "make_mol", counting)
    load_idac()
    raw = pd.read_csv(RAW_FILE, dtype=str, keep_default_na=False)
    assert len(calls) == len({*raw["Solute_SMILES"], *raw["Solvent_SMILES"]}) == len(set(calls))
    assert {kind for _, kind in calls} == {"solvent"}


def test_bundled_data_ships_with_its_licence_and_readme():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["gnnchi.datasets"]
    assert {"*/*.csv", "*/LICENSE", "*/README.md"} <= set(patterns)
    assert (HERE / "README.md").is_file() and (HERE / "LICENSE").is_file()


# --- the loader on a small file ---------------------------------------------------------------------


def test_bad_rows_are_reported_through_the_gate(tmp_path):
    path = tmp_path / "idac.csv"
    path.write_text(
        HEADER
        + "CCO,O,1.5,25\n"  # line 2: kept
        + "C[Si],O,1.0,25\n"  # 3: a radical solute
        + "CCO,[Na+].[Cl-],1.0,25\n"  # 4: a salt as the solvent: two fragments
        + "CCO,*CC*,1.0,25\n"  # 5: a repeat unit as the solvent
        + "CCO,CCCC,nan,25\n"  # 6: no value
        + "CCO,CCCC,inf,25\n"  # 7: an infinite value
        + "CCO,CCCC,1.0,x\n"  # 8: no temperature
        + "CCO,CCCC,1.0,-100\n"  # 9: 173.15 K, too cold
        + "CCO,CCCC,1.0,326.86\n"  # 10: 600.01 K, too hot
        + "CCO,CCCC,1.0,-73.15\n"  # 11: 200 K exactly: kept
        + "CCO,CCCC,1.0,326.85\n"  # 12: 600 K exactly: kept
        + "CCO,OCC,0.2,25\n"  # 13: ethanol in itself
        + ",O,1.0,25\n"  # 14: empty
    )
    data = load_idac(path)
    assert data.table["row"].tolist() == [2, 11, 12]
    assert data.table["temperature_K"].tolist() == [298.15, 200.0, 600.0]
    reasons = data.excluded.set_index("row")["reason"]
    assert reasons.index.tolist() == [3, 4, 5, 6, 7, 8, 9, 10, 13, 14]
    for row, side, smiles in ((3, "solute", "C[Si]"), (4, "solvent", "[Na+].[Cl-]"), (5, "solvent", "*CC*"),
                              (14, "solute", "")):  # fmt: skip
        with pytest.raises(InvalidSmilesError) as gate:
            make_mol(smiles, "solvent")
        assert reasons[row] == f"{side} SMILES: {gate.value.reason}", row
    assert reasons[6].startswith("log-gamma:") and reasons[7].startswith("log-gamma:")
    assert reasons[8].startswith("T:") and "173.15 K" in reasons[9] and "600.01 K" in reasons[10]
    assert reasons[13].startswith("solute and solvent are the same molecule (CCO)")
    assert data.excluded.set_index("row").loc[4, ["solute", "solvent"]].tolist() == ["CCO", "[Na+].[Cl-]"]


def test_duplicates_on_a_small_file(tmp_path):
    path = tmp_path / "idac.csv"
    path.write_text(
        HEADER
        + "CCO,O,1.5,25\n"  # 2
        + "OCC,O,1.5,25.0\n"  # 3: row 2 again, written otherwise
        + "CCO,O,1.6,25\n"  # 4: another measurement: kept
        + "CCO,O,1.5,30\n"  # 5: another temperature: kept
        + "CCO,O,1.50,25\n"  # 6: row 2 again
        + "O,CCO,1.5,25\n"  # 7: the pair the other way round: kept
        + "C[Si],O,1.5,25\n"  # 8: excluded by the gate
        + "C[Si],O,1.5,25\n"  # 9: excluded by the gate, not as a repeat
    )
    data = load_idac(path)
    assert data.table["row"].tolist() == [2, 4, 5, 7]
    assert data.table.loc[3, ["solute_key", "solvent_key"]].tolist() == ["O", "CCO"]  # not swapped
    reasons = data.excluded.set_index("row")["reason"]
    assert reasons[3] == "repeats row 2" and reasons[6] == "repeats row 2"
    assert reasons[8] == reasons[9] and reasons[9].startswith("solute SMILES:")
    pd.testing.assert_frame_equal(load_idac(path).table, data.table)  # the same every time


def test_keys_and_group_keys_on_a_small_file(tmp_path):
    path = tmp_path / "idac.csv"
    path.write_text(HEADER + "C/C=C/C,C[C@H](O)CC,0.5,25\n" + "[13CH3]O,O,0.1,25\n")
    table = load_idac(path).table.set_index("row")
    assert table.loc[2, ["solute_key", "solute_group_key"]].tolist() == ["C/C=C/C", "CC=CC"]
    assert table.loc[2, ["solvent_key", "solvent_group_key"]].tolist() == ["CC[C@H](C)O", "CCC(C)O"]
    assert table.loc[3, ["solute_key", "solute_group_key"]].tolist() == ["[13CH3]O", "CO"]
