"""The pure pair model (export target) and the LightningModule that trains it."""

from gnnchi.models.chinet import ChiNet
from gnnchi.models.module import ChiModule, load_checkpoint

__all__ = ["ChiModule", "ChiNet", "load_checkpoint"]
