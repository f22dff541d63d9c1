"""What a baseline gets for one fold, and how it is registered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gnnchi.evaluation.protocols import Protocol


@dataclass(frozen=True)
class FoldContext:
    """One fold of an evaluation: the records table, its ``train``/``val``/``test`` row indices, the
    protocol, gnnchi's models of the fold, and what a baseline needs to fit through gnnchi's own CLI."""

    table: pd.DataFrame
    parts: dict[str, np.ndarray]
    fold: int
    protocol: Protocol
    gnnchi_models: list[Path]
    data_hparams: Any  # the data module's hyperparameters (limits used to predict rows)
    model_config: Any  # the config's model section
    config_args: list[str]
    fold_args: list[str]  # the LightningCLI overrides that select this fold
    models_dir: Path
    fingerprint: str
    chemprop_venv: str | None = None

    @property
    def test(self) -> pd.DataFrame:
        return self.table.iloc[self.parts["test"]]

    @property
    def system(self):
        """The :class:`~gnnchi.systems.System` of the protocol (and of the table)."""
        from gnnchi.systems import get_system

        return get_system(self.protocol.system)


@dataclass(frozen=True)
class Baseline:
    """A method scored beside gnnchi on the same folds: ``run(context)`` -> one row per test row with
    the prediction columns of the tasks ``evaluate`` scores for the system (chi: ``chi_exp`` and
    ``p_soluble``, NaN where it predicts nothing; co2_il: ``x_co2``). ``systems``: those it applies to."""

    name: str
    description: str
    run: Callable[[FoldContext], pd.DataFrame]
    default_on: bool = True
    systems: tuple[str, ...] = ("chi",)


def empty_predictions(n: int) -> pd.DataFrame:
    return pd.DataFrame({"chi_exp": np.full(n, np.nan), "p_soluble": np.full(n, np.nan)})


MIN_CALIBRATION_ROWS = 20  # labelled non-test rows with a chi estimate, to calibrate P(soluble)


def logistic_p_soluble(chi: np.ndarray, labels: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """chi -> P(soluble): a logistic regression of ``labels`` [n] (1 soluble, 0 not) on a method's chi
    estimate [n] of the same non-test rows, where the estimate is not NaN. NaN out (for every row, and
    where the estimate is NaN) with fewer than :data:`MIN_CALIBRATION_ROWS` such rows or one class only."""
    from sklearn.linear_model import LogisticRegression

    chi, labels = np.asarray(chi, float), np.asarray(labels, float)
    covered = ~np.isnan(chi)
    if covered.sum() < MIN_CALIBRATION_ROWS or len(np.unique(labels[covered])) < 2:
        return lambda x: np.full(len(x), np.nan)
    model = LogisticRegression().fit(chi[covered, None], labels[covered].astype(int))

    def p_soluble(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float)
        p = np.full(len(x), np.nan)
        if (~np.isnan(x)).any():
            p[~np.isnan(x)] = model.predict_proba(x[~np.isnan(x), None])[:, 1]
        return p

    return p_soluble
