"""The shipped models (gnnchi/release/, one per system): present, small, loadable without torch, and made by
this code's featurizer, export format and the system's bundled data. When one of those changes, these tests
fail until the model is regenerated with ``python -m gnnchi.release --system <system>``."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gnnchi.cli import main
from gnnchi.errors import ModelFileError
from gnnchi.featurizers import FEATURIZER_VERSION
from gnnchi.inference import onnx_format
from gnnchi.inference.systems import predictor_class
from gnnchi.release import model_file, shipped_model
from gnnchi.release.card import data_fingerprint, read_card, staleness
from gnnchi.systems import DEFAULT_SYSTEM, SYSTEMS
from gnnchi.systems import SHIPPED as SHIPPED_SYSTEMS

ROOT = Path(__file__).parents[2]
BMIM, PF6 = "CCCC[n+]1ccn(C)c1", "F[P-](F)(F)(F)(F)F"
REGENERATE = {"chi": "python -m gnnchi.release", "co2_il": "python -m gnnchi.release --system co2_il",
              "electrolyte": "python -m gnnchi.release --system electrolyte"}  # fmt: skip
PEO_LITFSI = ('pd.DataFrame({"component_1": "*CCO*", "fraction_1": 0.9, "component_2": '
              '"[Li+].O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F", "fraction_2": 0.1, "mn_g_mol": 1e5, '
              '"temperature_C": [25.0, 60.0, 90.0]})')  # fmt: skip


@pytest.mark.parametrize("system", SHIPPED_SYSTEMS)
def test_the_shipped_model_matches_this_code(system):
    card = read_card(system)
    problems = staleness(card, system)
    assert problems == [], f"the shipped {system} model is stale ({'; '.join(problems)}): {REGENERATE[system]}"
    files = onnx_format.file_names(model_file(system), SYSTEMS[system])
    for part, path in files.items():
        meta = onnx_format.read_metadata(path)
        onnx_format.check_part_metadata(meta, part, path)  # raises on another format or featurizer version
        assert meta.get(onnx_format.SYSTEM, DEFAULT_SYSTEM) == system
        assert json.loads(meta[onnx_format.TASKS]) == list(SYSTEMS[system].task_names)
    size = sum(p.stat().st_size for p in files.values())
    assert size == card["size_bytes"] and size <= 30e6  # chi: 27 MB for 5 members; a guard against accidental growth


@pytest.mark.parametrize("system", SHIPPED_SYSTEMS)
def test_staleness_names_what_changed(system):
    current = {"featurizer_version": FEATURIZER_VERSION, "export_format": onnx_format.EXPORT_FORMAT,
               "data_sha256": data_fingerprint(system)}  # fmt: skip
    assert staleness(current, system) == []
    assert staleness({**current, "featurizer_version": FEATURIZER_VERSION + 1}, system) == [
        f"featurizer version {FEATURIZER_VERSION + 1} != {FEATURIZER_VERSION}"
    ]
    assert staleness({**current, "data_sha256": "0" * 64}, system) == ["the bundled data changed since it was trained"]


def test_each_systems_fingerprint_covers_its_own_data_and_no_other(tmp_path, monkeypatch):
    for folder in (f for system in SYSTEMS.values() for f in system.data_folders):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rows.csv").write_text("a\n1\n")
    monkeypatch.setattr("gnnchi.datasets.bundled.HERE", tmp_path)
    before = {name: data_fingerprint(name) for name in SYSTEMS}
    for changed, system in SYSTEMS.items():
        (tmp_path / system.data_folders[-1] / "rows.csv").write_text("a\n2\n")
        after = {name: data_fingerprint(name) for name in SYSTEMS}
        assert [name for name in SYSTEMS if after[name] != before[name]] == [changed]
        before = after


def test_every_bundled_data_folder_belongs_to_exactly_one_system():
    from gnnchi.datasets import bundled
    from gnnchi.systems import DATA_WITHOUT_SYSTEM

    found = {path.relative_to(bundled.HERE).parts[0] for path in bundled.HERE.rglob("*.csv")}
    declared = [folder for system in SHIPPED_SYSTEMS.values() for folder in system.data_folders]
    assert sorted([*declared, *DATA_WITHOUT_SYSTEM]) == sorted(found)


@pytest.mark.parametrize("system", SHIPPED_SYSTEMS)
def test_a_missing_shipped_model_says_how_to_make_it(system, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("gnnchi.release.HERE", tmp_path)
    monkeypatch.setattr("gnnchi.release.MODEL", tmp_path / "gnnchi.onnx")
    missing = re.escape(f"no shipped model for {system} in {tmp_path}") + ".*" + re.escape(REGENERATE[system]) + "$"
    with pytest.raises(ModelFileError, match=missing):
        shipped_model(system)
    with pytest.raises(ModelFileError, match=missing):
        predictor_class(system)()  # Predictor(), IonicLiquidPredictor(): the shipped model by default
    with pytest.raises(SystemExit):
        main(["info", "--system", system])
    assert f"regenerate the shipped model with {REGENERATE[system]}\n" in capsys.readouterr().err


def polystyrene_takes_toluene_not_water(rows: np.ndarray) -> None:
    toluene, water = rows  # chi_exp, its std, p_soluble
    assert toluene[1] > 0  # an ensemble: a spread
    assert toluene[0] < 0.5 < water[0] and toluene[2] > water[2]


def bmim_pf6_absorbs_as_measured(rows: np.ndarray) -> None:
    x, std = rows.T  # at 100, 1000 and 5000 kPa, 298.15 K
    assert (std > 0).all() and (np.diff(x) >= 0).all()
    assert 0.3 < x[2] < 0.9  # measured at 298 K and 5 MPa: about 0.5-0.6


def peo_litfsi_conducts_as_measured(rows: np.ndarray) -> None:
    log_sigma, std, ea = rows.T  # EO:Li about 9, Mn 100 kg/mol, at 25, 60 and 90 C
    assert (std > 0).all() and (np.diff(log_sigma) > 0).all() and (ea > 0).all()
    assert -5.0 < log_sigma[1] < -2.5  # measured above the melting point (60 C): about 1e-4 to 1e-3 S/cm


SHIPPED = {  # system -> its predictor's import, a call with no model, the columns printed, the check of them
    "chi": ("from gnnchi import Predictor",
            'Predictor().predict(["*CC(*)c1ccccc1", "*CC(*)c1ccccc1"], ["Cc1ccccc1", "O"], [298.15, 298.15])',
            ["chi_exp", "chi_exp_std", "p_soluble"], polystyrene_takes_toluene_not_water),
    "co2_il": ("from gnnchi.inference.il_predictor import IonicLiquidPredictor",
               f"IonicLiquidPredictor().predict({BMIM!r}, {PF6!r}, 298.15, [100, 1000, 5000])",
               ["x_co2", "x_co2_std"], bmim_pf6_absorbs_as_measured),
    "electrolyte": ("import pandas as pd\nfrom gnnchi.inference.electrolyte_predictor import ElectrolytePredictor",
                    f"ElectrolytePredictor().predict_frame({PEO_LITFSI})",
                    ["log10_conductivity_S_cm", "log10_conductivity_S_cm_std", "activation_energy_kJ_mol"],
                    peo_litfsi_conducts_as_measured),
}  # fmt: skip


@pytest.mark.parametrize("system", SHIPPED_SYSTEMS)
def test_the_shipped_ensemble_predicts_without_torch_what_is_known(system):
    imports, call, columns, check = SHIPPED[system]
    code = (f"import sys\n{imports}\nout = {call}\n"
            "assert 'torch' not in sys.modules, 'the shipped model needs no torch'\n"
            f"print(out[{columns!r}].to_json(orient='values'))\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = np.array(json.loads(done.stdout), dtype=float)
    assert np.isfinite(rows).all()
    check(rows)


@pytest.mark.parametrize("system", SHIPPED_SYSTEMS)
def test_info_prints_the_card_and_says_whether_it_is_current(system, capsys, monkeypatch):
    card = read_card(system)
    main(["info", "--system", system])
    out = capsys.readouterr().out
    assert f"shipped {system} model: {model_file(system)}\n" in out
    assert card["data_sha256"] in out and "up to date" in out and f"{card['recipe']['members']} members" in out
    for protocol, measured in card["evaluate"]["protocols"].items():
        assert f"evaluate {protocol}: {measured['metric']} = {measured['mean']:.3f}" in out
    for task, c in (card.get("uncertainty") or {}).get("calibration", {}).items():  # the release's pooled calibration
        assert f"{task}: sigma^2 = ({c['a']:.2f} spread)^2 + {c['b']:.3f}^2" in out
        assert f"fitted on {c['rows']} test rows of {card['uncertainty']['source']['protocol']}" in out
    monkeypatch.setattr("gnnchi.release.card.read_card", lambda _: {**card, "export_format": "0"})
    main(["info", "--system", system])
    assert f"STALE: export format 0 != {onnx_format.EXPORT_FORMAT} ({REGENERATE[system]})" in capsys.readouterr().out
    main(["info", "--model", str(model_file(system))])
    assert f"tasks: {json.dumps(list(SYSTEMS[system].task_names))}" in capsys.readouterr().out


def test_info_shows_the_chi_model_by_default(capsys):
    main(["info"])
    assert capsys.readouterr().out.startswith(f"shipped chi model: {model_file('chi')}\n")
