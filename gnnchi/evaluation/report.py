"""report.md: the tables of ``metrics.json`` as Markdown."""

from __future__ import annotations

from gnnchi.evaluation.protocols import ALL_PROTOCOLS, NUM_FOLDS, SCORED

# what the baselines of each system train on and which test rows they cover
BASELINE_NOTES = {
    "chi": "Mean ± standard deviation over folds. Every method has the same test rows and trains on the fold's "
    "training rows (the forest and chemprop also on its validation rows, which the others use for early "
    "stopping); `cosmo_rs` covers the test rows that have a COSMO-RS value, `hansen` those whose solvent has "
    "Hansen parameters and whose polymer has enough training rows to fit its own (none under leave-polymer-out), "
    "`unifac` (its line fitted on the training and validation rows) those whose two molecules UNIFAC covers with "
    "groups that have parameters (n columns: rows scored, all folds).",
    "co2_il": "Mean ± standard deviation over folds. Every method has the same test rows and trains on the fold's "
    "training rows (`il_random_forest` also on its validation rows, which gnnchi uses for early stopping) "
    "(n column: rows scored, all folds).",
    "electrolyte": "Mean ± standard deviation over folds. Every method has the same test rows and trains on the "
    "fold's training rows (`electrolyte_random_forest` also on its validation rows, which gnnchi uses for early "
    "stopping); `no_temperature_physics` is one model, to compare with `gnnchi_single_model` "
    "(n column: rows scored, all folds).",
}


def _cell(summary: dict, key: str) -> str:
    mean, std = summary["mean"].get(key), summary["std"].get(key)
    if mean is None:
        return "-"
    return f"{mean:.3f}" + (f" ± {std:.3f}" if std is not None else "")


def _ceiling(result: dict, metric: str, value: float) -> str:
    got = result["mean"].get(metric)
    status = "not measured" if got is None else ("met" if got <= value else "NOT met")
    return f"Target: mean {metric} ≤ {value}: **{status}** ({'-' if got is None else f'{got:.3f}'})."


def report(result: dict) -> str:
    """The tables of ``metrics.json`` as Markdown."""
    system = ALL_PROTOCOLS[result["protocol"]].system
    headline, tasks = SCORED[system].headline, SCORED[system].tasks
    floor = []
    if result.get("target"):
        metric, target = result["target"]["metric"], result["target"]["value"]
        got = result["mean"].get(metric)
        status = "not measured" if got is None else ("met" if got >= target else "NOT met")
        floor = [f"Target: mean {metric} ≥ {target}: **{status}** ({'-' if got is None else f'{got:.3f}'})."]
    lines = [
        f"# gnnchi evaluation: {result['protocol']}",
        "",
        f"Split `{result['split']}`, folds {[f['fold'] for f in result['folds']]} of {NUM_FOLDS}; "
        f"gnnchi is an ensemble of {result['members']} model(s); {result['seconds']:.0f} s.",
        *floor,
        *(_ceiling(result, key, value) for key, value in ALL_PROTOCOLS[result["protocol"]].ceilings),
        "",
        BASELINE_NOTES[system],
        "",
        "| method | " + " | ".join(headline) + " | " + " | ".join(f"n_{t}" for t in tasks) + " |",
        "| --- |" + " --- |" * (len(headline) + len(tasks)),
    ]
    rows = {"gnnchi (ensemble)": result, **result["baselines"]}
    for name, summary in rows.items():
        counts = [sum(f.get(f"n_{t}", 0) for f in summary["folds"]) for t in tasks]
        cells = [_cell(summary, k) for k in headline] + [f"{n:.0f}" for n in counts]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    calibration = [
        k for k in sorted(result["mean"]) if "sigma" in k or k.startswith("spearman") or k == "brier_soluble"
    ]
    if calibration:
        lines += ["", "## Uncertainty (gnnchi ensemble)", "",
                  "`within_zsigma`: share of test points with |error| ≤ z·std (a Gaussian gives 0.683 and 0.954) "
                  "for the std gnnchi outputs, calibrated on each fold's validation rows (spread over members, "
                  "novelty of each molecule and the task's value term); `_spread`: the same for the raw spread over members; `_pooled`: "
                  "for the std calibrated on the other folds' test rows only (`calibration.json` holds the one "
                  "fitted on every fold's); `spearman_abs_error_std`: rank correlation of |error| with std.", "",
                  "| metric | mean ± std |", "| --- | --- |"]  # fmt: skip
        lines += [f"| {k} | {_cell(result, k)} |" for k in calibration]
    lines += [
        "",
        "## gnnchi per fold",
        "",
        "| fold | " + " | ".join(headline) + " |",
        "| --- |" + " --- |" * len(headline),
    ]
    for fold in result["folds"]:
        lines.append(
            f"| {fold['fold']} | " + " | ".join("-" if k not in fold else f"{fold[k]:.3f}" for k in headline) + " |"
        )
    return "\n".join(lines) + "\n"
