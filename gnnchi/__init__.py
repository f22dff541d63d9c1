"""gnnchi: Flory-Huggins chi(T) and solubility of polymer-solvent pairs from molecular graphs."""

__version__ = "0.1.0"
