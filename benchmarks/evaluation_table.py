"""One Markdown table from the metrics.json of several ``python -m gnnchi evaluate`` runs.

    python benchmarks/evaluation_table.py results/seed-folds results/leave-solvent-out ...

Rows: gnnchi and each baseline; columns: each protocol's headline metric (mean ± std over folds),
with the protocol's target in the header. A run holding only some baselines (e.g. chemprop alone)
adds its rows to the protocol of the same name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gnnchi.evaluation.baselines import BASELINES

METHODS = ("gnnchi", *BASELINES)  # rows in the registry's order, the ensemble first


def cell(summary: dict, key: str) -> str:
    mean, std = summary["mean"].get(key), summary["std"].get(key)
    if mean is None:
        return "-"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if std is not None else "")


def main(folders: list[str]) -> None:
    runs: dict[str, dict] = {}
    for folder in folders:
        result = json.loads((Path(folder) / "metrics.json").read_text())
        target = result["target"] or {"metric": f"r2_{result['task']}", "value": None}  # no floor: R2 and MAE shown
        run = runs.setdefault(result["protocol"], {"target": target, "methods": {}})
        if "gnnchi" not in run["methods"] or len(result["baselines"]) > 1:
            run["methods"]["gnnchi"] = result
        run["methods"].update(result["baselines"])
    columns = []
    for protocol, run in runs.items():
        metric, target = run["target"]["metric"], run["target"]["value"]
        columns.append((protocol, metric, target))
        if metric.startswith("r2_"):  # a regression protocol (chi_exp, x_co2): its MAE beside R2
            columns.append((protocol, "mae_" + metric.removeprefix("r2_"), None))
    header = [f"{p}: {m}" + (f" (target ≥ {t})" if t is not None else "") for p, m, t in columns]
    print("| method | " + " | ".join(header) + " |")
    print("| --- |" + " --- |" * len(columns))
    for method in METHODS:
        cells = [cell(runs[p]["methods"][method], m) if method in runs[p]["methods"] else "-" for p, m, _ in columns]
        if any(c != "-" for c in cells):
            print(f"| {method} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
