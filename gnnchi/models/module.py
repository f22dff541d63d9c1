"""ChiModule: trains the chi system's pair model on its tasks with missing targets masked."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import lightning as L
import torch
from torch import Tensor, nn
from torchmetrics import CatMetric, MeanMetric, MetricCollection
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC
from torchmetrics.regression import MeanAbsoluteError, MeanSquaredError, R2Score

from gnnchi.data.datamodule import PairBatch
from gnnchi.errors import ModelFileError
from gnnchi.models.checkpoint import build_net, check_model_card, model_card, read_checkpoint
from gnnchi.nn import MaskedMultitaskLoss
from gnnchi.systems.chi import CHI, CHI_TASKS, CLASS_TASK, TASKS

STAGES = ("train", "val", "test")
METRIC_CLASSES = {
    "r2": R2Score,
    "mae": MeanAbsoluteError,
    "rmse": lambda: MeanSquaredError(squared=False),
    "auc": BinaryAUROC,
    "accuracy": BinaryAccuracy,
}


def _task_metrics(task: str) -> MetricCollection:
    """The metrics the system declares for ``task``."""
    return MetricCollection({name: METRIC_CLASSES[name]() for name in CHI.task(task).metrics})


class ChiModule(L.LightningModule):
    """Multitask training of ChiNet: BCE on ``soluble`` + MSE on each chi task, weighted.

    Args:
        latent_dim: k, the size of ``u`` and of ``r`` (HSP is k = 3).
        hidden_dim: message-passing width.
        depth: message-passing steps.
        ffn_hidden_dim: width of the readout MLP of each encoder.
        dropout: dropout in the encoders.
        shared_encoder: one encoder for polymers and solvents instead of two.
        temperature_order: 1 for chi = a + b/T, 2 to add c/T^2.
        solubility_chi_slope: how the solubility logit follows chi_exp away from the labels' room
            temperature (see :class:`gnnchi.nn.ChiHead`); 6.9 per unit of chi is the logistic slope
            of the PolySol labels on measured chi (82 pairs with both; 90% bootstrap interval 4.7-12.5;
            ``benchmarks/solubility_chi_slope.py``).
        descriptors: the encoders also read RDKit descriptors of each molecule beside the graph
            (:mod:`gnnchi.featurizers.descriptors`); leave-polymer-out R² 0.40 against 0.20 without
            (docs/evaluation).
        task_weights: loss weight of each task (soluble, chi_exp, chi_cosmo); missing keys weigh 1.
        lr: peak learning rate (AdamW), reached after ``warmup_fraction`` of the steps, then cosine decay.
        weight_decay: AdamW weight decay.
        warmup_fraction: share of the training steps spent warming up.
    """

    def __init__(
        self,
        latent_dim: int = 16,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        shared_encoder: bool = False,
        temperature_order: int = 1,
        solubility_chi_slope: float = 6.9,
        descriptors: bool = True,
        task_weights: dict[str, float] | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        warmup_fraction: float = 0.05,
    ):
        super().__init__()
        unknown = set(task_weights or {}) - set(TASKS)
        if unknown:
            raise ValueError(f"task_weights has unknown tasks {sorted(unknown)}; tasks are {list(TASKS)}")
        self.save_hyperparameters()
        self.task_weights = {task: float((task_weights or {}).get(task, 1.0)) for task in TASKS}
        self.net = build_net(CHI.name, **self.hparams)
        self.loss = MaskedMultitaskLoss([CHI.task(t).kind for t in TASKS], [self.task_weights[t] for t in TASKS])
        template = {task: _task_metrics(task) for task in TASKS}
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{task}": template[task].clone(prefix=f"{stage}/", postfix=f"_{task}")
                for stage in STAGES
                for task in TASKS
            }
        )
        self.losses = nn.ModuleDict(
            {f"{stage}_loss_{task}": MeanMetric() for stage in STAGES for task in TASKS}
        )
        self._metric_counts = {key: 0 for key in self.metrics}
        self.parity = nn.ModuleDict({f"{t}_{kind}": CatMetric() for t in CHI_TASKS for kind in ("pred", "target")})

    def forward(self, batch: PairBatch) -> Tensor:
        """[P, 3]: logit of soluble, chi_exp, chi_cosmo."""
        return self.net(*batch.inputs())

    def setup(self, stage: str) -> None:
        """Fit the temperature and chi scalers on the training rows (kept as buffers in the checkpoint)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if stage == "fit" and hasattr(datamodule, "train_statistics"):
            self.net.head.set_scalers(datamodule.train_statistics())

    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if hasattr(datamodule, "summary"):
            for logger in self.loggers:
                logger.log_metrics(datamodule.summary(), step=0)

    def _shared_step(self, batch: PairBatch, stage: str) -> Tensor:
        out = self(batch)  # [P, 3]
        targets = batch.targets  # [P, 3]
        total, terms = self.loss(out, targets, self.net.head.output_scale())
        for j, (loss, mask) in terms.items():
            task, count = TASKS[j], int(mask.sum())
            pred, target = out[mask, j].detach(), targets[mask, j]
            if task == CLASS_TASK:
                self.metrics[f"{stage}_{task}"].update(torch.sigmoid(pred), target.long())
            else:
                self.metrics[f"{stage}_{task}"].update(pred, target)
                if stage == "test":
                    self.parity[f"{task}_pred"].update(pred)
                    self.parity[f"{task}_target"].update(target)
            self._metric_counts[f"{stage}_{task}"] += count
            self.losses[f"{stage}_loss_{task}"].update(loss.detach(), weight=count)
        return total

    def _log_epoch_metrics(self, stage: str) -> None:
        """Epoch losses and metrics on the data of all ranks.

        Counts are summed over ranks first, so every rank computes (a collective under DDP) the
        same metrics even when its own shard lacks a task; torchmetrics gathers the states.
        """
        keys = [f"{stage}_{t}" for t in TASKS]
        local = torch.tensor([float(self._metric_counts[k]) for k in keys], device=self.device)
        counts = dict(zip(keys, self.trainer.strategy.reduce(local, reduce_op="sum").tolist()))
        values = {}
        total = torch.zeros((), device=self.device)
        for task in TASKS:
            if counts[f"{stage}_{task}"] >= 1:
                values[f"{stage}/loss_{task}"] = self.losses[f"{stage}_loss_{task}"].compute()
                total = total + self.task_weights[task] * values[f"{stage}/loss_{task}"]
            if counts[f"{stage}_{task}"] >= 2:
                values.update(self.metrics[f"{stage}_{task}"].compute())
        if any(counts.values()):  # every checked row has a target
            # the weighted sum of each task's epoch mean: independent of batching and of the number of ranks
            values[f"{stage}/loss"] = total
        # values are already global; sync_dist only averages equal numbers (and keeps Lightning quiet)
        shown = {k: v for k, v in values.items() if k in ("val/loss", "val/r2_chi_exp")}
        self.log_dict(shown, sync_dist=True, prog_bar=True)
        self.log_dict({k: v for k, v in values.items() if k not in shown}, sync_dist=True)
        for name in [k for k in self.metrics if k.startswith(f"{stage}_")]:
            self.metrics[name].reset()
        for name in [k for k in self.losses if k.startswith(f"{stage}_")]:
            self.losses[name].reset()
        if stage == "test":
            self._log_parity(counts)
        for key in keys:
            self._metric_counts[key] = 0

    def training_step(self, batch: PairBatch, batch_idx: int) -> Tensor:
        return self._shared_step(batch, "train")

    def validation_step(self, batch: PairBatch, batch_idx: int) -> None:
        self._shared_step(batch, "val")

    def test_step(self, batch: PairBatch, batch_idx: int) -> None:
        self._shared_step(batch, "test")

    def on_train_epoch_end(self) -> None:
        self._log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def _log_parity(self, counts: dict[str, float]) -> None:
        pairs = {}
        for task in CHI_TASKS:
            if counts[f"test_{task}"]:  # global count: every rank gathers, or none does
                pairs[task] = (self.parity[f"{task}_target"].compute(), self.parity[f"{task}_pred"].compute())
            self.parity[f"{task}_pred"].reset()
            self.parity[f"{task}_target"].reset()
        if pairs and self.trainer.is_global_zero:
            log_parity_plot(self.loggers, pairs)

    def predict_step(self, batch: PairBatch, batch_idx: int) -> dict[str, Tensor]:
        out = self(batch)
        return {"p_soluble": torch.sigmoid(out[:, 0]), **{task: out[:, j + 1] for j, task in enumerate(CHI_TASKS)}}

    def configure_optimizers(self):
        optimizer = torch.optim.AdamW(self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay)
        total = max(1, int(self.trainer.estimated_stepping_batches))
        warmup = max(1, int(self.hparams.warmup_fraction * total))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total - warmup))
            return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress))

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["gnnchi"] = model_card(CHI.name)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_model_card(checkpoint.get("gnnchi"), "checkpoint")


def log_parity_plot(loggers, pairs: dict[str, tuple[Tensor, Tensor]]) -> None:
    """Predicted against measured chi on the test set, one panel per chi task, as ``parity_test.png`` in MLflow."""
    from lightning.pytorch.loggers import MLFlowLogger
    from matplotlib.figure import Figure

    mlflow_loggers = [lg for lg in loggers if isinstance(lg, MLFlowLogger)]
    if not mlflow_loggers:
        return
    fig = Figure(figsize=(4.5 * len(pairs), 4.2))
    axes = fig.subplots(1, len(pairs), squeeze=False)
    for ax, (task, (target, pred)) in zip(axes[0], pairs.items()):
        target, pred = target.cpu().numpy(), pred.cpu().numpy()
        low, high = float(min(target.min(), pred.min())), float(max(target.max(), pred.max()))
        ax.plot([low, high], [low, high], color="grey", lw=1)
        ax.scatter(target, pred, s=8, alpha=0.6)
        ax.set(xlabel=f"measured {task}", ylabel=f"predicted {task}", title=f"test, n = {len(target)}")
    fig.tight_layout()
    for logger in mlflow_loggers:
        logger.experiment.log_figure(logger.run_id, fig, "parity_test.png")


def load_checkpoint(path: str | Path) -> ChiModule:
    """A trained ChiModule from a Lightning checkpoint, loaded without unpickling any object."""
    checkpoint = read_checkpoint(path)
    accepted = inspect.signature(ChiModule.__init__).parameters
    hparams = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if k in accepted}
    model = ChiModule(**hparams)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not fit the model its hyperparameters describe ({err})") from None
    return model.eval()
