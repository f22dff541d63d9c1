"""The baselines ``evaluate`` scores beside gnnchi on the same folds, by name.

Each takes a :class:`FoldContext` and returns predictions for the fold's test rows (chi: columns
``chi_exp`` and ``p_soluble``; co2_il: ``x_co2``; electrolyte: ``log10_conductivity_S_cm``). Each serves the systems it names; the ``default_on``
ones of the protocol's system run unless ``--baselines`` names others.
"""

from gnnchi.evaluation.baselines.base import Baseline, FoldContext
from gnnchi.evaluation.baselines.chemprop import chemprop
from gnnchi.evaluation.baselines.cosmo_rs import cosmo_rs
from gnnchi.evaluation.baselines.descriptor_mlp import descriptor_mlp
from gnnchi.evaluation.baselines.electrolyte_forest import electrolyte_random_forest
from gnnchi.evaluation.baselines.forest import random_forest
from gnnchi.evaluation.baselines.gnnchi_variants import single_model, single_task, two_task, without_temperature_physics
from gnnchi.evaluation.baselines.hansen import hansen
from gnnchi.evaluation.baselines.il_forest import il_random_forest
from gnnchi.evaluation.baselines.unifac import unifac

BASELINES = {
    b.name: b
    for b in (
        Baseline("gnnchi_single_model", "member 0 of gnnchi's ensemble alone", single_model,
                 systems=("chi", "co2_il", "electrolyte")),  # fmt: skip
        Baseline("single_task", "gnnchi trained on the protocol's task alone", single_task),
        Baseline("two_task", "gnnchi trained on the protocol's two-task ablation", two_task),
        Baseline("descriptor_mlp", "the paper's RDKit-descriptor MLPs in gnnchi's pair model", descriptor_mlp),
        Baseline("random_forest", "random forests on Morgan fingerprints of both molecules + 1/T", random_forest),
        Baseline("cosmo_rs", "COSMO-RS chi of the same pair and temperature", cosmo_rs),
        Baseline("hansen", "classical Hansen chi: bundled solvent HSP, polymer HSP fitted on non-test chi_exp rows",
                 hansen),  # fmt: skip
        Baseline("unifac", "UNIFAC's residual chi (ugropy groups, thermo parameters), a line fitted on non-test chi_exp rows",
                 unifac),  # fmt: skip
        Baseline("chemprop", "chemprop 2.3.1 in its own virtualenv (needs --chemprop_venv)", chemprop, default_on=False),
        Baseline(
            "il_random_forest",
            "a random forest (100 trees) on Morgan count fingerprints of the cation and the anion + 1000/T, log10 P, P",
            il_random_forest,
            systems=("co2_il",),
        ),
        Baseline(
            "electrolyte_random_forest",
            "a random forest (100 trees) on mole-fraction-weighted Morgan count fingerprints + 1000/T, log10 Mn",
            electrolyte_random_forest,
            systems=("electrolyte",),
        ),
        Baseline(
            "no_temperature_physics",
            "one gnnchi model whose readout takes 1/T as an input instead of the Arrhenius law (readout: free)",
            without_temperature_physics,
            systems=("electrolyte",),
        ),
    )
}


def default_baselines(system: str = "chi") -> tuple[str, ...]:
    """The baselines ``evaluate`` runs for ``system`` unless ``--baselines`` names others."""
    return tuple(name for name, b in BASELINES.items() if b.default_on and system in b.systems)


def baselines_of(system: str) -> tuple[str, ...]:
    """Every baseline that serves ``system``."""
    return tuple(name for name, b in BASELINES.items() if system in b.systems)


DEFAULT_BASELINES = default_baselines("chi")  # chi's (the CLI's help); co2_il's: default_baselines("co2_il")

__all__ = ["BASELINES", "DEFAULT_BASELINES", "Baseline", "FoldContext", "baselines_of", "default_baselines"]
