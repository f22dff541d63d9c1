"""Choose the form of a task's calibrated std on validation rows, then score the choice on test rows.

    python benchmarks/std_forms.py --run results --protocol leave-polymer-out
    python benchmarks/std_forms.py --run results/co2_il --protocol leave-ionic-liquid-out

For each fold of an evaluate run (its cached ensembles, ``<run>/models/<protocol>/gnnchi/fold_k``), the
fold's **validation** rows are predicted (mean, raw spread over members, novelty against
the fold's training rows). Each candidate form of sigma^2 is fitted by Gaussian likelihood on the other
folds' validation rows and scored on this fold's (Spearman of |error| with sigma, coverage): that is the
choice. Then the chosen and the current form are scored on the test rows of ``predictions.csv`` as
evaluate's pooled std is (fitted on the other folds' test rows), and fitted on every fold's validation rows.

Forms (terms of sigma^2), for chi_exp: F0, (a spread)^2 + b^2 + (c_p novelty_polymer)^2 +
(c_s novelty_solvent)^2; F1 F0 + (d (chi - center))^2 with the center fitted; F2, the shipped one since
2026-11-25, the same with the center at 0.5, the miscibility threshold (all three fitted by
``gnnchi.inference.calibration.fit_task``, as evaluate fits them); F3 spread and floor only; F4 F3 +
(d (chi - 0.5))^2. For a task whose value term is ``relative`` (x_co2): F0 the shipped one, (a spread)^2
+ b^2 + (d x)^2 + the two molecules' novelty terms; F3 spread and floor only; F5 F0 without the novelty
terms. Another form replaces the shipped one (:data:`SHIPPED`) only with a Spearman ``--choose_margin``
higher and coverage >= 0.60 / 0.85 on the validation rows.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from recalibrate import fold_setup  # benchmarks/: the fold's cached ensemble and data module
from scipy.stats import spearmanr

from gnnchi.evaluation.fitting import predict_rows
from gnnchi.evaluation.pooled_calibration import novelty_columns
from gnnchi.evaluation.protocols import ALL_PROTOCOLS, NUM_FOLDS
from gnnchi.inference.calibration import TaskCalibration, _fit_squares, fit_task
from gnnchi.systems import SYSTEMS
from gnnchi.systems.chi import MISCIBILITY_THRESHOLD
from gnnchi.training.calibrate import row_novelty, training_domain

# per task: the forms gnnchi.inference.calibration fits itself (by value term), then the others as
# (terms kept: a, b, c_first, c_second, d; the value term's fixed center)
FORMS = {
    "chi_exp": ({"F0": "none", "F1": "centred", "F2": "threshold"},
                {"F3": ((1, 1, 0, 0, 0), MISCIBILITY_THRESHOLD), "F4": ((1, 1, 0, 0, 1), MISCIBILITY_THRESHOLD)}),
    "x_co2": ({"F0": "relative"}, {"F3": ((1, 1, 0, 0, 0), 0.0), "F5": ((1, 1, 0, 0, 1), 0.0)}),
}  # fmt: skip
SHIPPED = {"chi_exp": "F2", "x_co2": "F0"}  # the form each task's Task.value_term gives


@dataclass(frozen=True)
class Target:
    """The task whose std is chosen, its system's name and its two novelty columns."""

    task: str
    novelty: tuple[str, str]
    system: str


def validation_rows(run: Path, protocol: str, target: Target) -> pd.DataFrame:
    """Every fold's validation rows with the task's target, predicted by that fold's cached ensemble."""
    frames = []
    for fold in range(NUM_FOLDS):
        manifest, datamodule, parts = fold_setup(run, protocol, fold)
        table, hp = datamodule.records.table.reset_index(drop=True), datamodule.hparams
        rows, models = table.iloc[parts["val"]], [manifest]
        frame = rows.reset_index(drop=True)
        frame["fold"] = fold
        task = target.task
        frame[f"gnnchi_{task}"] = predict_rows(models, rows, hp, system=datamodule.system)[task].to_numpy()
        spread = predict_rows(models, rows, hp, calibrated=False, system=datamodule.system)
        frame[f"gnnchi_{task}_spread"] = spread[f"{task}_std"].to_numpy()
        novelty = row_novelty(datamodule, parts["val"], training_domain(datamodule, parts["train"]))
        for column, values in zip(novelty_columns(datamodule.system), novelty):
            frame[column] = values
        frames.append(frame.dropna(subset=[task]))
    return pd.concat(frames, ignore_index=True)


def columns(rows: pd.DataFrame, target: Target) -> tuple[np.ndarray, ...]:
    """The inputs of sigma: raw spread, the two molecules' novelty, prediction [R] each."""
    task = target.task
    return tuple(rows[c].to_numpy(float) for c in (f"gnnchi_{task}_spread", *target.novelty, f"gnnchi_{task}"))


def fit(rows: pd.DataFrame, form: str, target: Target) -> TaskCalibration:
    """The maximum-likelihood calibration of ``form`` on ``rows``: the forms :func:`fit_task` offers
    exactly as ``fit`` and ``evaluate`` fit them; the others (a fixed center, terms left out) by the
    same likelihood on the kept terms."""
    spread, novelty_polymer, novelty_solvent, prediction = columns(rows, target)
    error = prediction - rows[target.task].to_numpy(float)
    value_terms, masks = FORMS[target.task]
    if form in value_terms:
        center = SYSTEMS[target.system].task(target.task).value_center
        return fit_task(error, spread, novelty_polymer, novelty_solvent, prediction, value_term=value_terms[form],
                        value_center=center)  # fmt: skip
    kept, center = masks[form]
    mask = np.array(kept)
    _, squares = _fit_squares(error**2, terms(rows, target, center) * mask, with_d=bool(mask[4]))
    a, b, c_polymer, c_solvent, d = np.sqrt(np.maximum(squares, 0.0)) * mask
    return TaskCalibration(a, b, c_polymer, c_solvent, rows=len(rows), d=d, center=center)


def terms(rows: pd.DataFrame, target: Target, center: float) -> np.ndarray:
    """The five terms of sigma^2 [R, 5] before their squares: spread^2, 1, the two novelties^2, (prediction - center)^2."""
    spread, novelty_polymer, novelty_solvent, prediction = columns(rows, target)
    return np.column_stack(
        [spread**2, np.ones(len(rows)), novelty_polymer**2, novelty_solvent**2, (prediction - center) ** 2]
    )


def sigma_of(calibration: TaskCalibration, rows: pd.DataFrame, target: Target) -> np.ndarray:
    spread, novelty_polymer, novelty_solvent, prediction = columns(rows, target)
    return calibration.sigma(spread, novelty_polymer, novelty_solvent, prediction)


def scores(rows: pd.DataFrame, sigma: np.ndarray, target: Target) -> dict:
    error = (rows[f"gnnchi_{target.task}"] - rows[target.task]).abs().to_numpy()
    folds = [spearmanr(error[rows["fold"] == f], sigma[rows["fold"] == f])[0] for f in sorted(rows["fold"].unique())]
    return {"spearman_mean_of_folds": float(np.mean(folds)), "folds": np.round(folds, 3).tolist(),
            "within_1sigma": float(np.mean(error <= sigma)), "within_2sigma": float(np.mean(error <= 2 * sigma))}  # fmt: skip


def per_fold(fitted_on: pd.DataFrame, scored: pd.DataFrame, sigma_for) -> np.ndarray:
    """sigma [R] of ``scored``, each fold's from ``sigma_for(fitting rows, scored rows)`` given the other
    folds' rows of ``fitted_on``."""
    sigma = np.zeros(len(scored))
    for fold in sorted(scored["fold"].unique()):
        here = (scored["fold"] == fold).to_numpy()
        sigma[here] = sigma_for(fitted_on[fitted_on["fold"] != fold], scored[here])
    return sigma


def leave_one_fold_out(fitted_on: pd.DataFrame, scored: pd.DataFrame, form: str, target: Target) -> np.ndarray:
    """Each fold's sigma of ``form`` fitted on the other folds' rows of ``fitted_on``."""
    return per_fold(fitted_on, scored, lambda fitting, rows: sigma_of(fit(fitting, form, target), rows, target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="an evaluate output folder (models/ and <protocol>/)")
    choices = sorted(p for p, spec in ALL_PROTOCOLS.items() if spec.task in FORMS)  # chi's and co2_il's
    parser.add_argument("--protocol", default="leave-polymer-out", choices=choices)
    parser.add_argument(
        "--choose_margin", type=float, default=0.03, help="Spearman gain over the shipped form a switch needs"
    )
    args = parser.parse_args()
    spec = ALL_PROTOCOLS[args.protocol]
    target = Target(spec.task, novelty_columns(SYSTEMS[spec.system]), spec.system)
    forms = [*FORMS[target.task][0], *FORMS[target.task][1]]
    val = validation_rows(args.run, args.protocol, target)
    print(
        f"validation rows: {len(val)}; choosing on them (each fold's sigma fitted on the other folds' validation rows)"
    )
    chosen = {form: scores(val, leave_one_fold_out(val, val, form, target), target) for form in forms}
    for form, s in chosen.items():
        print(f"  {form}: {s}")
    shipped = SHIPPED[target.task]
    best = max(chosen, key=lambda f: chosen[f]["spearman_mean_of_folds"])
    ok = chosen[best]["within_1sigma"] >= 0.60 and chosen[best]["within_2sigma"] >= 0.85
    if (
        not ok
        or chosen[best]["spearman_mean_of_folds"] < chosen[shipped]["spearman_mean_of_folds"] + args.choose_margin
    ):
        best = shipped
    print(f"chosen on validation rows: {best} (ships: {shipped})")
    test = pd.read_csv(args.run / args.protocol / "predictions.csv").dropna(subset=[target.task])
    for form in sorted({"F0", shipped, best}):
        print(
            f"test rows, {form}, fitted on the other folds' test rows: "
            f"{scores(test, leave_one_fold_out(test, test, form, target), target)}"
        )
        sigma = sigma_of(fit(val, form, target), test, target)
        print(f"test rows, {form}, fitted on every fold's validation rows: {scores(test, sigma, target)}")


if __name__ == "__main__":
    main()
