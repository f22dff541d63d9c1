"""Training speed of ``fit`` in several settings (accelerator, precision, threads), side by side in one run.

Each setting fits the config twice, for 1 epoch and for ``--epochs``, one setting after another so
none competes with another for the machine; the time per epoch is the difference of the two wall
times over ``epochs - 1`` (start-up, featurization and the first epoch's warm-up cancel), and the
table gives each setting's ratio to the first:

    python benchmarks/fit_speed.py --config configs/chi_mtl.yaml --epochs 6 \\
        --setting "cpu_1_thread=--trainer.accelerator cpu" \\
        --setting "gpu=--trainer.accelerator gpu" --setting "gpu_bf16=--trainer.accelerator gpu --trainer.precision bf16-mixed"

A setting is ``name=extra fit arguments`` layered on the config. No logger, no checkpoints kept.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time

from fit_command import fit_command  # benchmarks/


def wall_seconds(config: str, epochs: int, extra: str, folder: str) -> float:
    command = fit_command(config, epochs, folder, ["--trainer.logger", "false"], extra)
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/chi_mtl.yaml")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--setting", action="append", required=True, help="name=extra fit arguments")
    args = parser.parse_args()
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the time per epoch is a difference of two fits)")
    rows = []
    for name, extra in (s.split("=", 1) for s in args.setting):
        with tempfile.TemporaryDirectory() as folder:
            one = wall_seconds(args.config, 1, extra, folder)
            many = wall_seconds(args.config, args.epochs, extra, folder)
        rows.append((name, one, many, (many - one) / (args.epochs - 1)))
        print(f"{name}: 1 epoch {one:.1f} s, {args.epochs} epochs {many:.1f} s", flush=True)
    first = rows[0][3]
    print(
        f"\n| {args.config} | wall, 1 epoch (s) | wall, {args.epochs} epochs (s) | s per epoch | speed-up over {rows[0][0]} |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name, one, many, per_epoch in rows:
        ratio = (
            f"{first / per_epoch:.2f}"
            if per_epoch > 0 and first > 0
            else "- (epochs shorter than the start-up's spread)"
        )
        print(f"| {name} | {one:.1f} | {many:.1f} | {per_epoch:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
