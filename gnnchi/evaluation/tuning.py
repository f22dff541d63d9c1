"""``python -m gnnchi tune``: an Optuna search whose inner validation never sees the outer test fold.

For one outer test fold of a protocol (default ``leave-polymer-out``: new polymers, the question
users ask), each trial (depth, width, k, task weights, learning rate, dropout; ``SPACE``) is trained
``inner`` times with different grouped validation draws from the outer training folds, and scored
on those validation rows (R² of chi_exp, or AUC of soluble); Optuna's TPE sampler proposes the
next trial from the scores so far.

The study lives in Optuna's storage (default ``<output>/study.db``, sqlite; ``--storage`` takes any
Optuna RDB URL): running ``tune`` again resumes it, adding trials until it holds ``--trials``
completed ones, and each trial's fits are cached (``fit_cached``), so a finished fit is never
retrained. The sampler of trial n is seeded from ``(--seed, n)``: the same seed gives the same
first trials, and a resumed study draws what an uninterrupted one would (given the same scores).
A trial that raises (a diverged fit, non-finite predictions, an undefined score) is recorded as
failed and the study goes on; a trial whose process died (no heartbeat for ``GRACE_PERIOD_S``) is
failed and retried once with the same settings, in its models folder (its finished fits are reused).

When the config's own setting lies in ``SPACE`` it is trial 0 of a new study, so the search is
ranked against what the config already gives (``trials.csv``'s ``config`` column, and best.yaml's header).

Writes ``trials.csv`` (every trial, completed ones best first) and ``best.yaml``, a config layer
to pass after the base config: ``--config base.yaml --config best.yaml``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.data.splits import split_indices
from gnnchi.errors import GnnChiError
from gnnchi.evaluation.fitting import config_fingerprint, fit_cached, predict_rows
from gnnchi.evaluation.metrics import score
from gnnchi.evaluation.protocols import NUM_FOLDS, PROTOCOLS

SPACE = {  # lists: categorical choices; ("log", low, high): a float drawn on a log scale
    "model.depth": [3, 4, 5],
    "model.hidden_dim": [128, 256, 384],
    "model.latent_dim": [4, 8, 16, 32],
    "model.dropout": [0.0, 0.1],
    "model.task_weights.chi_exp": [1.0, 2.0, 4.0],
    "model.task_weights.chi_cosmo": [0.5, 1.0],
    "model.task_weights.soluble": [0.5, 1.0],
    "model.lr": ("log", 3e-4, 3e-3),
}
DEFAULT_PROTOCOL = "leave-polymer-out"
DEFAULT_STUDY_NAME = "gnnchi-tune"
STUDY_FILE = "study.db"
HEARTBEAT_S, GRACE_PERIOD_S = 60, 180  # a running trial without a heartbeat this long is failed and retried


def suggest(trial) -> dict[str, float]:
    """One setting of ``SPACE``, as Optuna suggestions of ``trial``."""
    setting = {}
    for key, choices in SPACE.items():
        if isinstance(choices, tuple):
            _, low, high = choices
            setting[key] = trial.suggest_float(key, low, high, log=True)
        else:
            setting[key] = trial.suggest_categorical(key, choices)
    return setting


def sampler(seed: int, number: int):
    """The TPE sampler that draws trial ``number`` of a study searched with ``seed``."""
    from optuna.samplers import TPESampler

    return TPESampler(seed=int(np.random.SeedSequence([seed, number]).generate_state(1)[0]))


def config_setting(model_hparams: dict) -> dict | None:
    """The config's own values of ``SPACE``'s keys (``model.task_weights.chi_exp`` -> hparams
    ``task_weights["chi_exp"]``), or None when one of them lies outside ``SPACE``."""
    setting = {}
    for key, choices in SPACE.items():
        value = model_hparams
        for part in key.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or not (choices[1] <= value <= choices[2] if isinstance(choices, tuple) else value in choices):
            return None
        setting[key] = value
    return setting


def first_trials(num_trials: int, seed: int) -> list[dict[str, float]]:
    """The settings a new study with ``seed`` draws first (up to TPE's 10 startup trials, which do
    not depend on the scores); a study whose config lies in ``SPACE`` runs the config first, as trial 0,
    and draws these from trial 1 on."""
    import optuna

    study = optuna.create_study(direction="maximize")
    settings = []
    for number in range(num_trials):
        study.sampler = sampler(seed, number)
        trial = study.ask()
        settings.append(suggest(trial))
        study.tell(trial, 0.0)
    return settings


def as_config(trial: dict) -> dict:
    """``{"model.depth": 4, "model.task_weights.chi_exp": 2.0, ...}`` -> nested config sections."""
    config: dict = {}
    for key, value in trial.items():
        *path, name = key.split(".")
        node = config
        for part in path:
            node = node.setdefault(part, {})
        node[name] = value
    return config


def _overrides(trial: dict) -> list[str]:
    """Command-line overrides of one trial (task_weights as one dict)."""
    return [a for key, value in as_config(trial)["model"].items() for a in (f"--model.{key}", json.dumps(value))]


def shown(storage: str) -> str:
    """The storage URL without its password, to print or write."""
    from sqlalchemy.engine import make_url

    return make_url(storage).render_as_string(hide_password=True)


def open_study(storage: str, study_name: str, setup: dict):
    """Create the study, or load it to resume; refuse one that was run with another ``setup``
    (protocol, fold, inner draws, seed, config and data): its scores would not compare."""
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

    with warnings.catch_warnings():  # heartbeats and retries are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        engine = {"connect_args": {"timeout": 60}} if storage.startswith("sqlite") else None  # shared sqlite: wait
        rdb = RDBStorage(storage, engine_kwargs=engine, heartbeat_interval=HEARTBEAT_S, grace_period=GRACE_PERIOD_S,
                         heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1))  # fmt: skip
    study = optuna.create_study(storage=rdb, study_name=study_name, direction="maximize", load_if_exists=True)
    saved = study.user_attrs.get("gnnchi_setup")
    if saved is None:
        study.set_user_attr("gnnchi_setup", setup)
    elif saved != json.loads(json.dumps(setup)):
        changed = [k for k in setup if saved.get(k) != setup[k]]
        was = [f"{k} {saved.get(k)}" for k in changed if k != "fingerprint"]
        was += ["another config or data"] if "fingerprint" in changed else []
        raise GnnChiError(
            f"study {study_name!r} in {shown(storage)} was run with {', '.join(was)}: resume it with the same "
            "settings, or start another study (--study_name, or another --output)"
        )
    return study


def trials_table(study, metric: str, inner: int) -> pd.DataFrame:
    """One row per trial of the study: completed ones best first, then the others by number."""
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False):
        reason = t.user_attrs.get("fail_reason", "")
        if t.state == TrialState.FAIL and not reason:
            reason = f"its process stopped (no heartbeat for {GRACE_PERIOD_S} s)"
        rows.append({"trial": t.number, "state": t.state.name, "config": bool(t.user_attrs.get("config")),
                     **{key: t.params.get(key) for key in SPACE},
                     **{f"inner_{r}": t.user_attrs.get(f"inner_{r}", math.nan) for r in range(inner)},
                     f"mean_{metric}": t.value if t.state == TrialState.COMPLETE else math.nan,
                     "models": t.user_attrs.get("models", ""), "fail_reason": reason})  # fmt: skip
    table = pd.DataFrame(rows, columns=["trial", "state", "config", *SPACE, *(f"inner_{r}" for r in range(inner)),
                                        f"mean_{metric}", "models", "fail_reason"])  # fmt: skip
    done = table["state"] == TrialState.COMPLETE.name
    ranked = table[done].sort_values(f"mean_{metric}", ascending=False, kind="stable")
    return pd.concat([ranked, table[~done]]).reset_index(drop=True)


def tune(
    config_args: list[str],
    output: str | Path,
    protocol: str = DEFAULT_PROTOCOL,
    test_fold: int = 0,
    num_trials: int = 20,
    inner: int = 3,
    seed: int = 0,
    val_fraction: float = 0.2,
    storage: str | None = None,
    study_name: str = DEFAULT_STUDY_NAME,
) -> pd.DataFrame:
    """Run (or resume) the search until the study holds ``num_trials`` completed trials; return
    ``trials_table`` (settings, state, inner scores, their mean), best first.

    Only ``test_fold`` is unseen: the other outer folds train and validate the trials, so the best
    setting is honest for ``test_fold`` alone (tune once per outer fold for a nested CV).
    """
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    from gnnchi.training.cli import run_lightning_cli

    if protocol not in PROTOCOLS:
        raise GnnChiError(f"unknown protocol {protocol!r}; choose one of {list(PROTOCOLS)}")
    if not 0 <= test_fold < NUM_FOLDS:
        raise GnnChiError(f"test_fold must be in 0..{NUM_FOLDS - 1}, got {test_fold}")
    if num_trials < 1 or inner < 1 or not 0 < val_fraction < 1:
        raise GnnChiError(
            f"need trials >= 1, inner >= 1 and 0 < val_fraction < 1; got {num_trials}, {inner}, {val_fraction}"
        )
    spec = PROTOCOLS[protocol]
    metric, column = ("r2_chi_exp", "chi_exp") if spec.task == "chi_exp" else ("auc_soluble", "p_soluble")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{(output / STUDY_FILE).resolve()}"
    split_args = ["--data.split", spec.split, "--data.num_folds", str(NUM_FOLDS), "--data.test_fold", str(test_fold),
                  "--data.val_fraction", str(val_fraction)]  # fmt: skip
    cli = run_lightning_cli([*config_args, *split_args, "--trainer.logger", "false"], run=False)
    fingerprint, hp = config_fingerprint(cli), cli.datamodule.hparams
    table = cli.datamodule.prepare_records().table.reset_index(drop=True)
    setup = {"protocol": protocol, "test_fold": test_fold, "inner": inner, "val_fraction": val_fraction, "seed": seed,
             "fingerprint": fingerprint}  # fmt: skip
    study = open_study(storage, study_name, setup)
    own = config_setting(cli.model.hparams)
    if own is not None and not study.get_trials(deepcopy=False):  # trial 0: what the search must beat
        study.enqueue_trial(own, user_attrs={"config": True}, skip_if_exists=True)

    def objective(trial) -> float:
        setting = suggest(trial)
        # a retry of a trial whose process died works in the original's folder (its finished fits are reused)
        frozen = next(t for t in study.get_trials(deepcopy=False) if t.number == trial.number)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            origin = RetryHeartbeatStaleTrialCallback.retried_trial_number(frozen)
        folder = output / "models" / f"trial_{trial.number if origin is None else origin}"
        trial.set_user_attr("models", str(folder.relative_to(output)))
        scores = []
        for r in range(inner):
            try:
                args = [*split_args, "--data.val_seed", str(1000 + r), "--ensemble_members", "1", *_overrides(setting)]
                models = fit_cached(config_args, args, folder / f"inner_{r}", fingerprint)
                parts = split_indices(table, spec.split, test_fold, NUM_FOLDS, val_fraction, hp.seed, 1000 + r)
                val = table.iloc[parts["val"]]  # the rows this fit validated on; never the outer test fold
                pred = predict_rows(models, val, hp)
                if not np.isfinite(pred[column].to_numpy(float)).all():
                    raise FloatingPointError(f"non-finite {column} predictions (a diverged fit)")
                value = score(val, pred).get(metric, math.nan)
                if not math.isfinite(value):
                    raise ValueError(f"{metric} is undefined on its {len(val)} validation rows")
            except BaseException as err:  # recorded (an interruption too), then optimize fails the trial
                trial.set_user_attr("fail_reason", f"inner {r}: {type(err).__name__}: {err}")
                print(f"[tune {protocol}] trial {trial.number} failed: {trial.user_attrs['fail_reason']}", flush=True)
                raise
            scores.append(value)
            trial.set_user_attr(f"inner_{r}", value)
            print(f"[tune {protocol}] trial {trial.number} inner {r}: val {metric} = {value:.3f}", flush=True)
        return float(np.mean(scores))

    def completed() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    failed_here, max_failures = [], max(3, num_trials)  # failed trials are recorded and the study goes on, not forever

    def after_trial(_, trial):  # trials.csv shows the progress of a long run
        failed_here.extend([trial.number] if trial.state == TrialState.FAIL else [])
        trials_table(study, metric, inner).to_csv(output / "trials.csv", index=False)

    while completed() < num_trials and len(failed_here) < max_failures:
        study.sampler = sampler(seed, len(study.get_trials(deepcopy=False)))
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[after_trial])
    trials = trials_table(study, metric, inner)
    trials.to_csv(output / "trials.csv", index=False)
    if completed() == 0:
        reasons = trials["fail_reason"][trials["fail_reason"] != ""]
        first = reasons.iloc[0] if len(reasons) else "none recorded"
        raise GnnChiError(f"no trial of study {study_name!r} completed; one failure: {first} (all in trials.csv)")
    if completed() < num_trials:
        print(f"[tune {protocol}] stopped after {len(failed_here)} failed trials; {completed()} of {num_trials} done")
    best = study.best_trial
    ranked = trials[trials["state"] == TrialState.COMPLETE.name].reset_index(drop=True)
    mine = ranked.index[ranked["config"].astype(bool)].tolist()
    config_rank = (f"; the config's own setting, trial {int(ranked['trial'][mine[0]])}, ranks {mine[0] + 1} of "
                   f"{len(ranked)} (mean val {metric} {ranked[f'mean_{metric}'][mine[0]]:.3f})" if mine else "")  # fmt: skip
    header = (f"# gnnchi tune: protocol {protocol}, outer test fold {test_fold}, {completed()} completed trials x "
              f"{inner} inner validation draws (val_fraction {val_fraction}), seed {seed}, study {study_name!r} in "
              f"{shown(storage)}; honest for outer fold {test_fold} only; best: trial {best.number}, mean val "
              f"{metric} = {best.value:.3f}{config_rank}\n")  # fmt: skip
    import yaml

    layer = yaml.safe_dump(as_config({key: best.params[key] for key in SPACE}), sort_keys=False)
    (output / "best.yaml").write_text(header + layer)
    print(f"[tune {protocol}] best trial {best.number}{config_rank}: {output / 'best.yaml'}")
    return trials
