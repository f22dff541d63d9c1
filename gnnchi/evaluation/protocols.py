"""The evaluation protocols: which grouped split, which task is the headline, which target is asked for."""

from __future__ import annotations

from dataclasses import dataclass

from gnnchi.systems.chi import CLASS_TASK

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
