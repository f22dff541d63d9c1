"""``python -m gnnchi evaluate``: every fold of a protocol, gnnchi against baselines on the same folds.

Protocols belong to a system (:mod:`gnnchi.evaluation.protocols`: chi's, and co2_il's on x_co2); the
config's data module must be of it. Writes ``metrics.json`` (per fold, ``mean`` and ``std``, and the same
for each baseline), ``report.md``, ``predictions.csv``, the figures (``parity.png`` for a chi or x_co2
protocol, ``roc.png`` (ROC and reliability of P(soluble)) for ``solubility``; ``calibration.png``;
for co2_il ``isotherms.png`` and ``isotherms.csv``, :mod:`gnnchi.evaluation.isotherms`), and logs
them to MLflow; and ``calibration.json``, the std's calibration fitted on every fold's test rows
(:mod:`gnnchi.evaluation.pooled_calibration`), whose leave-one-fold-out scores are the ``*_pooled`` metrics.
Trained models stay under ``<models_dir>/<method>/fold_<k>`` and are reused when the fit
arguments, the configs' contents and the data are unchanged (:mod:`gnnchi.evaluation.fitting`), so an
interrupted evaluation resumes, and ``solubility`` reuses the models of ``leave-polymer-out`` (the same
polymer-grouped folds) given the same ``--models_dir``.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pandas as pd

from gnnchi.data.splits import split_indices
from gnnchi.errors import GnnChiError
from gnnchi.evaluation import arrhenius, isotherms
from gnnchi.evaluation.baselines import BASELINES, FoldContext, baselines_of, default_baselines
from gnnchi.evaluation.fitting import config_fingerprint, fit_cached, predict_rows
from gnnchi.evaluation.metrics import finite, score, summarize
from gnnchi.evaluation.plots import plot_files, write_plots
from gnnchi.evaluation.pooled_calibration import add_pooled, novelty_columns
from gnnchi.evaluation.protocols import ALL_PROTOCOLS, NUM_FOLDS, SCORED, SYSTEM_PROTOCOLS, protocol_system
from gnnchi.evaluation.report import report
from gnnchi.evaluation.tracking import log_evaluation
from gnnchi.inference.calibration import POOLED_FILE, write_pooled
from gnnchi.training.calibrate import row_novelty, training_domain

# per system: a well-known example drawn from the fold that tested it (isotherms of [BMIM][PF6], PEO-LiTFSI against
# 1000/T); each module has example_rows, write_example_figure, FIGURE and CURVES (columns fold, tested_rows, ...)
EXAMPLE_FIGURES = {"co2_il": isotherms, "electrolyte": arrhenius}


def evaluate(
    config_args: list[str],
    protocol: str,
    output: str | Path,
    members: int | None = None,
    folds: list[int] | None = None,
    baselines: list[str] | None = None,
    models_dir: str | Path | None = None,
    chemprop_venv: str | None = None,
    experiment_name: str = "gnnchi-evaluate",
    tracking_uri: str | None = None,
) -> dict:
    """Run ``protocol``; return (and write) the metrics. ``config_args``: LightningCLI arguments (``--config``,
    overrides); the config's data module must be of the protocol's system (chi or co2_il)."""
    from gnnchi.training.cli import run_lightning_cli

    if protocol not in ALL_PROTOCOLS:
        raise GnnChiError(f"unknown protocol {protocol!r}; choose one of {list(ALL_PROTOCOLS)}")
    spec = ALL_PROTOCOLS[protocol]
    system = protocol_system(protocol)
    baselines = list(default_baselines(system.name) if baselines is None else baselines)
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise GnnChiError(f"unknown baselines {sorted(unknown)}; choose from {list(BASELINES)}")
    foreign = [b for b in baselines if system.name not in BASELINES[b].systems]
    if foreign:
        raise GnnChiError(f"baseline(s) {foreign} do not serve the {system.name} system of protocol {protocol!r}; "
                          f"its baselines: {list(baselines_of(system.name))}")  # fmt: skip
    if "chemprop" in baselines and not chemprop_venv:
        raise GnnChiError("the chemprop baseline needs --chemprop_venv DIR (created there on first use)")
    folds = list(range(NUM_FOLDS)) if folds is None else sorted(set(folds))
    if not folds or any(not 0 <= f < NUM_FOLDS for f in folds):
        raise GnnChiError(f"folds must be in 0..{NUM_FOLDS - 1}, got {folds}")
    config_system = run_lightning_cli([*config_args, "--trainer.logger", "false"], run=False).datamodule.system
    if config_system.name != system.name:  # before the split is set: another system's split does not parse
        theirs = ", ".join(SYSTEM_PROTOCOLS[config_system.name])
        raise GnnChiError(f"protocol {protocol!r} is for the {system.name} system, but the config trains "
                          f"{config_system.name}; its protocols: {theirs}")  # fmt: skip
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    models_dir = Path(models_dir) if models_dir else output / "models"
    started = time.perf_counter()

    split_args = ["--data.split", spec.split, "--data.num_folds", str(NUM_FOLDS)]
    cli = run_lightning_cli([*config_args, *split_args, "--trainer.logger", "false"], run=False)
    config = cli.config
    members = int(config.get("ensemble_members") or 1) if members is None else members
    if members < 1:
        raise GnnChiError(f"members must be at least 1, got {members}")
    fingerprint = config_fingerprint(cli)
    datamodule = cli.datamodule
    records = datamodule.prepare_records()
    table = records.table.reset_index(drop=True)
    hp = datamodule.hparams
    scored = SCORED[system.name]
    predicted = [system.task(task).prediction for task in scored.tasks]  # chi: chi_exp, p_soluble; co2_il: x_co2
    mixture = [c for c in table.columns if re.fullmatch(r"(component|role|fraction)_\d+", c)]  # a mixture's components
    kept = ["row", *(c for c in system.molecule_columns if c in table.columns), *mixture, *(c.name for c in system.conditions),
            *system.tasks_of_kind("regression"), *system.tasks_of_kind("classification")]  # fmt: skip

    fold_metrics: dict[str, list[dict]] = {"gnnchi": [], **{b: [] for b in baselines}}
    predictions, tested, fold_models = [], {}, {}
    for fold in folds:
        print(f"[evaluate {protocol}] fold {fold}: training gnnchi ({members} member(s))", flush=True)
        parts = split_indices(table, spec.split, fold, NUM_FOLDS, hp.val_fraction, hp.seed, hp.val_seed, system)
        fold_args = [*split_args, "--data.test_fold", str(fold)]
        models = fit_cached(
            config_args,
            [*fold_args, "--ensemble_members", str(members)],
            models_dir / "gnnchi" / f"fold_{fold}",
            fingerprint,
        )
        test = table.iloc[parts["test"]]
        tested[fold], fold_models[fold] = parts["test"], models
        ensemble = predict_rows(models, test, hp, system=system)  # std: calibrated on the fold's validation rows by fit
        spread = predict_rows(models, test, hp, calibrated=False, system=system)  # std: the raw spread over members
        uncertainty = {
            f"{k}_spread": v for k, v in score(test, spread, scored).items() if "sigma" in k or "spearman" in k
        }
        fold_metrics["gnnchi"].append({"fold": fold, **score(test, ensemble, scored), **uncertainty})
        frame = test[kept].copy()
        frame.insert(0, "fold", fold)
        for column in (c for name in predicted for c in (name, f"{name}_std")):
            frame[f"gnnchi_{column}"] = ensemble[column].to_numpy()
        for task in scored.regression:
            frame[f"gnnchi_{task}_spread"] = spread[f"{task}_std"].to_numpy()
        frame["gnnchi_warning"] = ensemble["warning"].to_numpy()
        novelty = row_novelty(datamodule, parts["test"], training_domain(datamodule, parts["train"]))
        for column, values in zip(novelty_columns(system), novelty):  # what pooled calibration needs besides the spread
            frame[column] = values
        context = FoldContext(
            table, parts, fold, spec, models, hp, config.model.init_args, config_args, fold_args, models_dir, fingerprint,
            chemprop_venv,
        )  # fmt: skip
        for name in baselines:
            print(f"[evaluate {protocol}] fold {fold}: baseline {name}", flush=True)
            pred = BASELINES[name].run(context)
            fold_metrics[name].append({"fold": fold, **score(test, pred, scored)})
            for column in predicted:
                frame[f"{name}_{column}"] = pred[column].to_numpy()
        predictions.append(frame)

    predictions, calibration = add_pooled(pd.concat(predictions, ignore_index=True), fold_metrics["gnnchi"], system,
                                          scored.regression)  # fmt: skip
    result = {
        "protocol": protocol,
        "split": spec.split,
        "task": spec.task,
        "members": members,
        "folds": fold_metrics["gnnchi"],
        **summarize(fold_metrics["gnnchi"]),
        "baselines": {name: {"folds": fold_metrics[name], **summarize(fold_metrics[name])} for name in baselines},
        "target": {"metric": spec.target[0], "value": spec.target[1]} if spec.target else None,
        "config_args": config_args,
        "seconds": round(time.perf_counter() - started, 1),
    }
    write_results(result, predictions, output, calibration)
    figures = list(plot_files(protocol))
    if system.name in EXAMPLE_FIGURES:  # the system's well-known example, from the models of the fold that tested it
        predict_fold = lambda f, rows: predict_rows(fold_models[f], rows, hp, system=system)
        figures += EXAMPLE_FIGURES[system.name].write_example_figure(output, table, tested, predict_fold, protocol)
    log_evaluation(result, output, experiment_name, tracking_uri, tuple(figures))
    print(f"[evaluate {protocol}] wrote {output}/metrics.json, report.md, predictions.csv and the plots")
    return result


def write_results(result: dict, predictions: pd.DataFrame, output: Path, calibration: dict) -> None:
    """``metrics.json``, ``report.md``, ``predictions.csv``, ``calibration.json`` (``calibration``: fitted on
    every fold's test rows) and the figures of one protocol's result."""
    predictions.to_csv(output / "predictions.csv", index=False)
    write_calibration(result, calibration, output)
    (output / "metrics.json").write_text(json.dumps(finite(result), indent=1) + "\n")
    (output / "report.md").write_text(report(result))
    write_plots(predictions, output, result["protocol"])


def write_calibration(result: dict, calibration: dict, output: Path) -> Path:
    """``calibration.json``: the std's calibration fitted on every fold's test rows of ``result``, with its source."""
    source = {k: result[k] for k in ("protocol", "members", "config_args")}
    return write_pooled(output / POOLED_FILE, calibration, {
        **source, "folds": [f["fold"] for f in result["folds"]], "rows": {t: c.rows for t, c in calibration.items()}})  # fmt: skip


def merge_fold_results(fold_outputs: list[Path], output: Path) -> dict:
    """One protocol's result from evaluate runs of its folds one by one (each run's ``--output``), as if
    one run had done every fold; ``seconds`` is the sum of the runs'."""
    parts = [json.loads((Path(d) / "metrics.json").read_text()) for d in fold_outputs]
    first = parts[0]
    if any(p[k] != first[k] for p in parts for k in ("protocol", "config_args", "members")):
        raise GnnChiError("the fold results come from different protocols, configs or ensemble sizes")

    def folds_of(results: list[dict]) -> list[dict]:
        return sorted((f for r in results for f in r["folds"]), key=lambda f: f["fold"])

    gnnchi_folds = folds_of(parts)
    predictions = pd.concat([pd.read_csv(Path(d) / "predictions.csv") for d in fold_outputs], ignore_index=True)
    system = protocol_system(first["protocol"])
    predictions, calibration = add_pooled(predictions.sort_values("fold", kind="stable", ignore_index=True),
                                          gnnchi_folds, system, SCORED[system.name].regression)  # fmt: skip
    result = {
        **{k: first[k] for k in ("protocol", "split", "task", "members", "target", "config_args")},
        "folds": gnnchi_folds,
        **summarize(gnnchi_folds),
        "baselines": {},
        "seconds": round(sum(p["seconds"] for p in parts), 1),
    }
    for name in first["baselines"]:
        folds = folds_of([p["baselines"][name] for p in parts])
        result["baselines"][name] = {"folds": folds, **summarize(folds)}
    output.mkdir(parents=True, exist_ok=True)
    write_results(result, predictions, output, calibration)
    copy_example_figure([Path(d) for d in fold_outputs], system.name, output)
    return result


def copy_example_figure(fold_outputs: list[Path], system: str, output: Path) -> None:
    """Into a merged result, the system's example figure ([BMIM][PF6] isotherms, PEO-LiTFSI Arrhenius) and
    its curves from the fold run that one run of every fold would draw from: the one whose fold tested most
    of the example's rows (the lowest fold on a tie)."""
    module = EXAMPLE_FIGURES.get(system)
    if module is None:
        return
    drawn = []
    for folder in fold_outputs:
        if (folder / module.CURVES).is_file():
            curves = pd.read_csv(folder / module.CURVES, nrows=1)
            tested_rows = int(curves["tested_rows"].iloc[0]) if "tested_rows" in curves else 0  # older runs: no count
            drawn.append((tested_rows, -int(curves["fold"].iloc[0]), folder))
    if drawn:
        folder = max(drawn, key=lambda d: d[:2])[2]
        for name in (module.FIGURE, module.CURVES):
            shutil.copyfile(folder / name, output / name)
