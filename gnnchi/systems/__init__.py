"""Chemical systems gnnchi models, each declared once (see :mod:`gnnchi.systems.base`)."""

from gnnchi.systems.base import Condition, Molecule, System, Task
from gnnchi.systems.chi import CHI
from gnnchi.systems.co2_il import CO2_IL
from gnnchi.systems.electrolyte import ELECTROLYTE

SYSTEMS = {system.name: system for system in (CHI, CO2_IL, ELECTROLYTE)}
# the systems with a model shipped in gnnchi/release (predict and screen work without a checkpoint)
SHIPPED = {system.name: system for system in (CHI, CO2_IL, ELECTROLYTE)}
DEFAULT_SYSTEM = CHI.name
# bundled data folders no shipped model is trained on: no shipped card reads them (folder -> why)
DATA_WITHOUT_SYSTEM = {
    "idac_brouwer": "chi's optional activity-coefficient loss (model.idac_weight), off in the default recipe",
}


def get_system(name: str = DEFAULT_SYSTEM) -> System:
    """The declared system called ``name``."""
    try:
        return SYSTEMS[name]
    except KeyError:
        raise KeyError(f"unknown system {name!r}; gnnchi knows {sorted(SYSTEMS)}") from None


__all__ = ["CHI", "CO2_IL", "DATA_WITHOUT_SYSTEM", "DEFAULT_SYSTEM", "ELECTROLYTE", "SHIPPED", "SYSTEMS", "Condition", "Molecule", "System", "Task", "get_system"]
