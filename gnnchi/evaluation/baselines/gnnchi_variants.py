"""gnnchi's own ablations: its ensemble's first member alone, and the model trained on one or two tasks
(``data.tasks``, applied after the split, so the folds are unchanged)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gnnchi.evaluation.baselines.base import FoldContext
from gnnchi.evaluation.fitting import fit_cached, predict_rows
from gnnchi.systems.chi import CLASS_TASK


def single_model(context: FoldContext) -> pd.DataFrame:
    from gnnchi.models.ensemble import member_checkpoints

    return predict_rows(member_checkpoints(context.gnnchi_models)[:1], context.test, context.data_hparams,
                        system=context.system)  # fmt: skip


def without_temperature_physics(context: FoldContext) -> pd.DataFrame:
    """The electrolyte model with the ``free`` readout (temperature as one more input, no Arrhenius law), one
    model: compare with ``gnnchi_single_model``."""
    folder = context.models_dir / "free_readout" / f"fold_{context.fold}"
    overrides = [*context.fold_args, "--ensemble_members", "1", "--model.init_args.readout", "free"]
    models = fit_cached(context.config_args, overrides, folder, context.fingerprint)
    return predict_rows(models, context.test, context.data_hparams, system=context.system)


def _task_subset(context: FoldContext, tasks: list[str], name: str) -> pd.DataFrame:
    folder = context.models_dir / f"{name}_{'_'.join(tasks)}" / f"fold_{context.fold}"
    overrides = [*context.fold_args, "--ensemble_members", "1", "--data.tasks", json.dumps(tasks)]
    models = fit_cached(context.config_args, overrides, folder, context.fingerprint)
    pred = predict_rows(models, context.test, context.data_hparams)
    untrained = {"chi_exp": "chi_exp" not in tasks, "p_soluble": CLASS_TASK not in tasks}
    return pred.assign(**{c: np.nan for c, skip in untrained.items() if skip})  # heads never trained


def single_task(context: FoldContext) -> pd.DataFrame:
    return _task_subset(context, [context.protocol.task], "single_task")


def two_task(context: FoldContext) -> pd.DataFrame:
    return _task_subset(context, list(context.protocol.two_task), "two_task")
