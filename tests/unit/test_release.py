"""The shipped model (gnnchi/release/): present, small, loadable without torch, and made by this code's
featurizer, export format and bundled data. When one of those changes, these tests fail until the
model is regenerated with ``python -m gnnchi.release``."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from gnnchi.featurizers import FEATURIZER_VERSION
from gnnchi.inference import onnx_format
from gnnchi.release import CARD, MODEL
from gnnchi.release.card import data_fingerprint, read_card, staleness

ROOT = Path(__file__).parents[2]
REGENERATE = "the shipped model does not match the code: regenerate it with python -m gnnchi.release"


def test_the_shipped_model_matches_this_code():
    card = read_card(CARD)
    assert staleness(card) == [], f"{REGENERATE} ({'; '.join(staleness(card))})"
    assert card["featurizer_version"] == FEATURIZER_VERSION and card["export_format"] == onnx_format.EXPORT_FORMAT
    for part, path in onnx_format.file_names(MODEL).items():
        meta = onnx_format.read_metadata(path)
        onnx_format.check_part_metadata(meta, part, path)  # raises on another format or featurizer version
        assert json.loads(meta[onnx_format.TASKS]) == ["soluble", "chi_exp", "chi_cosmo"]
    size = sum(p.stat().st_size for p in onnx_format.file_names(MODEL).values())
    assert size == card["size_bytes"] and size <= 25e6


def test_staleness_names_what_changed():
    card = read_card(CARD)
    assert staleness({**card, "featurizer_version": FEATURIZER_VERSION + 1}) == [
        f"featurizer version {FEATURIZER_VERSION + 1} != {FEATURIZER_VERSION}"
    ]
    assert staleness({**card, "data_sha256": "0" * 64}) == ["the bundled data changed since it was trained"]
    assert card["data_sha256"] == data_fingerprint()


SHIPPED = r"""
import sys
from gnnchi import Predictor
out = Predictor().predict(["*CC(*)c1ccccc1", "*CC(*)c1ccccc1"], ["Cc1ccccc1", "O"], [298.15, 298.15])
assert "torch" not in sys.modules, "the shipped model needs no torch"
print(out[["chi_exp", "chi_exp_std", "p_soluble"]].to_json(orient="values"))
"""


def test_the_shipped_ensemble_predicts_without_torch_and_ranks_a_textbook_pair():
    done = subprocess.run([sys.executable, "-c", SHIPPED], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    (toluene, water) = np.array(json.loads(done.stdout))
    assert np.isfinite([*toluene, *water]).all() and toluene[1] > 0  # an ensemble: a spread
    assert toluene[0] < 0.5 < water[0] and toluene[2] > water[2]  # polystyrene: toluene dissolves it, water does not


def test_info_prints_the_card_and_says_whether_it_is_current(capsys, monkeypatch, tmp_path):
    from gnnchi.cli import main

    card = read_card(CARD)
    main(["info"])
    out = capsys.readouterr().out
    assert card["data_sha256"] in out and "up to date" in out and f"{card['recipe']['members']} members" in out
    for protocol, measured in card["evaluate"]["protocols"].items():
        assert f"evaluate {protocol}: {measured['metric']} = {measured['mean']:.3f}" in out
    stale = tmp_path / "card.json"
    stale.write_text(json.dumps({**card, "export_format": "0"}))
    monkeypatch.setattr("gnnchi.release.CARD", stale)
    main(["info"])
    assert "STALE: export format 0 != " in capsys.readouterr().out
    main(["info", "--model", str(MODEL)])
    assert '"soluble", "chi_exp", "chi_cosmo"' in capsys.readouterr().out
