"""Evaluation: protocols, metrics, cached fits, the baselines registry, the report, plots, MLflow,
and tuning. :func:`gnnchi.evaluation.run.evaluate` runs a protocol; :mod:`.tuning` searches settings."""
