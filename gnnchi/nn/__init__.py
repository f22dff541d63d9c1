"""Neural network parts; they see tensors only, never RDKit."""

from gnnchi.nn.encoders import BondMessagePassingEncoder, mean_pool
from gnnchi.nn.heads import ChiHead
from gnnchi.nn.loss import MaskedMultitaskLoss

__all__ = ["BondMessagePassingEncoder", "ChiHead", "MaskedMultitaskLoss", "mean_pool"]
