"""The pure pair model (export target) and the LightningModule that trains it."""

from gnnchi.models.chinet import ChiNet
from gnnchi.models.module import ChiModule

__all__ = ["ChiModule", "ChiNet"]
