"""Training: LightningCLI (:mod:`gnnchi.training.cli`), MLflow tracking and atomic checkpoints.

Importing this package does not import Lightning; its modules do.
"""

VERBS = {
    "fit": "train a model (or an ensemble) on the bundled data or your CSV, then test its best checkpoint",
    "validate": "score a checkpoint (--ckpt_path) on the validation rows of the config's split",
    "test": "score a checkpoint (--ckpt_path) on the test rows of the config's split",
}
