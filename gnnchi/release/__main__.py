"""``python -m gnnchi.release``: train the shipped model, export it into the package and write its card.

Run from the repository root. It fits ``configs/chi_mtl.yaml`` + ``configs/release.yaml`` (an
ensemble on all the bundled data), exports the ensemble to ``gnnchi/release/gnnchi.onnx`` (parts
beside it) after the parity check, and writes ``card.json``. ``--from_checkpoints`` exports an
ensemble trained before by the same recipe instead of fitting again.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

CONFIGS = ["configs/chi_mtl.yaml", "configs/release.yaml"]
MANIFEST = Path("checkpoints/release/ensemble.json")


def main(argv: list[str] | None = None) -> None:
    from gnnchi.cli import main as gnnchi_main
    from gnnchi.inference.onnx_format import file_names
    from gnnchi.release import CARD, MODEL
    from gnnchi.release.card import evaluation_summary, write_card

    parser = argparse.ArgumentParser(prog="python -m gnnchi.release", description=__doc__.splitlines()[0])
    parser.add_argument("--from_checkpoints", help=f"an ensemble.json of this recipe (e.g. {MANIFEST}); skips the fit")
    parser.add_argument("--fit_seconds", type=float, help="with --from_checkpoints: how long that fit took, for the card")
    options = parser.parse_args(argv)
    started = time.perf_counter()
    manifest = Path(options.from_checkpoints) if options.from_checkpoints else MANIFEST
    if not options.from_checkpoints:
        gnnchi_main(["fit", *(a for config in CONFIGS for a in ("--config", config))])
    fit_seconds = time.perf_counter() - started
    gnnchi_main(["export", "--ckpt", str(manifest), "--output", str(MODEL)])
    files = file_names(MODEL)
    members = [p for p in sorted(manifest.parent.glob("member_*/config.yaml"))]
    card = write_card(
        CARD,
        model=MODEL.name,
        files={part: path.name for part, path in files.items()},
        size_bytes=sum(path.stat().st_size for path in files.values()),
        recipe={"command": "python -m gnnchi fit " + " ".join(f"--config {c}" for c in CONFIGS),
                "members": len(members), "config": members[0].read_text() if members else None},  # fmt: skip
        fit_seconds=round(fit_seconds, 1) if not options.from_checkpoints else options.fit_seconds,
        evaluate={
            "note": "the same recipe (default config) measured by evaluate on the bundled data; see README",
            "protocols": evaluation_summary(Path("docs/evaluation")),
        },
    )
    print(f"shipped model: {MODEL} ({card['size_bytes'] / 1e6:.1f} MB), card: {CARD}")


if __name__ == "__main__":
    main()
