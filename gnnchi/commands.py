"""gnnchi's own verbs: ``export``, ``predict``, ``screen``, ``evaluate`` and ``tune``."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.records import CHI_TASKS, DEFAULT_TEMPERATURE_RANGE_K, read_csv_table, temperature_column, to_kelvin
from gnnchi.errors import DataValidationError
from gnnchi.evaluation import BASELINES, PROTOCOLS
from gnnchi.predictor import PREDICTION_COLUMNS, Predictor

ROWS_PER_CHUNK = 20_000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gnnchi", description="gnnchi's own commands", allow_abbrev=False)
    verbs = parser.add_subparsers(dest="verb", required=True)

    export = verbs.add_parser("export", allow_abbrev=False, help="write ONNX models of a checkpoint (after a parity check)")
    export.add_argument("--ckpt", required=True, nargs="+",
                        help="a checkpoint written by fit; several, or an ensemble.json, export an ensemble")  # fmt: skip
    export.add_argument("--output", default="export/gnnchi.onnx", help="the pair model; its parts go beside it")
    export.add_argument("--tolerance", type=float, default=1e-5, help="largest allowed |onnx - torch|")

    predict = verbs.add_parser("predict", allow_abbrev=False, help="chi and P(soluble) for every row of a CSV of pairs")
    predict.add_argument("--model", required=True, nargs="+",
                         help="an exported .onnx model, or .ckpt checkpoints / an ensemble.json (an ensemble)")  # fmt: skip
    predict.add_argument("--input", required=True, help="CSV with polymer, solvent and temperature_K or temperature_C")
    predict.add_argument("--output", required=True, help="CSV: the input rows in order, predictions and error added")

    screen = verbs.add_parser("screen", allow_abbrev=False, help="rank candidate solvents for a polymer, or polymers for a solvent")
    screen.add_argument("--model", required=True, nargs="+", help="as for predict")
    target = screen.add_mutually_exclusive_group(required=True)
    target.add_argument("--polymer", help="repeat unit SMILES to screen solvents for")
    target.add_argument("--solvent", help="solvent SMILES to screen polymers for")
    screen.add_argument("--solvents", help="CSV of candidate solvents (column 'solvent')")
    screen.add_argument("--polymers", help="CSV of candidate polymers (column 'polymer')")
    temps = screen.add_mutually_exclusive_group(required=True)
    temps.add_argument("--temperature_C", type=float, nargs="+")
    temps.add_argument("--temperature_K", type=float, nargs="+")
    screen.add_argument("--output", required=True)
    screen.add_argument("--rank_by", choices=["chi_exp", "p_soluble"], default="chi_exp",
                        help="chi_exp ascending (most miscible first) or p_soluble descending")  # fmt: skip
    for verb in (predict, screen):
        verb.add_argument("--max_heavy_atoms", type=int, default=DEFAULT_MAX_HEAVY_ATOMS,
                          help="larger molecules (heavy atoms of a solvent or repeat unit) are errors")  # fmt: skip
        verb.add_argument("--temperature_range_K", type=float, nargs=2, default=DEFAULT_TEMPERATURE_RANGE_K,
                          metavar=("LOW", "HIGH"), help="temperatures outside are errors")  # fmt: skip

    evaluate = _training_verb(verbs, "evaluate", "every fold of a protocol, gnnchi and baselines side by side",
                              "metrics.json, report.md, predictions.csv and the plots")  # fmt: skip
    evaluate.add_argument("--members", type=int, help="ensemble size (default: the config's ensemble_members)")
    evaluate.add_argument("--folds", type=int, nargs="+", help="a subset of the 5 folds (default all)")
    evaluate.add_argument("--baselines", nargs="*", choices=list(BASELINES),
                          help=f"default: all but chemprop ({', '.join(BASELINES[:-1])})")  # fmt: skip
    evaluate.add_argument("--models_dir", help="where trained models are kept and reused (default <output>/models)")
    evaluate.add_argument("--chemprop_venv", help="virtualenv for the chemprop baseline (created on first use)")
    evaluate.add_argument("--experiment_name", default="gnnchi-evaluate", help="MLflow experiment")

    tune = _training_verb(verbs, "tune", "seeded random search with grouped inner validation inside one outer "
                          "training part", "trials.csv, best.yaml and the trial models")  # fmt: skip
    tune.add_argument("--test_fold", type=int, default=0, help="outer test fold, never seen by the search")
    tune.add_argument("--trials", type=int, default=20)
    tune.add_argument("--inner", type=int, default=3, help="grouped validation draws per trial")
    tune.add_argument("--seed", type=int, default=0, help="seed of the trial draw")
    tune.add_argument("--val_fraction", type=float, default=0.2, help="share of the outer training rows per inner validation draw")
    return parser


def _training_verb(verbs, name: str, summary: str, outputs: str) -> argparse.ArgumentParser:
    """A verb that trains through the fit config: --config (repeatable), --protocol, --output;
    any other --section.key value goes to the config."""
    verb = verbs.add_parser(name, allow_abbrev=False, help=summary,
                            epilog="Other --section.key value arguments go to the training config, as for fit "
                            "(e.g. --trainer.max_epochs 30).")  # fmt: skip
    verb.add_argument("--config", action="append", required=True, help="training config (as for fit); repeatable")
    verb.add_argument("--protocol", required=True, choices=list(PROTOCOLS))
    verb.add_argument("--output", required=True, help=f"folder for {outputs}")
    return verb


def read_table(path: str, needed: list[str]) -> pd.DataFrame:
    """Every cell as text, so the output repeats the input exactly; names the missing columns."""
    frame = read_csv_table(path, dtype=str, keep_default_na=False)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataValidationError(path, [], f"missing column(s) {missing}; found {list(frame.columns)}")
    return frame


def write_csv(frame: pd.DataFrame, path: str) -> None:
    """Text cells quoted, so a user's cell holding a line break (even a bare \\r) stays in its row."""
    frame.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)


def temperatures_K(frame: pd.DataFrame, source: str) -> np.ndarray:
    column = temperature_column(frame, source, required=True)
    return to_kelvin(pd.to_numeric(frame[column], errors="coerce").to_numpy(float), column)


def predict_file(predictor: Predictor, source: str, output: str) -> int:
    """Write every input row, in order, with predictions and ``error``; return the number of failed rows."""
    from tqdm.auto import tqdm

    frame = read_table(source, ["polymer", "solvent"])
    temps = temperatures_K(frame, source)
    chunks = range(0, len(frame), ROWS_PER_CHUNK)
    results = [
        predictor.predict(
            frame["polymer"].iloc[i : i + ROWS_PER_CHUNK].tolist(),
            frame["solvent"].iloc[i : i + ROWS_PER_CHUNK].tolist(),
            temps[i : i + ROWS_PER_CHUNK],
        )
        for i in tqdm(chunks, desc="predict", unit="chunk", disable=len(chunks) < 2)
    ]
    predictions = pd.concat(results, ignore_index=True) if results else pd.DataFrame(
        columns=[*PREDICTION_COLUMNS, "error", "warning"]
    )
    clashes = {c: f"{c}_input" for c in predictions.columns if c in frame.columns}
    out = pd.concat([frame.rename(columns=clashes).reset_index(drop=True), predictions], axis=1)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_csv(out, output)
    failed, warned = int((predictions["error"] != "").sum()), int((predictions["warning"] != "").sum())
    print(f"wrote {len(out)} rows to {output}" + (f"; {failed} row(s) failed, see the error column" if failed else "")
          + (f"; {warned} row(s) have atoms outside the featurizer's vocabulary, see the warning column" if warned else ""))  # fmt: skip
    return failed


def screen(predictor: Predictor, options) -> pd.DataFrame:
    """All candidates at all temperatures against one polymer (or solvent), ranked; bad candidates last."""
    if options.polymer is not None:
        fixed_kind, fixed, candidates_kind, candidates_file = "polymer", options.polymer, "solvent", options.solvents
    else:
        fixed_kind, fixed, candidates_kind, candidates_file = "solvent", options.solvent, "polymer", options.polymers
    if not candidates_file:
        raise DataValidationError("screen", [], f"give --{candidates_kind}s CSV with a '{candidates_kind}' column")
    candidates = read_table(candidates_file, [candidates_kind])
    temps = np.asarray(options.temperature_K or [t + 273.15 for t in options.temperature_C], dtype=np.float32)
    problems = [problem for t in temps if (problem := predictor.temperature_problem(float(t)))]
    if problems:
        raise DataValidationError("screen", [], f"{'; '.join(problems)} (--temperature_range_K)")
    fixed_latent, fixed_error = predictor.encode([fixed], fixed_kind)
    if fixed_error[0]:
        raise DataValidationError("screen", [], f"the {fixed_kind} {fixed!r} is invalid: {fixed_error[0]}")
    latent, errors = predictor.encode(candidates[candidates_kind].tolist(), candidates_kind)
    ok = np.array([not e for e in errors])
    if fixed_kind == "polymer":
        grid = predictor.grid(fixed_latent, latent[ok], temps)  # chi [C, 1, N, T], p_soluble [1, N]
        chi, chi_std, p, p_std = grid.chi[:, 0], grid.chi_std[:, 0], grid.p_soluble[0], grid.p_soluble_std[0]
    else:
        grid = predictor.grid(latent[ok], fixed_latent, temps)  # chi [C, N, 1, T], p_soluble [N, 1]
        chi, chi_std, p, p_std = grid.chi[:, :, 0], grid.chi_std[:, :, 0], grid.p_soluble[:, 0], grid.p_soluble_std[:, 0]
    n_t = len(temps)
    good = candidates[ok].loc[lambda f: f.index.repeat(n_t)].reset_index(drop=True)
    good["temperature_K"] = np.tile(temps, int(ok.sum()))
    for c, task in enumerate(CHI_TASKS):
        good[task] = chi[c].reshape(-1)  # candidate-major, temperature-minor, like the rows
        good[f"{task}_std"] = chi_std[c].reshape(-1)
    good["p_soluble"] = np.repeat(p, n_t)
    good["p_soluble_std"] = np.repeat(p_std, n_t)
    good["error"] = ""
    good["warning"] = [predictor.vocabulary_note({fixed_kind: fixed, candidates_kind: c}) for c in good[candidates_kind]]
    ascending = options.rank_by == "chi_exp"
    good = good.sort_values(options.rank_by, ascending=ascending, kind="stable").reset_index(drop=True)
    good.insert(0, "rank", np.arange(1, len(good) + 1))
    bad = candidates[~ok].copy()
    bad["error"] = [e for e in errors if e]
    ranked = pd.concat([good, bad], ignore_index=True)
    ranked["rank"] = ranked["rank"].astype("Int64")  # empty for bad candidates
    ranked.insert(1, fixed_kind, fixed)
    return ranked


def run_command(argv: list[str]) -> int:
    parser = _parser()
    options, extra = parser.parse_known_args(argv)
    if extra and options.verb not in ("evaluate", "tune"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if options.verb in ("evaluate", "tune"):  # LightningCLI arguments: the configs, then any overrides
        config_args = [a for path in options.config for a in ("--config", path)] + extra
    if options.verb == "tune":
        from gnnchi.tuning import tune

        tune(config_args, options.protocol, options.output, options.test_fold, options.trials, options.inner,
             options.seed, options.val_fraction)  # fmt: skip
        return 0
    if options.verb == "evaluate":
        from gnnchi.evaluation import evaluate

        evaluate(config_args, options.protocol, options.output, members=options.members, folds=options.folds,
                 baselines=options.baselines, models_dir=options.models_dir, chemprop_venv=options.chemprop_venv,
                 experiment_name=options.experiment_name)  # fmt: skip
        return 0
    if options.verb == "export":
        from gnnchi.export import export_checkpoint

        export_checkpoint(options.ckpt, options.output, options.tolerance)
        return 0
    predictor = Predictor.from_file(
        options.model, temperature_range_K=options.temperature_range_K, max_heavy_atoms=options.max_heavy_atoms
    )
    if options.verb == "predict":
        return 1 if predict_file(predictor, options.input, options.output) else 0
    ranked = screen(predictor, options)
    Path(options.output).parent.mkdir(parents=True, exist_ok=True)
    write_csv(ranked, options.output)
    print(f"ranked {int((ranked['error'] == '').sum())} candidate-temperature rows -> {options.output}")
    return 0
