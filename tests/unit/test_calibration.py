"""The calibrated std (gnnchi.inference.calibration) and the training domain (gnnchi.inference.domain)."""

import numpy as np
import pytest
from rdkit import DataStructs
from rdkit.Chem import rdFingerprintGenerator

from gnnchi.chem import make_mol
from gnnchi.inference.calibration import TaskCalibration, Uncertainty, _fit_squares, fit_task, from_record, record
from gnnchi.inference.domain import Domain


def test_sigma_is_the_documented_sum_of_squares():
    c = TaskCalibration(a=2.0, b=0.1, c_polymer=0.5, c_solvent=0.3, rows=10, d=0.25)
    by_hand = np.sqrt((2.0 * 0.2) ** 2 + 0.1**2 + (0.25 * -0.8) ** 2 + (0.5 * 0.6) ** 2 + (0.3 * 0.4) ** 2)
    assert c.sigma(np.array([0.2]), np.array([0.6]), np.array([0.4]), np.array([-0.8]))[0] == pytest.approx(by_hand)
    centred = c._replace(center=0.5)  # (0.25 * (-0.8 - 0.5))^2 in place of (0.25 * -0.8)^2
    by_hand = np.sqrt((2.0 * 0.2) ** 2 + 0.1**2 + (0.25 * 1.3) ** 2 + (0.5 * 0.6) ** 2 + (0.3 * 0.4) ** 2)
    inputs = np.array([0.2]), np.array([0.6]), np.array([0.4]), np.array([-0.8])
    assert centred.sigma(*inputs)[0] == pytest.approx(by_hand)
    assert c.sigma(np.array([np.nan]), 0.0, 0.0, 0.0)[0] == pytest.approx(0.1)  # one model: no spread


def test_fit_recovers_the_parameters_that_generated_the_errors():
    rng = np.random.default_rng(0)
    n = 6000
    spread, novelty_p, novelty_s = rng.uniform(0.02, 0.3, n), rng.uniform(0, 1, n), rng.uniform(0, 0.5, n)
    prediction = rng.uniform(-0.5, 2.0, n)
    truth = dict(a=2.5, b=0.1, c_polymer=0.8, c_solvent=0.4, d=0.3)
    sigma = np.sqrt((truth["a"] * spread) ** 2 + truth["b"] ** 2 + (truth["c_polymer"] * novelty_p) ** 2
                    + (truth["c_solvent"] * novelty_s) ** 2 + (truth["d"] * prediction) ** 2)  # fmt: skip
    fitted = fit_task(rng.normal(0.0, sigma), spread, novelty_p, novelty_s, prediction)
    for name, value in truth.items():
        assert getattr(fitted, name) == pytest.approx(value, rel=0.15, abs=0.03), name
    assert fitted.rows == n and fitted.center == 0.0


def test_the_likelihood_fit_recovers_a_sixth_term_and_keeps_value_terms_at_zero_when_told():
    """benchmarks/std_unifac_threshold.py fits two value terms at once: both are recovered; without
    ``with_d`` both stay 0 and the floor takes their share."""
    rng = np.random.default_rng(5)
    n = 8000
    features = np.column_stack(
        [rng.uniform(0.02, 0.3, n) ** 2, np.ones(n), np.zeros(n), np.zeros(n), rng.uniform(0, 2, n) ** 2,
         rng.uniform(0, 1.5, n) ** 2]
    )  # fmt: skip
    truth = np.array([4.0, 0.01, 0.0, 0.0, 0.09, 0.25])  # squares: a^2, b^2, c_p^2, c_s^2, d^2, e^2
    e2 = rng.normal(0.0, np.sqrt(features @ truth)) ** 2
    _, squares = _fit_squares(e2, features, with_d=True)
    assert squares[[0, 4, 5]] == pytest.approx(truth[[0, 4, 5]], rel=0.15)
    _, without = _fit_squares(e2, features, with_d=False)
    assert without[4] == 0.0 and without[5] == 0.0 and without[1] > 0.1


def test_a_centred_term_recovers_its_center_and_a_term_declared_none_stays_zero():
    """Errors that grow away from chi = 0.8: the fit finds the center (not a candidate quantile: refined
    between two), and d; declared ``"none"``, the same errors leave d = 0 and widen the floor b instead."""
    rng = np.random.default_rng(3)
    n = 6000
    spread, zeros, prediction = rng.uniform(0.02, 0.3, n), np.zeros(n), rng.uniform(-0.5, 2.0, n)
    error = rng.normal(0.0, np.sqrt((2.0 * spread) ** 2 + 0.1**2 + (0.4 * (prediction - 0.8)) ** 2))
    centred = fit_task(error, spread, zeros, zeros, prediction, value_term="centred")
    assert centred.center == pytest.approx(0.8, abs=0.05) and centred.d == pytest.approx(0.4, rel=0.1)
    assert centred.a == pytest.approx(2.0, rel=0.15) and centred.b == pytest.approx(0.1, abs=0.03)
    none = fit_task(error, spread, zeros, zeros, prediction, value_term="none")
    assert none.d == 0.0 and none.center == 0.0 and none.b > 0.2


def test_terms_the_validation_rows_cannot_inform_keep_their_neutral_start():
    rng = np.random.default_rng(1)
    error = rng.normal(0, 0.3, 200)
    fitted = fit_task(error, np.full(200, np.nan), np.zeros(200), np.zeros(200), np.zeros(200))  # one model, nothing novel
    assert fitted.a == 1.0 and fitted.c_polymer == 0.0 and fitted.c_solvent == 0.0 and fitted.d == 0.0
    assert fitted.b == pytest.approx(np.sqrt(np.mean(error**2)), rel=0.02)
    assert fit_task(error[:5], np.ones(5), np.zeros(5), np.zeros(5), np.zeros(5)) is None  # too few rows


def test_a_record_written_before_the_relative_term_reads_with_d_zero():
    old = {"version": 1, "calibration": {"chi_exp": {"a": 1.5, "b": 0.2, "c_polymer": 0.7, "c_solvent": 0.1, "rows": 30}},
           "domain": None}  # fmt: skip
    calibration = from_record(old).calibration["chi_exp"]
    assert calibration.d == 0.0 and calibration.center == 0.0
    assert calibration.sigma(0.0, 0.0, 0.0, 5.0) == pytest.approx(0.2)


def test_similarity_agrees_with_rdkit_bulk_tanimoto_and_notes_name_what_is_new():
    training = ["*CC(*)c1ccccc1", "*CCO*", "*CC(*)C(=O)OC"]
    queries = ["*CC(*)c1ccc(C)cc1", "*O[Si](C)(C)*", "*CC(*)C1CCCCC1", "*CCO*"]
    domain = Domain.of({"polymer": [make_mol(s, "polymer") for s in training]})
    novelty, notes = domain.assess([make_mol(s, "polymer") for s in queries], "polymer")
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    train_fps = [generator.GetFingerprint(make_mol(s, "polymer")) for s in training]
    for q, value in zip(queries, novelty):
        expected = max(DataStructs.BulkTanimotoSimilarity(generator.GetFingerprint(make_mol(q, "polymer")), train_fps))
        assert 1.0 - value == pytest.approx(expected, abs=1e-6)
    assert novelty[3] == pytest.approx(0.0) and notes[3] == ""
    assert "Si" in notes[1] and "element" in notes[1] and "no similar training polymer" in notes[1]
    assert "ring system C1CCCCC1 not in the training polymers" in notes[2] and "Si" not in notes[2]
    assert "element" not in notes[0] and "ring" not in notes[0]  # toluene ring = benzene ring system


def test_uncertainty_record_round_trips_through_json():
    import json

    domain = Domain.of({"polymer": [make_mol("*CCO*", "polymer")], "solvent": [make_mol("O", "solvent")]})
    uncertainty = Uncertainty({"chi_exp": TaskCalibration(1.5, 0.2, 0.7, 0.1, 30, d=0.05, center=0.45)}, domain)
    back = from_record(json.loads(json.dumps(record(uncertainty))))
    assert back.calibration == uncertainty.calibration
    assert (back.domain.kinds["polymer"].fingerprints == domain.kinds["polymer"].fingerprints).all()
    assert back.domain.kinds["solvent"].elements == {"O"}
    assert from_record(None) is None and from_record({"version": 99}) is None


def test_without_a_relative_term_the_std_does_not_vanish_where_the_prediction_is_zero():
    """chi's zero is not special: with no relative term d stays 0 (``"none"``) or the center moves off
    0 (``"centred"``), so a prediction near 0 keeps the constant term (errors of constant size: b
    recovers their rms)."""
    rng = np.random.default_rng(2)
    n = 3000
    prediction = rng.uniform(-0.5, 2.0, n)
    error = rng.normal(0.0, 0.2, n)
    zeros = np.zeros(n)
    fixed = fit_task(error, np.full(n, np.nan), zeros, zeros, prediction, value_term="none")
    assert fixed.d == 0.0 and fixed.b == pytest.approx(0.2, rel=0.05)
    assert fixed.sigma(np.nan, 0.0, 0.0, 0.0) == pytest.approx(0.2, rel=0.05)
    centred = fit_task(error, np.full(n, np.nan), zeros, zeros, prediction, value_term="centred")
    assert centred.d < 0.1 and centred.sigma(np.nan, 0.0, 0.0, 0.0) == pytest.approx(0.2, rel=0.05)
    scaled = fit_task(rng.normal(0.0, 0.3 * np.abs(prediction)), np.full(n, np.nan), zeros, zeros, prediction)
    assert scaled.d == pytest.approx(0.3, rel=0.1)  # where it is declared, the relative term is fitted


def test_only_tasks_whose_errors_scale_with_the_value_declare_a_relative_term():
    from gnnchi.systems import CHI, CO2_IL, ELECTROLYTE

    terms = {t.name: t.value_term for system in (CHI, CO2_IL, ELECTROLYTE) for t in system.tasks if t.kind == "regression"}
    assert terms == {"chi_exp": "threshold", "chi_cosmo": "none", "x_co2": "relative", "log10_conductivity_S_cm": "none"}
    assert CHI.task("chi_exp").value_center == 0.5  # the classical miscibility threshold


def test_a_threshold_term_is_centred_on_the_given_value():
    rng = np.random.default_rng(4)
    n = 4000
    prediction = rng.uniform(-0.5, 3.0, n)
    error = rng.normal(0.0, np.sqrt(0.1**2 + (0.4 * (prediction - 0.5)) ** 2))
    zeros = np.zeros(n)
    fitted = fit_task(error, np.full(n, np.nan), zeros, zeros, prediction, value_term="threshold", value_center=0.5)
    assert fitted.center == 0.5 and fitted.d == pytest.approx(0.4, rel=0.1) and fitted.b == pytest.approx(0.1, abs=0.03)
    by_hand = np.sqrt(fitted.b**2 + (fitted.d * (2.0 - 0.5)) ** 2)
    assert fitted.sigma(np.nan, 0.0, 0.0, np.array([2.0]))[0] == pytest.approx(by_hand)
