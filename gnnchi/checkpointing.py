"""The config name of the atomic checkpoint IO (``class_path: gnnchi.checkpointing.AtomicCheckpointIO``),
as written by every ``config.yaml`` saved by a fit; it lives in :mod:`gnnchi.training.checkpointing`."""

from gnnchi.training.checkpointing import AtomicCheckpointIO

__all__ = ["AtomicCheckpointIO"]
