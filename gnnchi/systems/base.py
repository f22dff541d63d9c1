"""What a chemical system is: its molecules, conditions, tasks, pair model and data, declared once.

A system (polymer + solvent -> chi, cation + anion -> x_CO2, ...) is a :class:`System` value;
the readers, the data module, the loss and metrics, export and the predictor read it instead of
naming columns or tasks themselves. This module imports neither torch nor RDKit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

TaskKind = Literal["regression", "classification"]
ValueTerm = Literal["none", "relative", "centred", "threshold"]  # Task.value_term
METRICS: dict[TaskKind, tuple[str, ...]] = {"regression": ("r2", "mae", "rmse"), "classification": ("auc", "accuracy")}


@dataclass(frozen=True)
class Task:
    """A target column: a regression (loss on the value scaled by the head's std) or a 0/1 label.

    ``value_term``: how the calibrated std may grow with the predicted value (the ``d * (prediction -
    center)`` term of :mod:`gnnchi.inference.calibration`): ``"relative"`` (center 0) for a quantity whose
    errors scale with it (x_CO2, 0 at zero pressure); ``"centred"`` (center fitted) for one whose errors
    grow away from a typical value; ``"threshold"`` (center ``value_center``, fixed) for one whose errors
    grow away from a value that means something (chi_exp: 0.5, the classical miscibility threshold;
    chosen on two leave-polymer-out runs' validation rows, docs/evaluation); ``"none"``: no such term."""

    name: str
    kind: TaskKind
    description: str = ""
    value_term: ValueTerm = "none"
    value_center: float = 0.0  # the center of a "threshold" value term

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metric names logged as ``{stage}/{metric}_{task}``."""
        return METRICS[self.kind]

    @property
    def prediction(self) -> str:
        """The output column of predict: the value itself, or ``p_<name>`` for a label."""
        return self.name if self.kind == "regression" else f"p_{self.name}"


@dataclass(frozen=True)
class Molecule:
    """One molecule column of the input table and the encoder that reads it.

    ``kind`` is what the RDKit gate checks (``polymer``: a repeat unit with two `*`, periodic
    graph; ``solvent``: a small molecule). ``encoder``: the name of the encoder that reads it.
    """

    column: str
    kind: str
    encoder: str
    description: str = ""


@dataclass(frozen=True)
class Condition:
    """A numeric condition column (temperature, pressure): accepted unit columns with their
    conversion to the canonical one, the default where a row may omit it, and a plausible range."""

    name: str
    units: dict[str, Callable[[Any], Any]]
    default: float | None
    valid_range: tuple[float, float]


@dataclass(frozen=True)
class System:
    """A chemical system, declared once.

    molecules: the molecule columns, in the pair model's input order.
    conditions: the numeric condition columns (canonical names).
    tasks: the targets, in the model's output order.
    net: builds the pure pair model (``torch.nn.Module``) from the architecture arguments.
    net_arguments: the model hyperparameters that ``net`` takes (the others are training settings).
    bundled_data: returns the bundled data as one table in the system's columns.
    data_folders: the folders of ``gnnchi/datasets`` holding the system's bundled data (its shipped
        model's card fingerprints their files).
    splits: split name -> the columns whose canonical keys group rows (``paper`` also uses ``fold``).
    """

    name: str
    description: str
    molecules: tuple[Molecule, ...]
    conditions: tuple[Condition, ...]
    tasks: tuple[Task, ...]
    net: Callable[..., Any]
    net_arguments: tuple[str, ...]
    bundled_data: Callable[[], Any]
    data_folders: tuple[str, ...]
    splits: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    def tasks_of_kind(self, kind: TaskKind) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks if t.kind == kind)

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"system {self.name!r} has no task {name!r}; its tasks are {list(self.task_names)}")

    @property
    def molecule_columns(self) -> tuple[str, ...]:
        return tuple(m.column for m in self.molecules)
