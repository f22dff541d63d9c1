"""The evaluation protocols of each system: which grouped split, which task is the headline, which target
is asked for, and what ``evaluate`` scores and writes for the system."""

from __future__ import annotations

from dataclasses import dataclass

from gnnchi.systems import CHI, CO2_IL, ELECTROLYTE, SYSTEMS, get_system
from gnnchi.systems.chi import CLASS_TASK

NUM_FOLDS = 5


@dataclass(frozen=True)
class Protocol:
    system: str  # the system whose data the protocol splits (a config's ``data`` module must be of it)
    split: str
    task: str  # the task the protocol is about (its headline metric)
    target: tuple[str, float] | None  # headline metric and the value the issue asks for (None: no floor)
    two_task: tuple[str, ...] = ()  # the tasks of the two-task ablation (chi)
    ceilings: tuple[tuple[str, float], ...] = ()  # further targets: metric and the value it must not exceed


@dataclass(frozen=True)
class Scored:
    """What ``evaluate`` scores for a system: its regression tasks (r2, mae, rmse, and the calibration of
    gnnchi's std) and classification tasks (auc, accuracy, brier), by task name."""

    regression: tuple[str, ...]
    classification: tuple[str, ...] = ()

    @property
    def tasks(self) -> tuple[str, ...]:
        return (*self.regression, *self.classification)

    @property
    def headline(self) -> tuple[str, ...]:
        """The report's columns: each task's declared metrics (``r2_chi_exp``, ..., ``auc_soluble``, ...)."""
        return tuple(f"{metric}_{task}" for task in self.tasks for metric in get_system_task(task).metrics)


def get_system_task(name: str):
    """The declared task called ``name`` (task names are unique across systems)."""
    for system in SYSTEMS.values():
        if name in system.task_names:
            return system.task(name)
    raise KeyError(f"no system has a task {name!r}")


CHI_PROTOCOLS = {  # the targets of issue 12 (AUC 0.90: the paper's 0.93 came from PoLyInfo labels that are not public)
    "seed-folds": Protocol(CHI.name, "paper", "chi_exp", ("r2_chi_exp", 0.85), ("chi_exp", "chi_cosmo")),
    "leave-polymer-out": Protocol(CHI.name, "polymer", "chi_exp", ("r2_chi_exp", 0.60), ("chi_exp", "chi_cosmo")),
    "leave-solvent-out": Protocol(CHI.name, "solvent", "chi_exp", ("r2_chi_exp", 0.80), ("chi_exp", "chi_cosmo")),
    "solubility": Protocol(CHI.name, "polymer", CLASS_TASK, ("auc_soluble", 0.90), (CLASS_TASK, "chi_exp")),
}
CO2_IL_PROTOCOLS = {  # the targets of issue 14
    "random-rows": Protocol(CO2_IL.name, "rows", "x_co2", ("r2_x_co2", 0.99), ceilings=(("mae_x_co2", 0.012),)),
    "leave-ionic-liquid-out": Protocol(CO2_IL.name, "ionic_liquid", "x_co2", ("r2_x_co2", 0.95)),
    "leave-cation-out": Protocol(CO2_IL.name, "cation", "x_co2", ("r2_x_co2", 0.93)),
    "leave-anion-out": Protocol(CO2_IL.name, "anion", "x_co2", ("r2_x_co2", 0.88)),
}
CONDUCTIVITY = ELECTROLYTE.task_names[0]
ELECTROLYTE_PROTOCOLS = {  # the targets of issue 15: MAE ceilings; on unseen polymers and salts, lead the forest
    "electrolyte-random-rows": Protocol(ELECTROLYTE.name, "rows", CONDUCTIVITY, None,
                                        ceilings=((f"mae_{CONDUCTIVITY}", 0.20),)),  # fmt: skip
    "unseen-component-sets": Protocol(ELECTROLYTE.name, "component_set", CONDUCTIVITY, None,
                                      ceilings=((f"mae_{CONDUCTIVITY}", 0.45),)),  # fmt: skip
    "electrolyte-leave-polymer-out": Protocol(ELECTROLYTE.name, "polymer", CONDUCTIVITY, None),
    "leave-salt-out": Protocol(ELECTROLYTE.name, "salt", CONDUCTIVITY, None),
}
PROTOCOLS = CHI_PROTOCOLS  # chi's protocols (those ``tune`` and benchmarks/evaluate_parallel.py run)
ALL_PROTOCOLS = {**CHI_PROTOCOLS, **CO2_IL_PROTOCOLS, **ELECTROLYTE_PROTOCOLS}  # those ``evaluate`` runs; names unique across systems
SYSTEM_PROTOCOLS = {CHI.name: CHI_PROTOCOLS, CO2_IL.name: CO2_IL_PROTOCOLS, ELECTROLYTE.name: ELECTROLYTE_PROTOCOLS}
SCORED = {CHI.name: Scored(("chi_exp",), (CLASS_TASK,)), CO2_IL.name: Scored(("x_co2",)),
          ELECTROLYTE.name: Scored((CONDUCTIVITY,))}  # fmt: skip


def protocol_system(protocol: str):
    """The :class:`~gnnchi.systems.System` a protocol (by name) belongs to."""
    return get_system(ALL_PROTOCOLS[protocol].system)


def protocols_help() -> str:
    """The protocols of each system, for ``--protocol``'s help."""
    return "; ".join(f"{system}: {', '.join(names)}" for system, names in SYSTEM_PROTOCOLS.items())
