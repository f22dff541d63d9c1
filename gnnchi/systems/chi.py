"""The chi system: polymer + solvent + temperature -> Flory-Huggins chi (experimental and COSMO-RS)
and the solubility label, through the Hansen-like pair head (Aoki et al., Macromolecules 2023)."""

from __future__ import annotations

from gnnchi.systems.base import Condition, Molecule, System, Task

MISCIBILITY_THRESHOLD = 0.5  # the classical threshold: chi below it, polymer and solvent mix
ROOM_TEMPERATURE_K = 298.15  # rows that carry only a solubility label and no temperature
DEFAULT_TEMPERATURE_RANGE_K = (150.0, 700.0)
TEMPERATURE = Condition(
    "temperature_K",
    units={"temperature_K": lambda kelvin: kelvin, "temperature_C": lambda celsius: celsius + 273.15},
    default=ROOM_TEMPERATURE_K,
    valid_range=DEFAULT_TEMPERATURE_RANGE_K,
)
TEMPERATURE_COLUMNS = tuple(TEMPERATURE.units)


def _net(atom_dim: int, bond_dim: int, **arguments):
    from gnnchi.models.chinet import ChiNet

    return ChiNet(atom_dim, bond_dim, num_chi_tasks=len(CHI_TASKS), **arguments)


def _bundled_data():
    from gnnchi.datasets import bundled_pairs

    return bundled_pairs()


CHI = System(
    name="chi",
    description="Flory-Huggins chi(T) and solubility of a polymer (repeat unit) in a solvent",
    molecules=(
        Molecule("polymer", kind="polymer", encoder="polymer_encoder", description="repeat unit SMILES with two `*`"),
        Molecule("solvent", kind="solvent", encoder="solvent_encoder", description="solvent SMILES"),
    ),
    conditions=(TEMPERATURE,),
    tasks=(
        Task("soluble", "classification", "1 solvent, 0 non-solvent"),
        Task("chi_exp", "regression", "experimental chi", value_term="threshold", value_center=MISCIBILITY_THRESHOLD),
        Task("chi_cosmo", "regression", "COSMO-RS chi"),
    ),
    net=_net,
    net_arguments=(
        "latent_dim", "hidden_dim", "depth", "ffn_hidden_dim", "dropout", "shared_encoder", "temperature_order",
        "solubility_chi_slope", "descriptors",
    ),  # fmt: skip
    bundled_data=_bundled_data,
    data_folders=("hansen_hspipy", "mtl_chiparameter", "polysol"),
    splits={"paper": ("polymer", "solvent"), "pair": ("polymer", "solvent"), "polymer": ("polymer",),
            "solvent": ("solvent",)},  # fmt: skip
)

TASKS = CHI.task_names  # the model's output order: logit of soluble, then chi per chi task
CLASS_TASK = CHI.tasks_of_kind("classification")[0]
CHI_TASKS = CHI.tasks_of_kind("regression")
