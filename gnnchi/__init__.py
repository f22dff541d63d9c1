"""gnnchi: Flory-Huggins chi(T) and solubility of polymer-solvent pairs from molecular graphs.

``from gnnchi import Predictor`` loads the predictor on first use (importing gnnchi stays light).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "Predictor":
        from gnnchi.inference.predictor import Predictor

        return Predictor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Predictor", "__version__"]
