"""A shipped model's card (``card.json``), written by ``python -m gnnchi.release`` and read by
``python -m gnnchi info`` and the staleness test: what the model is, what it was trained on, and
the ``evaluate`` metrics of its recipe."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gnnchi.release import card_file, regenerate_command

CARD_FORMAT = 1


def data_fingerprint(system: str) -> str:
    """sha256 of every bundled data file of ``system`` (its declared folders; names and contents, in sorted order)."""
    from gnnchi.datasets import bundled
    from gnnchi.systems import get_system

    digest = hashlib.sha256()
    for path in sorted(p for folder in get_system(system).data_folders for p in (bundled.HERE / folder).rglob("*.csv")):
        digest.update(str(path.relative_to(bundled.HERE)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def evaluation_summary(folder: Path) -> dict:
    """The headline metric (mean ± std over folds) of each protocol measured in ``folder/<protocol>/metrics.json``."""
    summary = {}
    for path in sorted(folder.glob("*/metrics.json")):
        result = json.loads(path.read_text())
        metric = result["target"]["metric"] if result.get("target") else f"mae_{result['task']}"  # no floor: the MAE
        summary[path.parent.name] = {
            "metric": metric,
            "mean": result["mean"].get(metric),
            "std": result["std"].get(metric),
            "members": result.get("members"),
            "config_args": " ".join(result.get("config_args", [])),
        }
    return summary


def write_card(system: str, **fields) -> dict:
    """``system``'s ``card.json`` with the versions this gnnchi writes, the data fingerprint and ``fields``."""
    import gnnchi
    from gnnchi.featurizers import FEATURIZER_VERSION
    from gnnchi.inference.onnx_format import EXPORT_FORMAT

    card = {
        "card_format": CARD_FORMAT,
        "gnnchi_version": gnnchi.__version__,
        "featurizer_version": FEATURIZER_VERSION,
        "export_format": EXPORT_FORMAT,
        "system": system,
        "data_sha256": data_fingerprint(system),
        **fields,
    }
    card_file(system).write_text(json.dumps(card, indent=1) + "\n")
    return card


def read_card(system: str) -> dict:
    """``system``'s shipped model card; a clear error if this installation has none."""
    from gnnchi.errors import ModelFileError

    path = card_file(system)
    if not path.is_file():
        raise ModelFileError(f"no model card at {path}: regenerate the shipped model with {regenerate_command(system)}")
    return json.loads(path.read_text())


def staleness(card: dict, system: str) -> list[str]:
    """Why ``system``'s shipped model (``card``) no longer matches this code (empty when it does)."""
    from gnnchi.featurizers import FEATURIZER_VERSION
    from gnnchi.inference.onnx_format import EXPORT_FORMAT

    problems = []
    if card.get("featurizer_version") != FEATURIZER_VERSION:
        problems.append(f"featurizer version {card.get('featurizer_version')} != {FEATURIZER_VERSION}")
    if card.get("export_format") != EXPORT_FORMAT:
        problems.append(f"export format {card.get('export_format')} != {EXPORT_FORMAT}")
    if card.get("data_sha256") != data_fingerprint(system):
        problems.append("the bundled data changed since it was trained")
    return problems
