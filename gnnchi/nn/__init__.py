"""Neural network parts; they see tensors only, never RDKit."""

from gnnchi.nn.encoders import BondMessagePassingEncoder, mean_pool
from gnnchi.nn.heads import ChiHead

__all__ = ["BondMessagePassingEncoder", "ChiHead", "mean_pool"]
