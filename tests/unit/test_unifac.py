"""UNIFAC's chi estimate: the groups of repeat units and solvents, the residual activity coefficient
against a plain loop over the published formula, and the baseline's use of the folds."""

import importlib
import math

import numpy as np
import pandas as pd
import pytest
from thermo.unifac import UFIP, UFSG

from gnnchi.evaluation.baselines.unifac import fit_unifac
from gnnchi.physics import ENTROPIC_CHI
from gnnchi.unifac import molecule_groups, repeat_unit_groups, residual_ln_gamma_inf, unifac_chi


def named(groups) -> dict[str, int]:
    return {UFSG[number].group: count for number, count in groups}


@pytest.mark.parametrize(
    "repeat_unit, expected",
    [
        ("*CC(*)c1ccccc1", {"CH2": 1, "ACH": 5, "ACCH": 1}),  # polystyrene: the backbone CH sits in ACCH
        ("*CCO*", {"CH2": 1, "CH2O": 1}),  # poly(ethylene oxide)
        ("*CC(*)C(=O)OC", {"CH3": 1, "CH2": 1, "CH": 1, "COO": 1}),  # poly(methyl acrylate)
        ("*[Si](C)(C)O*", {"CH3": 2, "SIO": 1}),  # poly(dimethylsiloxane)
    ],
)
def test_a_repeat_unit_has_the_groups_of_a_chain_unit_not_of_its_capped_monomer(repeat_unit, expected):
    assert named(repeat_unit_groups(repeat_unit)) == expected


def test_molecules_without_a_full_group_cover_have_no_estimate():
    assert named(molecule_groups("CCO")) == {"CH3": 1, "CH2": 1, "OH": 1}
    assert molecule_groups("C(=O)N") is None  # formamide: original UNIFAC has no group for it
    assert repeat_unit_groups("*CC(*)C#N") is None  # polyacrylonitrile: no CHCN group
    assert repeat_unit_groups("not a smiles") is None
    chi = unifac_chi(["*CC(*)c1ccccc1", "*CC(*)c1ccccc1"], ["C(=O)N", "O"], np.array([300.0, 300.0]))
    assert np.isnan(chi[0]) and np.isfinite(chi[1])


def residual_by_hand(solvent: dict[int, int], polymer: dict[int, int], temperature_K: float) -> float:
    """ln gamma_R of the solvent at infinite dilution in the polymer, one group at a time (Fredenslund et al.)."""

    def psi(m: int, n: int) -> float:
        a, b = UFSG[m].main_group_id, UFSG[n].main_group_id
        return 1.0 if a == b else math.exp(-UFIP[a][b] / temperature_K)

    def ln_capital_gamma(k: int, counts: dict[int, int]) -> float:
        total = sum(counts.values())
        x = {m: c / total for m, c in counts.items()}
        area = sum(UFSG[m].Q * x[m] for m in x)
        theta = {m: UFSG[m].Q * x[m] / area for m in x}
        first = sum(theta[m] * psi(m, k) for m in theta)
        second = sum(theta[m] * psi(k, m) / sum(theta[n] * psi(n, m) for n in theta) for m in theta)
        return UFSG[k].Q * (1.0 - math.log(first) - second)

    try:
        return sum(
            count * (ln_capital_gamma(k, polymer) - ln_capital_gamma(k, solvent)) for k, count in solvent.items()
        )
    except KeyError:  # a pair of main groups without a parameter: no estimate
        return math.nan


POLYMERS = [
    "*CC(*)c1ccccc1",
    "*CCO*",
    "*CC(*)C(=O)OC",
    "*CC(*)Cl",
    "*CC(*)c1ccc(O)cc1",
    "*CCN(*)C(=O)c1ccccc1",
]  # the last: two of its groups lack a parameter
SOLVENTS = ["O", "Cc1ccccc1", "CCO", "ClC(Cl)Cl", "OCCO", "CC(C)=O", "CS(C)=O"]


@pytest.mark.parametrize("temperature_K", [298.15, 420.0])
def test_every_pair_at_once_matches_the_formula_by_hand_pair_by_pair(temperature_K):
    polymers, solvents = [repeat_unit_groups(p) for p in POLYMERS], [molecule_groups(s) for s in SOLVENTS]
    values = residual_ln_gamma_inf(solvents, polymers, temperature_K)  # [S, P]
    for j, polymer in enumerate(polymers):
        for i, solvent in enumerate(solvents):
            expected = residual_by_hand(dict(solvent), dict(polymer), temperature_K)
            assert values[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-9, nan_ok=True), (SOLVENTS[i], POLYMERS[j])
    assert np.isnan(values).any() and np.isfinite(values).sum() > len(POLYMERS) * len(SOLVENTS) // 2
    rows = unifac_chi(
        [p for p in POLYMERS for _ in SOLVENTS], [s for _ in POLYMERS for s in SOLVENTS],
        np.full(len(POLYMERS) * len(SOLVENTS), temperature_K),
    )  # fmt: skip
    assert np.allclose(rows, ENTROPIC_CHI + values.T.reshape(-1), rtol=1e-12, equal_nan=True)


def test_a_missing_interaction_parameter_gives_no_estimate():
    # poly(dimethylsiloxane)'s SiO group has no parameter with water's H2O group in original UNIFAC
    assert UFSG[dict(named_numbers(repeat_unit_groups("*[Si](C)(C)O*")))["SIO"]].main_group_id not in UFIP[7]
    assert np.isnan(unifac_chi(["*[Si](C)(C)O*"], ["O"], [298.15])[0])
    assert np.isfinite(unifac_chi(["*[Si](C)(C)O*"], ["CCCCCC"], [298.15])[0])  # SiO-CH2 has one


def named_numbers(groups) -> list[tuple[str, int]]:
    return [(UFSG[number].group, number) for number, _ in groups]


def table_of_pairs() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Three polymers in four solvents at two temperatures; the test rows are one polymer's."""
    polymers, solvents = ["*CC(*)c1ccccc1", "*CCO*", "*CC(*)C(=O)OC"], ["O", "CCO", "Cc1ccccc1", "CC(C)=O"]
    rows = [(p, s, t) for p in polymers for s in solvents for t in (300.0, 350.0)]
    table = pd.DataFrame(rows, columns=["polymer", "solvent", "temperature_K"])
    estimate = unifac_chi(table["polymer"].tolist(), table["solvent"].tolist(), table["temperature_K"].to_numpy())
    table["chi_exp"] = 0.2 + 0.5 * estimate  # a line the baseline must recover from the non-test rows
    table["soluble"] = (table["chi_exp"] < 0.6).astype(float)
    test = np.flatnonzero(table["polymer"] == "*CC(*)C(=O)OC")
    rest = np.setdiff1d(np.arange(len(table)), test)
    return table, {"train": rest[:10], "val": rest[10:], "test": test}


def test_the_baseline_fits_its_line_on_non_test_rows_and_covers_a_new_polymer(monkeypatch):
    # the package exports the baseline function under the module's name, so patch the module objects
    monkeypatch.setattr(importlib.import_module("gnnchi.evaluation.baselines.unifac"), "MIN_LINE_ROWS", 4)
    monkeypatch.setattr(importlib.import_module("gnnchi.evaluation.baselines.base"), "MIN_CALIBRATION_ROWS", 4)
    table, parts = table_of_pairs()
    predicted = fit_unifac(table, parts)
    expected = table["chi_exp"].to_numpy()[parts["test"]]
    assert np.allclose(predicted["chi_exp"].to_numpy(), expected, atol=1e-6)  # a polymer no fit row holds
    assert predicted["p_soluble"].notna().all()
    shuffled = table.copy()
    shuffled.loc[parts["test"], ["chi_exp", "soluble"]] = [[9.0, 1.0]] * len(parts["test"])  # test targets unread
    assert np.array_equal(fit_unifac(shuffled, parts).to_numpy(), predicted.to_numpy())
