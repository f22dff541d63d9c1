"""The bundled Hansen table (through the RDKit gate, every unused row reported) and the ``hansen`` baseline."""

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.chem import canonical_key, make_mol
from gnnchi.datasets.hansen import EXCLUDED_FILE, HERE, REVIEWED, load_hansen
from gnnchi.errors import InvalidSmilesError
from gnnchi.evaluation.baselines import BASELINES, DEFAULT_BASELINES
from gnnchi.evaluation.baselines.hansen import fit_hansen, hansen_chi, solvent_parameters

HEADER = "Name,dD,dP,dH,Mvol,CAS number,SMILES\n"
# the true values of a solvent the HSP table lacks (its chi is made from them; the baseline cannot see them)
NO_HSP_SOLVENT = pd.Series({"dD": 17.0, "dP": 5.0, "dH": 5.0, "molar_volume": 90.0})


@pytest.fixture(scope="module")
def bundled():
    return load_hansen()


# --- the formula ---------------------------------------------------------------------------------


def test_formula_matches_a_hand_calculation():
    # polystyrene (18.5, 4.5, 2.9) in toluene (18.0, 1.4, 2.0; 106.6 cm3/mol) at 298.15 K:
    # bracket = 0.5^2 + 0.25 * 3.1^2 + 0.25 * 0.9^2 = 0.25 + 2.4025 + 0.2025 = 2.855 MPa
    # chi = 0.34 + 106.6 * 2.855 / (8.314 * 298.15) = 0.34 + 304.343 / 2478.8191 = 0.462777
    chi = hansen_chi(np.array([[18.5, 4.5, 2.9]]), np.array([[18.0, 1.4, 2.0]]), 106.6, 298.15)
    assert chi == pytest.approx([0.462777], abs=1e-6)
    assert hansen_chi(np.array([[17.0, 5.0, 5.0]]), np.array([[17.0, 5.0, 5.0]]), 80.0, 350.0)[0] == 0.34


def _hsp_table() -> pd.DataFrame:
    """Five solvents with HSP, by key."""
    return pd.DataFrame(
        {"dD": [18.0, 15.5, 14.7, 14.9, 17.8], "dP": [1.4, 10.4, 12.3, 0.0, 3.1], "dH": [2.0, 7.0, 22.3, 0.0, 5.7],
         "molar_volume": [106.6, 73.8, 40.6, 131.4, 80.5]},
        index=pd.Index(["toluene", "acetone", "methanol", "hexane", "chloroform"], name="key"),
    )  # fmt: skip


def _pair_table(polymers: dict[str, tuple], hsp: pd.DataFrame, solvents: list[str]) -> pd.DataFrame:
    """chi_exp of every polymer x solvent x (300, 330 K) from the formula itself, and a soluble label."""
    rows = []
    for name, theta in polymers.items():
        for solvent in solvents:
            params = hsp.loc[solvent] if solvent in hsp.index else NO_HSP_SOLVENT
            for temperature in (300.0, 330.0):
                chi = hansen_chi(np.array([theta]), params[["dD", "dP", "dH"]].to_numpy(float)[None],
                                 params["molar_volume"], temperature)[0]  # fmt: skip
                rows.append({"polymer_key": name, "solvent_key": solvent, "temperature_K": temperature,
                             "chi_exp": chi, "chi_cosmo": np.nan, "soluble": np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def test_fit_recovers_a_polymer_and_predicts_the_hand_formula():
    hsp = _hsp_table()
    truth = (18.5, 4.5, 2.9)
    table = _pair_table({"PS": truth}, hsp, ["toluene", "acetone", "methanol", "hexane", "chloroform"])
    test = np.flatnonzero(table["solvent_key"].eq("toluene").to_numpy())
    parts = {"train": np.setdiff1d(np.arange(len(table)), test), "val": np.zeros(0, int), "test": test}
    pred = fit_hansen(table, parts, hsp)
    # the fit sees the four other solvents only, recovers PS and predicts toluene as by hand
    expected = hansen_chi(np.array([truth] * 2), np.array([[18.0, 1.4, 2.0]] * 2), 106.6, np.array([300.0, 330.0]))
    np.testing.assert_allclose(pred["chi_exp"], expected, atol=1e-5)
    assert pred["chi_exp"].iloc[0] == pytest.approx(0.34 + 106.6 * 2.855 / (8.314 * 300.0), abs=1e-5)


# --- coverage -------------------------------------------------------------------------------------


def test_nan_wherever_a_value_is_missing():
    hsp = _hsp_table()
    polymers = {"seen": (18.5, 4.5, 2.9), "unseen": (16.0, 8.0, 9.0), "few": (17.0, 3.0, 3.0)}
    table = _pair_table(polymers, hsp, ["toluene", "acetone", "methanol", "hexane", "chloroform", "no_hsp_solvent"])
    polymer, solvent = table["polymer_key"], table["solvent_key"]
    test_mask = (  # seen x {toluene, no_hsp_solvent}; unseen x all; few x toluene
        (polymer.eq("seen") & solvent.isin(["toluene", "no_hsp_solvent"]))
        | polymer.eq("unseen")
        | (polymer.eq("few") & solvent.eq("toluene"))
    )
    # "few" keeps acetone, methanol and hexane in training: 3 solvents fix its 3 parameters only up to
    # a mirror image, so it is not fitted ("seen" has 4 with HSP: acetone, methanol, hexane, chloroform)
    dropped = polymer.eq("few") & solvent.isin(["chloroform", "no_hsp_solvent"])
    train = np.flatnonzero(~test_mask & ~dropped)
    parts = {"train": train, "val": np.zeros(0, int), "test": np.flatnonzero(test_mask)}
    pred = fit_hansen(table, parts, hsp)
    test = table.iloc[parts["test"]].reset_index(drop=True)
    covered = pred["chi_exp"].notna()
    assert covered.equals(test["polymer_key"].eq("seen") & test["solvent_key"].eq("toluene"))
    assert covered.sum() == 2
    assert pred["p_soluble"].isna().all()  # no soluble labels to calibrate on: NaN, never made up


def test_polymer_keys_are_never_looked_up_in_the_table(bundled):
    # polyethylene's key (its cyclic trimer) is cyclohexane's SMILES, which the table holds
    polyethylene = canonical_key(make_mol("*CC*", "polymer"), "polymer")
    assert polyethylene in bundled.table.index
    solvents = ["Cc1ccccc1", "CC(C)=O", "CO", "ClC(Cl)Cl", "CCCCCC"]
    hsp = solvent_parameters(pd.Series(solvents)).set_index(pd.Index(solvents))
    truth = (20.0, 10.0, 10.0)  # far from cyclohexane's (16.8, 0, 0.2)
    table = _pair_table({polyethylene: truth}, hsp, solvents)
    parts = {"train": np.arange(8), "val": np.zeros(0, int), "test": np.arange(8, 10)}  # test: hexane
    expected = hansen_chi(np.array([truth] * 2), hsp.loc[["CCCCCC"] * 2, ["dD", "dP", "dH"]].to_numpy(), 131.4,
                          np.array([300.0, 330.0]))  # fmt: skip
    np.testing.assert_allclose(fit_hansen(table, parts)["chi_exp"], expected, atol=1e-4)  # fitted, not read


# --- the baseline reads no test target -----------------------------------------------------------


def _realistic_table(seed: int = 0) -> pd.DataFrame:
    """Noisy chi of 4 polymers in 10 bundled solvents at 2 temperatures, and room-temperature labels."""
    rng = np.random.default_rng(seed)
    solvents = ["Cc1ccccc1", "c1ccccc1", "CC(C)=O", "CO", "CCCCCC", "ClC(Cl)Cl", "C1CCOC1", "O", "CCO", "CCOC(C)=O"]
    hsp = solvent_parameters(pd.Series(solvents)).set_index(pd.Index(solvents))
    polymers = {"A": (18.5, 4.5, 2.9), "B": (17.0, 9.0, 8.0), "C": (16.0, 1.0, 1.0), "D": (19.0, 6.0, 10.0)}
    table = _pair_table(polymers, hsp, solvents)
    table["chi_exp"] += rng.normal(0, 0.1, len(table))
    labels = table[table["temperature_K"].eq(300.0)].assign(temperature_K=298.15, chi_exp=np.nan)
    odds = labels["polymer_key"].map({"A": 0.8, "B": 1.2, "C": 1.0, "D": 1.1})
    labels["soluble"] = (odds > rng.uniform(0, 2, len(labels))) * 1.0
    return pd.concat([table, labels], ignore_index=True)


def test_predictions_never_read_test_targets():
    table = _realistic_table()
    rng = np.random.default_rng(1)
    test = np.sort(rng.choice(len(table), size=len(table) // 4, replace=False))
    rest = np.setdiff1d(np.arange(len(table)), test)
    parts = {"train": rest[: len(rest) * 9 // 10], "val": rest[len(rest) * 9 // 10 :], "test": test}
    pred = fit_hansen(table, parts)
    assert pred["chi_exp"].notna().sum() > 0.9 * len(test) and pred["p_soluble"].notna().sum() > 0.9 * len(test)
    for scramble in ("shuffle", "nan", "noise"):
        changed = table.copy()
        for task in ("chi_exp", "chi_cosmo", "soluble"):
            values = changed[task].to_numpy().copy()
            values[test] = {"shuffle": rng.permutation(values[test]), "nan": np.nan,
                            "noise": rng.normal(5, 3, len(test))}[scramble]  # fmt: skip
            changed[task] = values
        pd.testing.assert_frame_equal(fit_hansen(changed, parts), pred)
    # while the training targets do matter
    changed = table.copy()
    changed.loc[parts["train"], "chi_exp"] *= 2
    assert not np.allclose(fit_hansen(changed, parts)["chi_exp"], pred["chi_exp"], equal_nan=True)


def test_registered_and_on_by_default():
    assert BASELINES["hansen"].default_on and "hansen" in DEFAULT_BASELINES


# --- the loader: the RDKit gate, every unused row reported -------------------------------------------


def test_bad_rows_are_reported_through_the_gate(tmp_path):
    path = tmp_path / "hsp.csv"
    path.write_text(
        HEADER
        + "Toluene,18,1.4,2,106.6,108-88-3,CC1=CC=CC=C1\n"  # line 2: kept
        + "Methyl Silane,16,2,2,60,,C[Si]\n"  # 3: a radical
        + "Dash,16,2,2,60,,-\n"  # 4: unparsable
        + "Star,16,2,2,60,,*CC*\n"  # 5: a repeat unit where a molecule belongs
        + "Salt,16,2,2,60,,[Na+].[Cl-]\n"  # 6: two fragments
        + "Nothing,16,2,2,60,,\n"  # 7: empty
        + "Bad number,x,2,2,60,,CCCC\n"  # 8: dD not a number
        + "Zero volume,16,2,2,0,,CCCCC\n"  # 9: Mvol 0
        + "Benzene,18.4,0,2,89.5,71-43-2,c1ccccc1\n"  # 10: kept
        + "Negative,16,-2,2,60,,CCCCCC\n"  # 11: dP < 0
    )
    data = load_hansen(path)
    assert list(data.table.index) == ["Cc1ccccc1", "c1ccccc1"]
    assert list(data.excluded["row"]) == [3, 4, 5, 6, 7, 8, 9, 11]
    for row, smiles in ((3, "C[Si]"), (4, "-"), (5, "*CC*"), (6, "[Na+].[Cl-]"), (7, "")):
        with pytest.raises(InvalidSmilesError) as gate:
            make_mol(smiles, "solvent")
        reason = data.excluded.set_index("row").loc[row, "reason"]
        assert reason == f"SMILES: {gate.value.reason}", row
    reasons = data.excluded.set_index("row")["reason"]
    assert reasons[8].startswith("dD:") and reasons[9].startswith("Mvol:") and reasons[11].startswith("dP:")
    assert len(data.table) + len(data.excluded) == 10


def test_duplicates_resolved_deterministically_and_reported(tmp_path):
    path = tmp_path / "hsp.csv"
    path.write_text(
        HEADER
        + "Water Complete Misc. (R=13.0),18.1,17.1,16.9,18,,[H]O[H]\n"  # 2
        + "Water,15.5,16,42.3,18,,O\n"  # 3: the reviewed choice, though second
        + "Hexane,14.9,0,0,131.4,,CCCCCC\n"  # 4
        + "n-Hexane,14.9,0,0,131.4,,C(CCCCC)\n"  # 5: agrees with row 4: the first is kept
        + "Octane A,15.5,0,0,163.5,,CCCCCCCC\n"  # 6
        + "Octane B,15.9,0.5,0,163.5,,CCCCCCCC\n"  # 7: disagrees, not reviewed: both excluded
        + "cis,17.6,0,0,154.6,,C1CCC2CCCCC2C1\n"  # 8: decalin, reviewed: the mean of 8 and 9
        + "trans,18,0,0,159.3,,C1CCC2CCCCC2C1\n"  # 9
    )
    data = load_hansen(path)
    table, reasons = data.table, data.excluded.set_index("row")["reason"]
    assert table.loc["O", ["dD", "dP", "dH"]].tolist() == [15.5, 16.0, 42.3] and table.loc["O", "rows"] == "3"
    assert table.loc["CCCCCC", "name"] == "Hexane" and "as row 4 (Hexane)" in reasons[5]
    assert "CCCCCCCC" not in table.index
    assert "no reviewed decision" in reasons[6] and "no reviewed decision" in reasons[7]
    assert table.loc["C1CCC2CCCCC2C1", ["dD", "molar_volume"]].tolist() == pytest.approx([17.8, 156.95])
    assert table.loc["C1CCC2CCCCC2C1", "rows"] == "8;9"
    assert sorted(reasons.index) == [2, 5, 6, 7]
    pd.testing.assert_frame_equal(load_hansen(path).table, table)  # the same every time


def test_bundled_table_accounts_for_every_row(bundled):
    raw = pd.read_csv(HERE / "hsp_compounds.csv", dtype=str, keep_default_na=False)
    used = bundled.table["rows"].str.split(";").explode().astype(int)
    assert len(raw) == 1206
    assert sorted([*used, *bundled.excluded["row"]]) == list(range(2, 1208))  # each line once
    assert len(bundled.table) >= 1150 and bundled.table.index.is_unique
    assert bundled.excluded["reason"].str.len().gt(0).all()
    assert not bundled.excluded["reason"].str.contains("no reviewed decision").any()  # all groups reviewed
    assert set(REVIEWED) <= set(bundled.table.index)
    for key, rec in bundled.table.sample(50, random_state=0).iterrows():  # the key is the gate's canonical key
        assert canonical_key(make_mol(rec["smiles"], "solvent"), "solvent") == key
    values = bundled.table[["dD", "dP", "dH", "molar_volume"]]
    assert values.notna().all().all() and (values >= 0).all().all() and (values["molar_volume"] > 0).all()


def test_committed_exclusion_file_is_current(bundled):
    committed = pd.read_csv(EXCLUDED_FILE, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(committed, bundled.excluded.astype(str), check_dtype=False)


def test_bundled_data_ships_with_its_licence():
    assert (HERE / "LICENSE").read_text().startswith("MIT License")
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["gnnchi.datasets"]
    assert "*/*.csv" in patterns and "*/LICENSE" in patterns
