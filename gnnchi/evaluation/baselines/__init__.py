"""The baselines ``evaluate`` scores beside gnnchi on the same folds, by name.

Each takes a :class:`FoldContext` and returns predictions for the fold's test rows (columns
``chi_exp`` and ``p_soluble``). ``default_on`` ones run unless ``--baselines`` names others.
"""

from gnnchi.evaluation.baselines.base import Baseline, FoldContext
from gnnchi.evaluation.baselines.chemprop import chemprop
from gnnchi.evaluation.baselines.cosmo_rs import cosmo_rs
from gnnchi.evaluation.baselines.descriptor_mlp import descriptor_mlp
from gnnchi.evaluation.baselines.forest import random_forest
from gnnchi.evaluation.baselines.gnnchi_variants import single_model, single_task, two_task
from gnnchi.evaluation.baselines.hansen import hansen

BASELINES = {
    b.name: b
    for b in (
        Baseline("gnnchi_single_model", "member 0 of gnnchi's ensemble alone", single_model),
        Baseline("single_task", "gnnchi trained on the protocol's task alone", single_task),
        Baseline("two_task", "gnnchi trained on the protocol's two-task ablation", two_task),
        Baseline("descriptor_mlp", "the paper's RDKit-descriptor MLPs in gnnchi's pair model", descriptor_mlp),
        Baseline("random_forest", "random forests on Morgan fingerprints of both molecules + 1/T", random_forest),
        Baseline("cosmo_rs", "COSMO-RS chi of the same pair and temperature", cosmo_rs),
        Baseline("hansen", "classical Hansen chi: bundled solvent HSP, polymer HSP fitted on non-test chi_exp rows",
                 hansen),  # fmt: skip
        Baseline("chemprop", "chemprop 2.3.1 in its own virtualenv (needs --chemprop_venv)", chemprop, default_on=False),
    )
}
DEFAULT_BASELINES = tuple(name for name, b in BASELINES.items() if b.default_on)

__all__ = ["BASELINES", "DEFAULT_BASELINES", "Baseline", "FoldContext"]
