"""``python -m gnnchi tune``: a seeded random search whose inner validation never sees the test fold.

For one outer test fold of a protocol, each trial (depth, width, k, task weights, learning
rate, dropout) is trained ``inner`` times with different grouped validation draws from the
outer training folds, and scored on those validation rows (R² of chi_exp, or AUC of soluble).
The same ``--seed`` gives the same trials. Writes ``trials.csv`` and ``best.yaml``, a config
layer to pass after the base config: ``--config base.yaml --config best.yaml``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.data.splits import split_indices
from gnnchi.errors import GnnChiError
from gnnchi.evaluation.fitting import config_fingerprint, fit_cached, predict_rows
from gnnchi.evaluation.metrics import score
from gnnchi.evaluation.protocols import NUM_FOLDS, PROTOCOLS

SPACE = {
    "model.depth": [3, 4, 5],
    "model.hidden_dim": [128, 256, 384],
    "model.latent_dim": [4, 8, 16, 32],
    "model.dropout": [0.0, 0.1],
    "model.task_weights.chi_exp": [1.0, 2.0, 4.0],
    "model.task_weights.chi_cosmo": [0.5, 1.0],
    "model.task_weights.soluble": [0.5, 1.0],
    "model.lr": ("log", 3e-4, 3e-3),
}


def sample_trials(num_trials: int, seed: int) -> list[dict[str, float]]:
    """``num_trials`` settings drawn from ``SPACE`` with a seeded generator (same seed, same trials)."""
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(num_trials):
        trial = {}
        for key, choices in SPACE.items():
            if isinstance(choices, tuple):
                _, low, high = choices
                trial[key] = float(round(math.exp(rng.uniform(math.log(low), math.log(high))), 6))
            else:
                trial[key] = choices[int(rng.integers(len(choices)))]
        trials.append(trial)
    return trials


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


def tune(
    config_args: list[str],
    protocol: str,
    output: str | Path,
    test_fold: int = 0,
    num_trials: int = 20,
    inner: int = 3,
    seed: int = 0,
    val_fraction: float = 0.2,
) -> pd.DataFrame:
    """Run the search; return one row per trial (settings, inner scores, their mean), best first.

    Only ``test_fold`` is unseen: the other outer folds train and validate the trials, so the best
    setting is honest for ``test_fold`` alone (tune once per outer fold for a nested CV).
    """
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
    metric = "r2_chi_exp" if spec.task == "chi_exp" else "auc_soluble"
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    split_args = ["--data.split", spec.split, "--data.num_folds", str(NUM_FOLDS), "--data.test_fold", str(test_fold),
                  "--data.val_fraction", str(val_fraction)]  # fmt: skip
    cli = run_lightning_cli([*config_args, *split_args, "--trainer.logger", "false"], run=False)
    fingerprint, hp = config_fingerprint(cli), cli.datamodule.hparams
    table = cli.datamodule.prepare_records().table.reset_index(drop=True)
    rows, trials = [], sample_trials(num_trials, seed)
    for t, trial in enumerate(trials):
        scores = []
        for r in range(inner):
            args = [*split_args, "--data.val_seed", str(1000 + r), "--ensemble_members", "1", *_overrides(trial)]
            models = fit_cached(config_args, args, output / "models" / f"trial_{t}" / f"inner_{r}", fingerprint)
            parts = split_indices(table, spec.split, test_fold, NUM_FOLDS, val_fraction, hp.seed, 1000 + r)
            val = table.iloc[parts["val"]]  # the rows this fit validated on; never the outer test fold
            scores.append(score(val, predict_rows(models, val, hp)).get(metric, float("nan")))
            print(f"[tune {protocol}] trial {t} inner {r}: val {metric} = {scores[-1]:.3f}", flush=True)
        rows.append(
            {
                "trial": t,
                **trial,
                **{f"inner_{r}": s for r, s in enumerate(scores)},
                f"mean_{metric}": float(np.mean(scores)),
            }
        )
    table = pd.DataFrame(rows).sort_values(f"mean_{metric}", ascending=False, kind="stable").reset_index(drop=True)
    table.to_csv(output / "trials.csv", index=False)
    best = int(table["trial"].iloc[0])
    header = (f"# gnnchi tune: protocol {protocol}, outer test fold {test_fold}, {num_trials} trials x {inner} inner "
              f"validation draws (val_fraction {val_fraction}), seed {seed}; honest for outer fold {test_fold} only; best: trial {best}, mean val {metric} = {table[f'mean_{metric}'].iloc[0]:.3f}\n")  # fmt: skip
    import yaml

    (output / "best.yaml").write_text(header + yaml.safe_dump(as_config(trials[best]), sort_keys=False))
    print(f"[tune {protocol}] best trial {best}: {output / 'best.yaml'}")
    return table
