"""``python -m gnnchi.release``: train a system's shipped model, export it into the package and write its card.

Run from the repository root. ``--system chi`` (the default) fits ``configs/chi_mtl.yaml`` +
``configs/release.yaml``, ``--system co2_il`` fits ``configs/co2_il.yaml`` + ``configs/co2_il_release.yaml``,
``--system electrolyte`` ``configs/electrolyte.yaml`` + ``configs/electrolyte_release.yaml`` (an ensemble on
all the bundled data); it exports the ensemble to the system's place in ``gnnchi/release/``
(``gnnchi.onnx``, ``co2_il/co2_il.onnx``, ``electrolyte/electrolyte.onnx``; parts beside it) after the parity check,
and writes ``card.json`` beside it. ``--from_checkpoints`` exports an ensemble trained before by the
same recipe instead of fitting again.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from gnnchi.systems import DEFAULT_SYSTEM, SYSTEMS


@dataclass(frozen=True)
class Recipe:
    """How a system's shipped model is made (paths from the repository root): the fit configs, layered;
    the ``ensemble.json`` that fit writes (its config's ``checkpoint.dirpath``); the folder of ``evaluate``
    results of the same recipe that the card summarises."""

    configs: tuple[str, ...]
    manifest: Path
    evaluation: Path
    calibration: Path | None = None  # evaluate's calibration.json of this recipe: the std fitted on every fold's
    # test rows replaces the one fit fitted on its few validation rows (gnnchi.evaluation.pooled_calibration)


RECIPES = {
    "chi": Recipe(("configs/chi_mtl.yaml", "configs/release.yaml"), Path("checkpoints/release/ensemble.json"),
                  Path("docs/evaluation"), Path("docs/evaluation/leave-polymer-out/calibration.json")),
    "co2_il": Recipe(("configs/co2_il.yaml", "configs/co2_il_release.yaml"),
                     Path("checkpoints/release_co2_il/ensemble.json"), Path("docs/evaluation/co2_il"),
                     Path("docs/evaluation/co2_il/leave-ionic-liquid-out/calibration.json")),
    "electrolyte": Recipe(("configs/electrolyte.yaml", "configs/electrolyte_release.yaml"),
                          Path("checkpoints/release_electrolyte/ensemble.json"), Path("docs/evaluation/electrolyte")),
}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    from gnnchi.cli import main as gnnchi_main
    from gnnchi.inference.onnx_format import file_names
    from gnnchi.release import card_file, model_file
    from gnnchi.release.card import evaluation_summary, write_card

    parser = argparse.ArgumentParser(prog="python -m gnnchi.release", description=__doc__.splitlines()[0])
    parser.add_argument("--system", choices=list(RECIPES), default=DEFAULT_SYSTEM, help="whose shipped model")
    written = ", ".join(f"{system}: {recipe.manifest}" for system, recipe in RECIPES.items())
    parser.add_argument("--from_checkpoints", help=f"an ensemble.json of the system's recipe ({written}); no fit")
    parser.add_argument("--fit_seconds", type=float, help="with --from_checkpoints: how long that fit took (the card)")
    options = parser.parse_args(argv)
    recipe, model = RECIPES[options.system], model_file(options.system)
    if recipe.calibration and not options.from_checkpoints:  # before a long fit: the calibration must fit the recipe
        check_calibration(recipe)
    started = time.perf_counter()
    manifest = Path(options.from_checkpoints) if options.from_checkpoints else recipe.manifest
    if not options.from_checkpoints:
        gnnchi_main(["fit", *(a for config in recipe.configs for a in ("--config", config))])
    fit_seconds = time.perf_counter() - started
    uncertainty = pooled_uncertainty(recipe, manifest) if recipe.calibration else None
    gnnchi_main(["export", "--ckpt", str(manifest), "--output", str(model)])
    files = file_names(model, SYSTEMS[options.system])
    members = [p for p in sorted(manifest.parent.glob("member_*/config.yaml"))]
    card = write_card(
        options.system,
        model=model.name,
        files={part: path.name for part, path in files.items()},
        size_bytes=sum(path.stat().st_size for path in files.values()),
        recipe={"command": "python -m gnnchi fit " + " ".join(f"--config {c}" for c in recipe.configs),
                "members": len(members), "config": members[0].read_text() if members else None},  # fmt: skip
        fit_seconds=round(fit_seconds, 1) if not options.from_checkpoints else options.fit_seconds,
        uncertainty=uncertainty,
        evaluate={
            "note": "the same recipe (default config) measured by evaluate on the bundled data; see README",
            "protocols": evaluation_summary(recipe.evaluation),
        },
    )
    print(f"shipped model: {model} ({card['size_bytes'] / 1e6:.1f} MB), card: {card_file(options.system)}")


def check_calibration(recipe: Recipe) -> None:
    """Refuse a missing pooled calibration, or one measured with another ensemble size than the recipe's."""
    import yaml

    from gnnchi.inference.calibration import read_pooled

    members = 1
    for config in recipe.configs:
        members = (yaml.safe_load(Path(config).read_text()) or {}).get("ensemble_members", members)
    _, source = read_pooled(recipe.calibration)
    if source["members"] != members:
        raise SystemExit(f"{recipe.calibration} was measured with {source['members']} members, the recipe fits "
                         f"{members}: evaluate {source['protocol']} with --members {members} first (docs/evaluation)")  # fmt: skip


def pooled_uncertainty(recipe: Recipe, manifest: Path) -> dict:
    """Give the fitted ensemble the recipe's pooled calibration; what the card says about it."""
    from gnnchi.training.calibrate import adopt_calibration, describe_pooled

    calibration, source = adopt_calibration(manifest, recipe.calibration)
    print(describe_pooled(calibration, source), flush=True)
    return {"calibration": {task: c._asdict() for task, c in calibration.items()}, "fitted_on": str(recipe.calibration),
            "source": source}  # fmt: skip


if __name__ == "__main__":
    main()
