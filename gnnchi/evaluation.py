"""``python -m gnnchi evaluate``: every fold of a protocol, gnnchi against baselines on the same folds.

Writes ``metrics.json`` (per fold, ``mean`` and ``std``, and the same for each baseline),
``report.md``, ``predictions.csv``, ``parity.png`` and ``calibration.png``, and logs them to MLflow.
Trained models stay under ``<models_dir>/<method>/fold_<k>`` and are reused when the fit
arguments, the configs' contents and the data are unchanged, so an interrupted evaluation resumes, and ``solubility`` reuses the
models of ``leave-polymer-out`` (the same polymer-grouped folds) given the same ``--models_dir``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.data.records import CLASS_TASK
from gnnchi.data.splits import split_indices
from gnnchi.errors import GnnChiError

NUM_FOLDS = 5


@dataclass(frozen=True)
class Protocol:
    split: str
    task: str  # the task the protocol is about (its headline metric)
    two_task: tuple[str, str]  # the tasks of the two-task ablation
    target: tuple[str, float]  # headline metric and the value the issue asks for


PROTOCOLS = {
    "seed-folds": Protocol("paper", "chi_exp", ("chi_exp", "chi_cosmo"), ("r2_chi_exp", 0.85)),
    "leave-polymer-out": Protocol("polymer", "chi_exp", ("chi_exp", "chi_cosmo"), ("r2_chi_exp", 0.60)),
    "leave-solvent-out": Protocol("solvent", "chi_exp", ("chi_exp", "chi_cosmo"), ("r2_chi_exp", 0.80)),
    "solubility": Protocol("polymer", CLASS_TASK, (CLASS_TASK, "chi_exp"), ("auc_soluble", 0.93)),
}
BASELINES = (
    "gnnchi_single_model",
    "single_task",
    "two_task",
    "descriptor_mlp",
    "random_forest",
    "cosmo_rs",
    "chemprop",
)
HEADLINE = ("r2_chi_exp", "mae_chi_exp", "rmse_chi_exp", "auc_soluble", "accuracy_soluble")
GAUSS_WITHIN = {1: 0.6827, 2: 0.9545}


# ---------------------------------------------------------------- metrics
def score(test: pd.DataFrame, pred: pd.DataFrame, sigma_scale: float | None = None) -> dict[str, float]:
    """Metrics of predictions ``pred`` (columns chi_exp, p_soluble, optional *_std) on the rows ``test``.

    chi_exp: r2, mae, rmse, n; with a std: the fraction within +-1 and +-2 sigma, the Spearman
    correlation of |error| with sigma, and, given ``sigma_scale`` (fitted on validation rows),
    the coverage of the rescaled sigma. soluble: auc, accuracy (at 0.5), brier, n.
    """
    from scipy.stats import spearmanr
    from sklearn.metrics import accuracy_score, brier_score_loss, mean_absolute_error, r2_score, roc_auc_score

    out: dict[str, float] = {}
    y, p = test["chi_exp"].to_numpy(float), pred["chi_exp"].to_numpy(float)
    rows = ~np.isnan(y) & ~np.isnan(p)
    out["n_chi_exp"] = float(rows.sum())
    if rows.sum() >= 2:
        err = p[rows] - y[rows]
        out.update(r2_chi_exp=r2_score(y[rows], p[rows]), mae_chi_exp=mean_absolute_error(y[rows], p[rows]),
                   rmse_chi_exp=float(np.sqrt(np.mean(err**2))))  # fmt: skip
        if "chi_exp_std" in pred and pred["chi_exp_std"].notna().any():
            sigma = pred["chi_exp_std"].to_numpy(float)[rows]
            for z in GAUSS_WITHIN:
                out[f"within_{z}sigma_chi_exp"] = float(np.mean(np.abs(err) <= z * sigma))
                if sigma_scale:
                    out[f"within_{z}sigma_rescaled_chi_exp"] = float(np.mean(np.abs(err) <= z * sigma * sigma_scale))
            out["spearman_abs_error_std_chi_exp"] = float(spearmanr(np.abs(err), sigma).statistic)
    label, prob = test[CLASS_TASK].to_numpy(float), pred["p_soluble"].to_numpy(float)
    rows = ~np.isnan(label) & ~np.isnan(prob)
    out["n_soluble"] = float(rows.sum())
    if rows.sum() >= 2 and len(np.unique(label[rows])) == 2:
        out.update(auc_soluble=roc_auc_score(label[rows], prob[rows]),
                   accuracy_soluble=accuracy_score(label[rows], prob[rows] >= 0.5),
                   brier_soluble=brier_score_loss(label[rows], prob[rows]))  # fmt: skip
    return {k: float(v) for k, v in out.items()}


def sigma_scale_from(val: pd.DataFrame, pred: pd.DataFrame) -> float | None:
    """Factor s making s * sigma a Gaussian standard error on the validation rows (robust: median |err| / sigma / 0.6745)."""
    if "chi_exp_std" not in pred:
        return None
    ratio = (pred["chi_exp"] - val["chi_exp"].to_numpy()).abs() / pred["chi_exp_std"]
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio) / 0.6745) if len(ratio) >= 5 else None


def summarize(folds: list[dict[str, float]]) -> dict[str, dict[str, float | None]]:
    """``mean`` and ``std`` (ddof 1; None with one fold) of every metric over folds."""
    keys = sorted({k for fold in folds for k in fold if k != "fold"})
    mean, std = {}, {}
    for key in keys:
        values = np.array([fold[key] for fold in folds if key in fold and fold[key] is not None], float)
        mean[key] = float(values.mean()) if len(values) else None
        std[key] = float(values.std(ddof=1)) if len(values) > 1 else None
    return {"mean": mean, "std": std}


# ---------------------------------------------------------------- training
def config_fingerprint(cli) -> str:
    """sha256 of a parsed config (as LightningCLI dumps it) and of the data file it names."""
    digest = hashlib.sha256(cli.parser.dump(cli.config, skip_none=False).encode())
    data = cli.config.data.get("data")
    if data and Path(data).is_file():
        digest.update(Path(data).read_bytes())
    return digest.hexdigest()


def _fit_cached(config_args: list[str], overrides: list[str], folder: Path, fingerprint: str) -> list[Path]:
    """Fit (in-process, through the same LightningCLI as ``fit``) unless ``folder`` holds a fit of the
    same arguments, config contents and data (``fingerprint``); return the model files."""
    from gnnchi.training import run_lightning_cli

    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")  # evaluate's own argv is not the fit's
    stamp = folder / "evaluate_fit.json"
    args = [*config_args, *overrides, "--checkpoint.dirpath", str(folder)]
    if stamp.is_file():
        saved = json.loads(stamp.read_text())
        if saved["args"] == args and saved.get("fingerprint") == fingerprint:
            return [Path(m) for m in saved["models"]]
        stamp.unlink()
    (folder / "ensemble.json").unlink(missing_ok=True)
    extra = ["--trainer.logger", "false", "--trainer.enable_progress_bar", "false", "--trainer.limit_test_batches", "0"]
    cli = run_lightning_cli(["fit", *args, *extra])  # evaluate and tune score the models themselves
    manifest = folder / "ensemble.json"
    members = [manifest] if manifest.is_file() else [Path(cli.trainer.checkpoint_callback.best_model_path)]
    stamp.write_text(
        json.dumps({"args": args, "fingerprint": fingerprint, "models": [str(m) for m in members]}, indent=1)
    )
    return members


def predict_rows(models: list[Path], rows: pd.DataFrame, hp) -> pd.DataFrame:
    """Predictions of an ensemble (or one model) for table rows, with the data's own limits;
    every row must be predicted (they all passed the same checks in training)."""
    from gnnchi.predictor import Predictor

    predictor = Predictor.from_file(
        models, temperature_range_K=tuple(hp.temperature_range_K), max_heavy_atoms=hp.max_heavy_atoms
    )
    out = predictor.predict(rows["polymer"].tolist(), rows["solvent"].tolist(), rows["temperature_K"].to_numpy())
    failed = out["error"] != ""
    if failed.any():
        raise GnnChiError(
            f"{int(failed.sum())} evaluation row(s) could not be predicted: {out['error'][failed].iloc[0]}"
        )
    return out


# ---------------------------------------------------------------- the command
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
    """Run ``protocol``; return (and write) the metrics. ``config_args``: LightningCLI arguments (``--config``, overrides)."""
    from gnnchi import baselines as bl
    from gnnchi.models.ensemble import member_checkpoints
    from gnnchi.training import run_lightning_cli

    if protocol not in PROTOCOLS:
        raise GnnChiError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    spec = PROTOCOLS[protocol]
    baselines = list(BASELINES[:-1] if baselines is None else baselines)
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise GnnChiError(f"unknown baselines {sorted(unknown)}; choose from {list(BASELINES)}")
    if "chemprop" in baselines and not chemprop_venv:
        raise GnnChiError("the chemprop baseline needs --chemprop_venv DIR (created there on first use)")
    folds = list(range(NUM_FOLDS)) if folds is None else sorted(set(folds))
    if not folds or any(not 0 <= f < NUM_FOLDS for f in folds):
        raise GnnChiError(f"folds must be in 0..{NUM_FOLDS - 1}, got {folds}")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    models_dir = Path(models_dir) if models_dir else output / "models"
    started = time.perf_counter()

    split_args = ["--data.split", spec.split, "--data.num_folds", str(NUM_FOLDS)]
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
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
    task_weights = dict(config.model.task_weights or {})

    fold_metrics: dict[str, list[dict]] = {"gnnchi": [], **{b: [] for b in baselines}}
    predictions = []
    for fold in folds:
        print(f"[evaluate {protocol}] fold {fold}: training gnnchi ({members} member(s))", flush=True)
        parts = split_indices(table, spec.split, fold, NUM_FOLDS, hp.val_fraction, hp.seed, hp.val_seed)
        fold_args = [*split_args, "--data.test_fold", str(fold)]
        models = _fit_cached(
            config_args,
            [*fold_args, "--ensemble_members", str(members)],
            models_dir / "gnnchi" / f"fold_{fold}",
            fingerprint,
        )
        test, val = table.iloc[parts["test"]], table.iloc[parts["val"]]
        ensemble = predict_rows(models, test, hp)
        scale = sigma_scale_from(val, predict_rows(models, val, hp)) if members > 1 else None
        fold_metrics["gnnchi"].append({"fold": fold, **score(test, ensemble, scale), "sigma_scale": scale})
        frame = test[["row", "polymer", "solvent", "temperature_K", "chi_exp", "chi_cosmo", CLASS_TASK]].copy()
        frame.insert(0, "fold", fold)
        for column in ("chi_exp", "chi_exp_std", "p_soluble", "p_soluble_std"):
            frame[f"gnnchi_{column}"] = ensemble[column].to_numpy()
        for name in baselines:
            print(f"[evaluate {protocol}] fold {fold}: baseline {name}", flush=True)
            if name == "gnnchi_single_model":
                pred = predict_rows(member_checkpoints(models)[:1], test, hp)
            elif name in ("single_task", "two_task"):
                tasks = [spec.task] if name == "single_task" else list(spec.two_task)
                folder = models_dir / f"{name}_{'_'.join(tasks)}" / f"fold_{fold}"
                overrides = [*fold_args, "--ensemble_members", "1", "--data.tasks", json.dumps(tasks)]
                pred = predict_rows(_fit_cached(config_args, overrides, folder, fingerprint), test, hp)
                untrained = {"chi_exp": "chi_exp" not in tasks, "p_soluble": CLASS_TASK not in tasks}
                pred = pred.assign(**{c: np.nan for c, skip in untrained.items() if skip})  # heads never trained
            elif name == "descriptor_mlp":
                pred = bl.descriptor_mlp(
                    table, parts, latent_dim=config.model.latent_dim, task_weights=task_weights, seed=fold
                )
            elif name == "random_forest":
                pred = bl.random_forest(table, parts, seed=fold)
            elif name == "cosmo_rs":
                pred = bl.cosmo_rs(table, parts)
            else:
                pred = bl.chemprop(table, parts, chemprop_venv, seed=fold)
            fold_metrics[name].append({"fold": fold, **score(test, pred)})
            for column in ("chi_exp", "p_soluble"):
                frame[f"{name}_{column}"] = pred[column].to_numpy()
        predictions.append(frame)

    result = {
        "protocol": protocol,
        "split": spec.split,
        "task": spec.task,
        "members": members,
        "folds": fold_metrics["gnnchi"],
        **summarize(fold_metrics["gnnchi"]),
        "baselines": {name: {"folds": fold_metrics[name], **summarize(fold_metrics[name])} for name in baselines},
        "target": {"metric": spec.target[0], "value": spec.target[1]},
        "config_args": config_args,
        "seconds": round(time.perf_counter() - started, 1),
    }
    predictions = pd.concat(predictions, ignore_index=True)
    predictions.to_csv(output / "predictions.csv", index=False)
    (output / "metrics.json").write_text(json.dumps(_finite(result), indent=1) + "\n")
    (output / "report.md").write_text(report(result))
    plot_parity(predictions, output / "parity.png", protocol)
    plot_calibration(predictions, output / "calibration.png", result)
    _log_to_mlflow(result, output, experiment_name, tracking_uri)
    print(f"[evaluate {protocol}] wrote {output}/metrics.json, report.md, predictions.csv and the plots")
    return result


def _finite(value):
    """JSON has no NaN: NaN and inf become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------- report and plots
def _cell(summary: dict, key: str) -> str:
    mean, std = summary["mean"].get(key), summary["std"].get(key)
    if mean is None:
        return "-"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if std is not None else "")


def report(result: dict) -> str:
    """The tables of ``metrics.json`` as Markdown."""
    metric, target = result["target"]["metric"], result["target"]["value"]
    got = result["mean"].get(metric)
    status = "not measured" if got is None else ("met" if got >= target else "NOT met")
    lines = [
        f"# gnnchi evaluation: {result['protocol']}",
        "",
        f"Split `{result['split']}`, folds {[f['fold'] for f in result['folds']]} of {NUM_FOLDS}; "
        f"gnnchi is an ensemble of {result['members']} model(s); {result['seconds']:.0f} s.",
        f"Target: mean {metric} ≥ {target}: **{status}** ({'-' if got is None else f'{got:.3f}'}).",
        "",
        "Mean ± standard deviation over folds. Every method has the same test rows and trains on the fold's "
        "training rows (the forest and chemprop also on its validation rows, which the others use for early "
        "stopping); `cosmo_rs` covers the test rows that have a COSMO-RS value (n columns: rows scored, all folds).",
        "",
        "| method | " + " | ".join(HEADLINE) + " | n_chi_exp | n_soluble |",
        "| --- |" + " --- |" * (len(HEADLINE) + 2),
    ]
    rows = {"gnnchi (ensemble)": result, **result["baselines"]}
    for name, summary in rows.items():
        counts = [sum(f.get(f"n_{t}", 0) for f in summary["folds"]) for t in ("chi_exp", "soluble")]
        cells = [_cell(summary, k) for k in HEADLINE] + [f"{n:.0f}" for n in counts]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    calibration = [
        k for k in sorted(result["mean"]) if "sigma" in k or k.startswith("spearman") or k == "brier_soluble"
    ]
    if calibration:
        lines += ["", "## Uncertainty (gnnchi ensemble)", "",
                  "`within_zsigma`: share of test points with |error| ≤ z·std (a Gaussian gives 0.683 and 0.954); "
                  "`rescaled`: std times a factor fitted on each fold's validation rows; "
                  "`spearman_abs_error_std`: rank correlation of |error| with std.", "",
                  "| metric | mean ± std |", "| --- | --- |"]  # fmt: skip
        lines += [f"| {k} | {_cell(result, k)} |" for k in calibration]
    lines += [
        "",
        "## gnnchi per fold",
        "",
        "| fold | " + " | ".join(HEADLINE) + " |",
        "| --- |" + " --- |" * len(HEADLINE),
    ]
    for fold in result["folds"]:
        lines.append(
            f"| {fold['fold']} | " + " | ".join("-" if k not in fold else f"{fold[k]:.3f}" for k in HEADLINE) + " |"
        )
    return "\n".join(lines) + "\n"


def plot_parity(predictions: pd.DataFrame, path: Path, protocol: str) -> None:
    """Predicted (ensemble mean, ±1 std bars) against measured chi_exp, all folds' test rows, one colour per fold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.6))
    rows = predictions[predictions["chi_exp"].notna() & predictions["gnnchi_chi_exp"].notna()]
    for fold, part in rows.groupby("fold"):
        ax.errorbar(part["chi_exp"], part["gnnchi_chi_exp"], yerr=part["gnnchi_chi_exp_std"].fillna(0), fmt="o", ms=3,
                    alpha=0.5, elinewidth=0.6, label=f"fold {fold}")  # fmt: skip
    if len(rows):
        low, high = (
            float(rows[["chi_exp", "gnnchi_chi_exp"]].min().min()),
            float(rows[["chi_exp", "gnnchi_chi_exp"]].max().max()),
        )
        ax.plot([low, high], [low, high], color="grey", lw=1)
        ax.legend(fontsize=7)
    ax.set(
        xlabel="measured chi_exp",
        ylabel="gnnchi chi_exp (ensemble mean ± std)",
        title=f"{protocol}: test folds, n = {len(rows)}",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_calibration(predictions: pd.DataFrame, path: Path, result: dict) -> None:
    """Left: share of chi_exp test points within z·std against the Gaussian share. Right: reliability of P(soluble)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4.2))
    rows = predictions[predictions["chi_exp"].notna() & predictions["gnnchi_chi_exp_std"].notna()]
    z = np.linspace(0, 3, 31)
    left.plot(z, 2 * norm.cdf(z) - 1, color="grey", lw=1, label="Gaussian (ideal)")
    if len(rows):
        ratio = (rows["gnnchi_chi_exp"] - rows["chi_exp"]).abs() / rows["gnnchi_chi_exp_std"]
        left.plot(z, [(ratio <= v).mean() for v in z], label="ensemble std")
        scales = {f["fold"]: f.get("sigma_scale") for f in result["folds"]}
        factor = rows["fold"].map(scales).astype(float)
        if factor.notna().all():
            left.plot(z, [(ratio <= v * factor).mean() for v in z], label="std rescaled on validation rows")
    left.set(xlabel="z", ylabel="share of test points with |error| ≤ z·std", title="chi_exp")
    left.legend(fontsize=7)
    labelled = predictions[predictions[CLASS_TASK].notna() & predictions["gnnchi_p_soluble"].notna()]
    right.plot([0, 1], [0, 1], color="grey", lw=1)
    if len(labelled):
        bins = np.clip((labelled["gnnchi_p_soluble"] * 10).astype(int), 0, 9)
        grouped = labelled.groupby(bins).agg(
            p=("gnnchi_p_soluble", "mean"), y=(CLASS_TASK, "mean"), n=(CLASS_TASK, "size")
        )
        right.plot(grouped["p"], grouped["y"], "o-")
    right.set(xlabel="predicted P(soluble)", ylabel="observed soluble share", title=f"soluble, n = {len(labelled)}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _log_to_mlflow(result: dict, output: Path, experiment_name: str, tracking_uri: str | None) -> None:
    """One MLflow run: protocol parameters, mean/std/per-fold metrics of gnnchi and each baseline, the files."""
    from gnnchi.tracking import mlflow_client

    client, experiment_id = mlflow_client(experiment_name, tracking_uri)
    run = client.create_run(experiment_id, run_name=f"evaluate-{result['protocol']}")
    run_id = run.info.run_id
    for key in ("protocol", "split", "task", "members"):
        client.log_param(run_id, key, str(result[key]))
    client.log_param(run_id, "config_args", " ".join(result["config_args"])[:6000])
    client.log_param(run_id, "folds", str([f["fold"] for f in result["folds"]]))
    summaries = {"gnnchi": result, **{f"baseline/{n}": s for n, s in result["baselines"].items()}}
    for prefix, summary in summaries.items():
        for stat in ("mean", "std"):
            for key, value in summary[stat].items():
                if value is not None and math.isfinite(value):
                    client.log_metric(run_id, f"{prefix}/{stat}/{key}", value)
        for fold in summary["folds"]:
            for key, value in fold.items():
                if key != "fold" and value is not None and math.isfinite(value):
                    client.log_metric(run_id, f"{prefix}/fold/{key}", value, step=fold["fold"])
    for name in ("metrics.json", "report.md", "predictions.csv", "parity.png", "calibration.png"):
        client.log_artifact(run_id, str(output / name))
    client.set_terminated(run_id)
