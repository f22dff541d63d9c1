"""The CO2-in-ionic-liquid system: cation + anion + temperature + pressure -> the mole fraction of CO2
absorbed (x_co2), through an absorption-isotherm head (:class:`gnnchi.nn.isotherm.IsothermHead`)."""

from __future__ import annotations

from dataclasses import replace

from gnnchi.systems import chi
from gnnchi.systems.base import Condition, Molecule, System, Task

# chi's temperature and units; no default (every measurement has one) and the liquids' plausible range
TEMPERATURE = replace(chi.TEMPERATURE, default=None, valid_range=(200.0, 600.0))
PRESSURE = Condition(
    "pressure_kPa",
    units={
        "pressure_kPa": lambda kpa: kpa,
        "pressure_bar": lambda bar: bar * 100.0,
        "pressure_MPa": lambda mpa: mpa * 1000.0,
    },
    default=None,
    valid_range=(1e-6, 2e5),  # 1 mPa to 200 MPa
)


def _net(atom_dim: int, bond_dim: int, **arguments):
    from gnnchi.models.ionic_liquid import IonicLiquidNet

    return IonicLiquidNet(atom_dim, bond_dim, **arguments)


def _bundled_data():
    from gnnchi.datasets.co2_il import load_co2_il

    return load_co2_il()


CO2_IL = System(
    name="co2_il",
    description="mole fraction of CO2 absorbed by an ionic liquid (cation + anion) at a temperature and pressure",
    molecules=(
        Molecule("cation", kind="cation", encoder="cation_encoder", description="cation SMILES (net charge > 0)"),
        Molecule("anion", kind="anion", encoder="anion_encoder", description="anion SMILES (net charge < 0)"),
    ),
    conditions=(TEMPERATURE, PRESSURE),
    tasks=(Task("x_co2", "regression", "mole fraction of CO2 in the liquid", value_term="relative"),),
    net=_net,
    net_arguments=(
        "hidden_dim",
        "depth",
        "ffn_hidden_dim",
        "dropout",
        "descriptors",
        "interaction_rank",
        "langmuir_pressures_kPa",
        "temperature_order",
        "fugacity",
        "supercritical_density",
        "shared_encoder",
    ),
    bundled_data=_bundled_data,
    data_folders=("co2_ionic_liquids",),
    splits={"rows": (), "ionic_liquid": ("cation", "anion"), "cation": ("cation",), "anion": ("anion",)},
)
