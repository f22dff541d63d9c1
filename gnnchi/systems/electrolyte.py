"""The polymer-electrolyte system: a mixture of up to four components (polymers, salts, additives) with
their mole fractions, the polymer's Mn and a temperature -> log10 of the ionic conductivity (S/cm),
through a mixture encoder and a temperature readout with Arrhenius physics
(:class:`gnnchi.nn.conductivity.ConductivityHead`).

Unlike the pair systems, a row holds a set of molecules: ``component_1..n`` with ``fraction_1..n``
(:mod:`gnnchi.data.mixtures` reads them); its one molecule column names what every component is.
"""

from __future__ import annotations

from dataclasses import replace

from gnnchi.systems import chi
from gnnchi.systems.base import Condition, Molecule, System, Task

MAX_COMPONENTS = 4
TARGET = "log10_conductivity_S_cm"
# chi's temperature units; every record has one; the data's 202.5-463 K with a margin
TEMPERATURE = replace(chi.TEMPERATURE, default=None, valid_range=(180.0, 600.0))
MOLECULAR_WEIGHT = Condition(
    "mn_g_mol",
    units={"mn_g_mol": lambda grams_per_mol: grams_per_mol},
    default=None,  # missing where no polymer is in the mixture (or its Mn is unknown): the model has a flag for it
    valid_range=(1.0, 1e8),
)


def _net(atom_dim: int, bond_dim: int, **arguments):
    from gnnchi.models.electrolyte import ElectrolyteNet

    return ElectrolyteNet(atom_dim, bond_dim, **arguments)


def _bundled_data():
    from gnnchi.datasets.electrolytes import load_electrolytes

    return load_electrolytes()


ELECTROLYTE = System(
    name="electrolyte",
    description="log10 ionic conductivity (S/cm) of a polymer electrolyte (polymer + salt + additive mixture) at a temperature",
    molecules=(
        Molecule(
            "component", kind="component", encoder="component_encoder",
            description="component_1..n: SMILES of each polymer (repeat unit with two `*`), salt or additive",
        ),
    ),
    conditions=(TEMPERATURE, MOLECULAR_WEIGHT),
    tasks=(Task(TARGET, "regression", "log10 of the ionic conductivity in S/cm"),),
    net=_net,
    net_arguments=("hidden_dim", "depth", "ffn_hidden_dim", "dropout", "descriptors", "mixture_dim", "readout",
                   "mixture_pooling"),
    bundled_data=_bundled_data,
    data_folders=("polymer_electrolytes",),
    splits={
        "rows": (),  # leaky: a formulation recurs at other temperatures
        "component_set": ("component_set",),
        "polymer": ("polymers",),
        "salt": ("salts",),
    },
)
