"""The config name of the MLflow logger (``class_path: gnnchi.tracking.GnnChiMLFlowLogger``), as
written by configs and every ``config.yaml`` saved by a fit; it lives in :mod:`gnnchi.training.tracking`."""

from gnnchi.training.tracking import GnnChiMLFlowLogger

__all__ = ["GnnChiMLFlowLogger"]
