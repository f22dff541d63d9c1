"""Every fold of evaluate's protocols as its own process, then each protocol's report from the cached
fits: the same ``python -m gnnchi evaluate`` runs, only spread over the cores of a larger machine.

    python benchmarks/evaluate_parallel.py --output docs/evaluation --protocols leave-polymer-out solubility \
        --jobs 15 -- --config configs/chi_mtl.yaml --members 3

Each fold process writes its own metrics and predictions (under ``<output>/folds``); they are merged
into each protocol's ``metrics.json``, ``report.md``, ``predictions.csv`` and figures, as one evaluate
run over all folds writes them. ``--no_mlflow`` skips logging the fold runs to MLflow (for a machine
without it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gnnchi.evaluation.protocols import ALL_PROTOCOLS, NUM_FOLDS, PROTOCOLS
from gnnchi.evaluation.run import merge_fold_results

RUNNER = """
import sys
import gnnchi.evaluation.run as run
if {no_mlflow}:
    run.log_evaluation = lambda *args, **kwargs: None
from gnnchi.cli import main
sys.exit(main(sys.argv[1:]))
"""


def evaluate_command(protocol: str, output: Path, models: Path, config: list[str], no_mlflow: bool, folds=None) -> list[str]:
    command = [sys.executable, "-c", RUNNER.format(no_mlflow=no_mlflow), "evaluate", "--protocol", protocol,
               "--output", str(output), "--models_dir", str(models)]  # fmt: skip
    if folds is not None:
        command += ["--folds", *map(str, folds)]
    return [*command, *config]


def models_dir(output: Path, protocol: str) -> Path:
    """One models folder per split: solubility shares leave-polymer-out's (evaluate reuses its gnnchi fits)."""
    return output / "models" / ("leave-polymer-out" if protocol == "solubility" else protocol)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(ALL_PROTOCOLS))
    parser.add_argument("--jobs", type=int, default=15)
    parser.add_argument("--no_mlflow", action="store_true")
    args, config = parser.parse_known_args()
    config = [c for c in config if c != "--"]
    started = time.perf_counter()
    # solubility uses leave-polymer-out's folds and gnnchi models: its fold runs follow that protocol's
    chains = [[p] for p in args.protocols if p not in ("leave-polymer-out", "solubility")]
    chains += [[p for p in ("leave-polymer-out", "solubility") if p in args.protocols]]
    jobs = []
    for chain in filter(None, chains):
        for fold in range(NUM_FOLDS):
            steps = []
            for protocol in chain:
                out = args.output / "folds" / protocol / f"fold_{fold}"
                command = evaluate_command(protocol, out, models_dir(args.output, protocol), config, args.no_mlflow, [fold])
                steps.append((f"{protocol} fold {fold}", command, out))
            jobs.append(steps)

    def run(steps) -> int:
        for name, command, out in steps:
            out.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            with open(out / "log.txt", "w") as log:
                code = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT)
            print(f"{name}: exit {code}, {time.perf_counter() - t0:.0f} s", flush=True)
            if code:
                return code
        return 0

    with ThreadPoolExecutor(args.jobs) as pool:
        codes = list(pool.map(run, jobs))
    if any(codes):
        sys.exit(f"{sum(map(bool, codes))} fold run(s) failed; see {args.output}/folds/*/fold_*/log.txt")
    for protocol in args.protocols:
        folds = [args.output / "folds" / protocol / f"fold_{fold}" for fold in range(NUM_FOLDS)]
        result = merge_fold_results(folds, args.output / protocol)
        metric = result["target"]["metric"] if result["target"] else f"mae_{result['task']}"
        print(f"{protocol}: mean {metric} {result['mean'].get(metric)}; {result['seconds']:.0f} s of fold runs", flush=True)
    print(f"all: {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
