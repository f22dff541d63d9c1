"""Chemical systems gnnchi models, each declared once (see :mod:`gnnchi.systems.base`)."""

from gnnchi.systems.base import Condition, Molecule, System, Task
from gnnchi.systems.chi import CHI

SYSTEMS = {CHI.name: CHI}
DEFAULT_SYSTEM = CHI.name


def get_system(name: str = DEFAULT_SYSTEM) -> System:
    """The declared system called ``name``."""
    try:
        return SYSTEMS[name]
    except KeyError:
        raise KeyError(f"unknown system {name!r}; gnnchi knows {sorted(SYSTEMS)}") from None


__all__ = ["CHI", "DEFAULT_SYSTEM", "SYSTEMS", "Condition", "Molecule", "System", "Task", "get_system"]
