"""The LightningModules: a system's pair model trained on its tasks with missing targets masked.

:class:`PairModule` holds what every system shares (masked multitask loss, metrics, logging under DDP,
optimiser, model card); :class:`ChiModule`, :class:`IonicLiquidModule` and :class:`ElectrolyteModule`
add their architecture arguments (the last also its mixture batches).
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Literal

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchmetrics import CatMetric, MeanMetric, MetricCollection
from torchmetrics.classification import BinaryAccuracy, BinaryAUROC
from torchmetrics.regression import MeanAbsoluteError, MeanSquaredError, R2Score

from gnnchi.data.auxiliary import HANSEN_TARGETS, MoleculeBatch, MoleculePairBatch
from gnnchi.data.datamodule import PairBatch
from gnnchi.data.mixtures import MixtureBatch
from gnnchi.errors import ModelFileError
from gnnchi.models.checkpoint import build_net, check_model_card, model_card, read_checkpoint
from gnnchi.nn import MaskedMultitaskLoss
from gnnchi.nn.heads import hansen_distance
from gnnchi.systems import CHI, CO2_IL, ELECTROLYTE, System
from gnnchi.systems.chi import CHI_TASKS

STAGES = ("train", "val", "test")
METRIC_CLASSES = {
    "r2": R2Score,
    "mae": MeanAbsoluteError,
    "rmse": lambda: MeanSquaredError(squared=False),
    "auc": BinaryAUROC,
    "accuracy": BinaryAccuracy,
}


def _task_metrics(system: System, task: str) -> MetricCollection:
    """The metrics the system declares for ``task``."""
    return MetricCollection({name: METRIC_CLASSES[name]() for name in system.task(task).metrics})


class PairModule(L.LightningModule):
    """Training of a system's pair model (``self.net``, built from the hyperparameters by the system):
    the weighted masked multitask loss, epoch metrics per task, a parity plot of each regression task
    on the test rows, AdamW with warmup and cosine decay, and the model card in every checkpoint.

    Subclasses set ``system`` and call :meth:`_build` from ``__init__`` after ``save_hyperparameters``.
    """

    system: System = CHI

    def _build(self, task_weights: dict[str, float] | None) -> None:
        tasks = self.system.task_names
        unknown = set(task_weights or {}) - set(tasks)
        if unknown:
            raise ValueError(f"task_weights has unknown tasks {sorted(unknown)}; tasks are {list(tasks)}")
        self.task_weights = {task: float((task_weights or {}).get(task, 1.0)) for task in tasks}
        self.net = build_net(self.system.name, **self.hparams)
        self.register_buffer("row_weights", None, persistent=False)  # [records, T] training-loss weights, or None
        self.loss = MaskedMultitaskLoss(
            [self.system.task(t).kind for t in tasks], [self.task_weights[t] for t in tasks], self.hparams.huber_delta
        )
        template = {task: _task_metrics(self.system, task) for task in tasks}
        self.metrics = nn.ModuleDict(
            {
                f"{stage}_{task}": template[task].clone(prefix=f"{stage}/", postfix=f"_{task}")
                for stage in STAGES
                for task in tasks
            }
        )
        self.losses = nn.ModuleDict({f"{stage}_loss_{task}": MeanMetric() for stage in STAGES for task in tasks})
        self._metric_counts = {key: 0 for key in self.metrics}
        regression = self.system.tasks_of_kind("regression")
        self.parity = nn.ModuleDict({f"{t}_{kind}": CatMetric() for t in regression for kind in ("pred", "target")})

    def forward(self, batch: PairBatch) -> Tensor:
        """[P, T]: the pair model's outputs (a logit for a label, the value for a regression task).
        Each distinct molecule of the batch is encoded once, then gathered for its pairs."""
        encodings = [
            getattr(self.net, f"encode_{molecule.kind}s")(*graph, int(index.max()) + 1)[index]
            for molecule, (graph, index) in zip(self.system.molecules, batch.molecules())
        ]
        return self.net.pair_head(*encodings, *batch.conditions)

    def setup(self, stage: str) -> None:
        """Fit the pair head's scalers on the training rows (kept as buffers in the checkpoint)."""
        datamodule = getattr(self.trainer, "datamodule", None)
        if stage == "fit" and hasattr(datamodule, "train_statistics"):
            self.net.head.set_scalers(datamodule.train_statistics())

    def on_fit_start(self) -> None:
        datamodule = getattr(self.trainer, "datamodule", None)
        if hasattr(datamodule, "summary"):
            for logger in self.loggers:
                logger.log_metrics(datamodule.summary(), step=0)

    def _shared_step(self, batch: PairBatch, stage: str) -> Tensor:
        out = self(batch)  # [P, T]
        targets = batch.targets  # [P, T]
        weights = self.row_weights[batch.rows] if stage == "train" and self.row_weights is not None else None
        total, terms = self.loss(out, targets, self.net.head.output_scale(), weights)
        tasks = self.system.task_names
        for j, (loss, mask) in terms.items():
            task, count = tasks[j], int(mask.sum())
            pred, target = out[mask, j].detach(), targets[mask, j]
            if self.system.task(task).kind == "classification":
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
        tasks = self.system.task_names
        keys = [f"{stage}_{t}" for t in tasks]
        local = torch.tensor([float(self._metric_counts[k]) for k in keys], device=self.device)
        counts = dict(zip(keys, self.trainer.strategy.reduce(local, reduce_op="sum").tolist()))
        values = {}
        total = torch.zeros((), device=self.device)
        for task in tasks:
            if counts[f"{stage}_{task}"] >= 1:
                values[f"{stage}/loss_{task}"] = self.losses[f"{stage}_loss_{task}"].compute()
                total = total + self.task_weights[task] * values[f"{stage}/loss_{task}"]
            if counts[f"{stage}_{task}"] >= 2:
                values.update(self.metrics[f"{stage}_{task}"].compute())
        if any(counts.values()):  # every checked row has a target
            # the weighted sum of each task's epoch mean: independent of batching and of the number of ranks
            values[f"{stage}/loss"] = total
        # values are already global; sync_dist only averages equal numbers (and keeps Lightning quiet)
        first = self.system.tasks_of_kind("regression")[:1]
        shown = {k: v for k, v in values.items() if k == "val/loss" or k in {f"val/r2_{t}" for t in first}}
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
        for task in self.system.tasks_of_kind("regression"):
            if counts[f"test_{task}"]:  # global count: every rank gathers, or none does
                pairs[task] = (self.parity[f"{task}_target"].compute(), self.parity[f"{task}_pred"].compute())
            self.parity[f"{task}_pred"].reset()
            self.parity[f"{task}_target"].reset()
        if pairs and self.trainer.is_global_zero:
            log_parity_plot(self.loggers, pairs)

    def predict_step(self, batch: PairBatch, batch_idx: int) -> dict[str, Tensor]:
        out = self(batch)
        return {
            task.prediction: torch.sigmoid(out[:, j]) if task.kind == "classification" else out[:, j]
            for j, task in enumerate(self.system.tasks)
        }

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
        checkpoint["gnnchi"] = model_card(self.system.name)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        check_model_card(checkpoint.get("gnnchi"), "checkpoint")


class ChiModule(PairModule):
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
        huber_delta: None: a regression task's loss is the squared error; else errors beyond this, in the
            task's own units, count linearly (:class:`gnnchi.nn.MaskedMultitaskLoss`).
        lr: peak learning rate (AdamW), reached after ``warmup_fraction`` of the steps, then cosine decay.
        weight_decay: AdamW weight decay.
        warmup_fraction: share of the training steps spent warming up.
        hansen_weight: weight of the auxiliary Hansen loss (0: none): ``u`` of a small molecule, through
            either encoder, is mapped to its standardised (dD, dP, dH); needs ``data.hansen_molecules: true``.
        hansen_map: how ``u`` maps to (dD, dP, dH): ``linear``, one learned linear map shared by both
            encoders; ``aligned``, the first three components of ``u`` are the standardised (dD, dP, dH)
            themselves, so z's first three components are Hansen's squared component distances and the
            pair head can weigh them as Hansen's distance does (needs ``latent_dim`` >= 3).
        idac_weight: weight of the auxiliary activity-coefficient loss (0: none): the polymer encoder
            takes the solute, the solvent encoder the solvent, and a linear map of their z gives the
            standardised ln gamma_inf = a + b t (t: standardised 1/T); needs ``data.idac_pairs_per_batch``.
            Both auxiliary maps are training aids: the exported model has no part of them.
        polymer_balance: in training, a chi task's row weighs n^-polymer_balance, n that task's training
            rows of the row's polymer (stereo twins together), normalised to mean 1 (0: every row alike;
            1: every polymer alike). Validation and test rows are never weighted.
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
        huber_delta: float | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        warmup_fraction: float = 0.05,
        hansen_weight: float = 0.0,
        hansen_map: Literal["linear", "aligned"] = "linear",
        idac_weight: float = 0.0,
        polymer_balance: float = 0.0,
    ):
        super().__init__()
        if polymer_balance < 0:
            raise ValueError(f"polymer_balance must be >= 0, got {polymer_balance}")
        if hansen_weight < 0 or idac_weight < 0:
            raise ValueError(f"hansen_weight and idac_weight must be >= 0, got {hansen_weight}, {idac_weight}")
        if hansen_map not in ("linear", "aligned") or (hansen_map == "aligned" and latent_dim < len(HANSEN_TARGETS)):
            raise ValueError(f"hansen_map must be 'linear' or 'aligned' (with latent_dim >= 3), got {hansen_map!r}")
        self.save_hyperparameters()
        self._build(task_weights)
        self.auxiliary_losses = nn.ModuleDict()  # name -> its epoch mean (train/loss_<name>)
        if hansen_weight:
            if hansen_map == "linear":
                self.hansen_head = nn.Linear(latent_dim, len(HANSEN_TARGETS))
            self.auxiliary_losses["hansen"] = MeanMetric()
        if idac_weight:
            self.idac_head = nn.Linear(latent_dim, 2)
            self.auxiliary_losses["idac"] = MeanMetric()

    def setup(self, stage: str) -> None:
        super().setup(stage)
        datamodule = getattr(self.trainer, "datamodule", None)
        data = getattr(datamodule, "hparams", {})
        for weight, given in (("hansen_weight", "hansen_molecules"), ("idac_weight", "idac_pairs_per_batch")):
            if stage == "fit" and bool(data.get(given, False)) != bool(self.hparams[weight]):
                raise ValueError(
                    f"model.{weight} is {self.hparams[weight]} but data.{given} is {data.get(given)}: "
                    "an auxiliary loss needs both (a weight > 0 and its data), or neither"
                )
        if stage == "fit" and self.hparams.polymer_balance:
            weights = datamodule.balanced_row_weights("polymer", self.hparams.polymer_balance, CHI_TASKS)
            self.register_buffer("row_weights", torch.as_tensor(weights, device=self.device), persistent=False)

    def training_step(self, batch: PairBatch | dict, batch_idx: int) -> Tensor:
        """A pair batch, or with auxiliary data a dict of ``pairs`` and ``hansen`` and/or ``idac`` batches."""
        if not isinstance(batch, dict):
            return super().training_step(batch, batch_idx)
        loss = self._shared_step(batch["pairs"], "train")
        if "hansen" in batch:
            loss = loss + self.hparams.hansen_weight * self._hansen_loss(batch["hansen"])
        if "idac" in batch:
            loss = loss + self.hparams.idac_weight * self._idac_loss(batch["idac"])
        return loss

    def _hansen_values(self, u: Tensor) -> Tensor:
        """``u`` [M, k] -> the predicted standardised (dD, dP, dH) [M, 3] (``hansen_map``)."""
        return self.hansen_head(u) if self.hparams.hansen_map == "linear" else u[:, : len(HANSEN_TARGETS)]

    def _hansen_loss(self, batch: MoleculeBatch) -> Tensor:
        """Mean squared error of ``u`` [M, k], through :meth:`_hansen_values`, against the standardised
        (dD, dP, dH) [M, 3], averaged over the two encoders (one when they are shared)."""
        k, num_molecules = self.hparams.latent_dim, batch.targets.shape[0]
        encoders = [self.net.encode_polymers]
        if not self.hparams.shared_encoder:
            encoders.append(self.net.encode_solvents)
        losses = [
            F.mse_loss(self._hansen_values(encode(*batch.graph, num_molecules)[:, :k]), batch.targets)
            for encode in encoders
        ]
        loss = torch.stack(losses).mean()
        self.auxiliary_losses["hansen"].update(loss.detach(), weight=num_molecules)
        return loss

    def _idac_loss(self, batch: MoleculePairBatch) -> Tensor:
        """Mean squared error of the standardised ln gamma_inf [P] = a + b t, (a, b) a linear map of z [P, k]
        of (solute through the polymer encoder, solvent through the solvent encoder)."""
        solutes = self.net.encode_polymers(*batch.solute_graph, int(batch.solute.max()) + 1)[batch.solute]
        solvents = self.net.encode_solvents(*batch.solvent_graph, int(batch.solvent.max()) + 1)[batch.solvent]
        k = self.hparams.latent_dim
        z = hansen_distance(solutes[:, :k], solutes[:, k:], solvents[:, :k], solvents[:, k:])  # [P, k]
        a, b = self.idac_head(z).unbind(dim=1)
        loss = F.mse_loss(a + b * batch.inverse_temperature, batch.targets)
        self.auxiliary_losses["idac"].update(loss.detach(), weight=batch.targets.shape[0])
        return loss

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()
        for name, epoch_loss in self.auxiliary_losses.items():
            self.log(f"train/loss_{name}", epoch_loss.compute(), sync_dist=True)
            epoch_loss.reset()


class IonicLiquidModule(PairModule):
    """Training of the ionic-liquid model (:class:`gnnchi.models.ionic_liquid.IonicLiquidNet`) on ``x_co2``.

    Args:
        hidden_dim: message-passing width.
        depth: message-passing steps.
        ffn_hidden_dim: width of the readout MLP of each ion encoder.
        dropout: dropout in the encoders.
        descriptors: the encoders also read RDKit descriptors of each ion beside the graph.
        interaction_rank: R, the rank of the cation x anion term of the isotherm coefficients
            (0: an ionic liquid's coefficients are the sum of its ions').
        langmuir_pressures_kPa: the pressures p_k of the saturating terms P / (P + p_k).
        temperature_order: 1 for van 't Hoff terms exp(a + b/T), 2 to add c/T^2 (an enthalpy of
            absorption that changes with T).
        fugacity: the pressure terms read the fugacity of pure CO2 at (T, P) (Peng-Robinson) in place
            of P: Henry's law in fugacity, and isotherms that flatten at high pressure.
        supercritical_density: one more pressure term, CO2's density read at max(T, 310 K): it rises
            steeply where compressed CO2 densifies, and is continuous in P at every T.
        shared_encoder: one encoder reads cations and anions (the formal charges tell them apart), so
            every ion in training, not only those of one sign, shapes it.
        task_weights: loss weight of each task (x_co2).
        huber_delta: None: a regression task's loss is the squared error; else errors beyond this, in the
            task's own units, count linearly (:class:`gnnchi.nn.MaskedMultitaskLoss`).
        lr: peak learning rate (AdamW), reached after ``warmup_fraction`` of the steps, then cosine decay.
        weight_decay: AdamW weight decay.
        warmup_fraction: share of the training steps spent warming up.
    """

    system = CO2_IL

    def __init__(
        self,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        descriptors: bool = True,
        interaction_rank: int = 4,
        langmuir_pressures_kPa: tuple[float, ...] = (100.0, 1000.0, 10000.0),
        temperature_order: int = 1,
        fugacity: bool = False,
        supercritical_density: bool = False,
        shared_encoder: bool = False,
        task_weights: dict[str, float] | None = None,
        huber_delta: float | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        warmup_fraction: float = 0.05,
    ):
        super().__init__()
        self.save_hyperparameters()
        self._build(task_weights)


class ElectrolyteModule(PairModule):
    """Training of the electrolyte model (:class:`gnnchi.models.electrolyte.ElectrolyteNet`) on
    ``log10_conductivity_S_cm`` from mixture batches (:class:`gnnchi.data.mixtures.MixtureBatch`).

    Args:
        hidden_dim: message-passing width.
        depth: message-passing steps.
        ffn_hidden_dim: width of the encoder's readout MLP and of the head's MLP.
        dropout: dropout in the encoder and the head.
        descriptors: the encoder also reads RDKit descriptors of each compound beside the graph.
        mixture_dim: M, the size of a compound's (and of the mixture's) encoding.
        readout: the temperature law, ``arrhenius``, ``vft`` (Vogel-Fulcher-Tammann) or ``free`` (no
            physics: the ablation), :class:`gnnchi.nn.conductivity.ConductivityHead`.
        mixture_pooling: how the components' encodings make the mixture's: ``fraction`` (weighted by
            mole fraction) or ``fraction_and_mean`` (that, beside their plain mean),
            :func:`gnnchi.models.electrolyte.mixture_encoding`.
        task_weights: loss weight of each task (log10_conductivity_S_cm).
        huber_delta: None: a regression task's loss is the squared error; else errors beyond this, in the
            task's own units, count linearly (:class:`gnnchi.nn.MaskedMultitaskLoss`).
        lr: peak learning rate (AdamW), reached after ``warmup_fraction`` of the steps, then cosine decay.
        weight_decay: AdamW weight decay.
        warmup_fraction: share of the training steps spent warming up.
    """

    system = ELECTROLYTE

    def __init__(
        self,
        hidden_dim: int = 256,
        depth: int = 4,
        ffn_hidden_dim: int = 256,
        dropout: float = 0.0,
        descriptors: bool = True,
        mixture_dim: int = 64,
        readout: str = "arrhenius",
        mixture_pooling: str = "fraction",
        task_weights: dict[str, float] | None = None,
        huber_delta: float | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        warmup_fraction: float = 0.05,
    ):
        super().__init__()
        self.save_hyperparameters()
        self._build(task_weights)

    def forward(self, batch: MixtureBatch) -> Tensor:
        """[P, 1]: log10 conductivity; each distinct compound of the batch is encoded once."""
        encoded = self.net.encode_components(*batch.graph, batch.num_compounds)  # [G, M]
        return self.net.mixture_head(encoded[batch.components], batch.fractions, *batch.conditions)


MODULES: dict[str, type[PairModule]] = {CHI.name: ChiModule, CO2_IL.name: IonicLiquidModule,
                                        ELECTROLYTE.name: ElectrolyteModule}  # fmt: skip


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


def load_checkpoint(path: str | Path) -> PairModule:
    """A trained module (:class:`ChiModule`, :class:`IonicLiquidModule`) from a Lightning checkpoint,
    loaded without unpickling any object."""
    checkpoint = read_checkpoint(path)
    module = MODULES[checkpoint["gnnchi"].get("system", CHI.name)]
    accepted = inspect.signature(module.__init__).parameters
    hparams = {k: v for k, v in checkpoint.get("hyper_parameters", {}).items() if k in accepted}
    model = module(**hparams)
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as err:
        raise ModelFileError(f"{path}: weights do not fit the model its hyperparameters describe ({err})") from None
    return model.eval()
