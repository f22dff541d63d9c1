"""Training command line: ``python -m gnnchi fit|validate|test --config configs/<name>.yaml`` (LightningCLI)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from lightning.pytorch import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.trainer.states import TrainerStatus

from gnnchi.data.datamodule import PairDataModule
from gnnchi.errors import GnnChiError
from gnnchi.models.checkpoint import read_checkpoint
from gnnchi.models.ensemble import MANIFEST_NAME, write_manifest
from gnnchi.models.module import PairModule
from gnnchi.settings import configure_process, configure_tracking
from gnnchi.training import VERBS
from gnnchi.training.checkpointing import LastEveryEpochCheckpoint, ensure_writable
from gnnchi.training.tracking import EXPERIMENT_KIND_TAG, GnnChiMLFlowLogger

TRAINER_DEFAULTS = {
    "logger": {"class_path": "gnnchi.training.tracking.GnnChiMLFlowLogger"},
    "plugins": [{"class_path": "gnnchi.training.checkpointing.AtomicCheckpointIO"}],
    "max_epochs": 100,
    "log_every_n_steps": 10,
}


class ConfigToRunCallback(SaveConfigCallback):
    """Write the resolved config of a fit beside the checkpoints and into the MLflow run, once the fit
    starts: after ModelCheckpoint's own setup, whose "directory exists and is not empty" warning then
    means real leftovers of an earlier run, not this config."""

    def setup(self, trainer, pl_module, stage: str) -> None:
        """Nothing yet (see :meth:`on_fit_start`); validate and test write no config."""

    def on_fit_start(self, trainer, pl_module) -> None:
        super().setup(trainer, pl_module, "fit")

    def save_config(self, trainer, pl_module, stage: str) -> None:
        text = self.parser.dump(self.config, skip_none=False)
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and checkpoint.dirpath:
            Path(checkpoint.dirpath).mkdir(parents=True, exist_ok=True)
            (Path(checkpoint.dirpath) / "config.yaml").write_text(text)
        for logger in trainer.loggers:
            if isinstance(logger, MLFlowLogger):
                logger.experiment.log_text(logger.run_id, text, "config.yaml")
                logger.experiment.set_experiment_tag(logger.experiment_id, *EXPERIMENT_KIND_TAG)


class GnnChiCLI(LightningCLI):
    """LightningCLI with a ``checkpoint`` section (best and last), a test of the best model after
    ``fit``, and ensembles: ``ensemble_members: n`` makes ``fit`` train n models."""

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """fit, validate and test; Lightning's ``predict`` is gnnchi's own verb."""
        return {name: kwargs for name, kwargs in LightningCLI.subcommands().items() if name in VERBS}

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        parser.add_argument(
            "--torch_threads",
            type=int,
            default=1,
            help="intra-op CPU threads; molecule graphs are small, and 1 thread measured 3x faster than 2 here",
        )
        parser.add_argument(
            "--ensemble_members",
            type=int,
            default=1,
            help="fit trains this many models on the same split (seeds seed_everything + i, folders "
            "<checkpoint.dirpath>/member_i) and writes <checkpoint.dirpath>/ensemble.json",
        )
        parser.add_argument(
            "--notice",
            type=str | None,
            default=None,
            help="a line fit prints when it starts and in its summary (quick.yaml: that it is a smoke test)",
        )
        parser.add_lightning_class_args(LastEveryEpochCheckpoint, "checkpoint")
        parser.set_defaults(
            {
                "model": {"class_path": "gnnchi.models.ChiModule"},  # a config without class_path is the chi system's
                "data": {"class_path": "gnnchi.data.ChiDataModule"},
                "checkpoint.dirpath": "checkpoints",
                "checkpoint.filename": "best",
                "checkpoint.monitor": "val/loss",
                "checkpoint.save_last": True,
                "checkpoint.enable_version_counter": False,
            }
        )

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        configure_process(config.torch_threads)
        if self.subcommand:
            configure_tracking()

    def _parse_ckpt_path(self) -> None:
        """Refuse a checkpoint that is not a readable gnnchi model before LightningCLI reads it."""
        subcommand = self.config.get("subcommand")
        path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if path and path not in ("last", "best", "hpc", "registry"):
            read_checkpoint(path)
        super()._parse_ckpt_path()

    def _run_subcommand(self, subcommand: str) -> None:
        config = self.config[subcommand]
        if subcommand != "fit" and not config.get("ckpt_path"):
            raise GnnChiError(f"{subcommand} needs --ckpt_path FILE (a checkpoint written by fit); "
                              "without one it would score an untrained model")  # fmt: skip
        members = config.get("ensemble_members", 1) if subcommand == "fit" else 1
        if members < 1:
            raise GnnChiError(f"ensemble_members must be at least 1, got {members}")
        for logger in self.trainer.loggers:  # a server that cannot be reached stops the run now, not after the data
            if isinstance(logger, GnnChiMLFlowLogger):
                logger.check_server()
        if subcommand == "fit" and config.get("notice"):
            print(f"gnnchi: {config.notice}", flush=True)
        if subcommand == "fit":
            ensure_writable(config.checkpoint.dirpath or "checkpoints")
        self.fitted: list[FitRecord] = []
        try:
            if members == 1:
                super()._run_subcommand(subcommand)
            else:
                self._fit_ensemble(members)
        except SystemExit:  # Lightning's answer to Ctrl-C
            if subcommand == "fit" and self.trainer.state.status == TrainerStatus.INTERRUPTED:
                print(interrupted_note(self.trainer.checkpoint_callback), file=sys.stderr, flush=True)
            raise
        if subcommand == "fit" and self.trainer.is_global_zero and not self.trainer.fast_dev_run:
            lines = [self._calibrate(members)]
            print(fit_summary(self.fitted, config.get("notice"), lines), flush=True)

    def _calibrate(self, members: int) -> str:
        """Fit the model's uncertainty on the validation rows and write it into its file; one line saying so."""
        from gnnchi.training.calibrate import calibrate_fitted_model, describe

        model_file = Path(self.manifest) if members > 1 else Path(self.fitted[0].best) if self.fitted[0].best else None
        if model_file is None or not model_file.is_file():
            return "uncertainty: no model file to calibrate"
        if not self.datamodule.indices:  # under ddp_spawn the ranks set the data up, not this process
            self.datamodule.setup("fit")
        return describe(calibrate_fitted_model(model_file, self.datamodule))

    def _fit_ensemble(self, members: int) -> None:
        """Train member i with seed ``seed_everything + i`` into ``<dirpath>/member_i``; the same folds and
        validation rows for all, and the same training rows unless ``data.bagging_fraction`` draws each its own."""
        base = self.config.fit
        if base.get("ckpt_path"):
            raise GnnChiError("resume an ensemble member by member: set ensemble_members: 1 and its checkpoint.dirpath")
        root = Path(base.checkpoint.dirpath or "checkpoints")
        seed = int(base.seed_everything) if base.seed_everything is not False else 0
        datamodule, best = None, []
        for i in range(members):
            member = base.clone()
            member.seed_everything = seed + i
            member.checkpoint.dirpath = str(root / f"member_{i}")
            logger = member.trainer.get("logger")
            if hasattr(logger, "init_args") and "run_name" in logger.init_args:
                logger.init_args.run_name = f"{logger.init_args.run_name or 'gnnchi'}-member{i}"
            self.config.fit = member
            seed_everything(seed + i, workers=True)
            self.instantiate_classes()
            if datamodule is not None:  # featurize and split the data once
                self.datamodule = datamodule
            self.datamodule.use_member(i)  # its share of the training groups (data.bagging_fraction)
            super()._run_subcommand("fit")
            datamodule = self.datamodule
            best.append(self.trainer.checkpoint_callback.best_model_path or self.trainer.checkpoint_callback.last_model_path)
        self.datamodule.use_member(None)  # calibration's domain: every training row
        self.config.fit = base
        self.manifest = write_manifest(root / MANIFEST_NAME, best)

    def after_fit(self) -> None:
        if self.trainer.fast_dev_run:
            return
        checkpoint = self.trainer.checkpoint_callback
        best = (checkpoint.best_model_path or checkpoint.last_model_path) if checkpoint else ""
        metrics = {}
        if len(self.datamodule.indices.get("test", [])):
            self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None, weights_only=True,
                              verbose=False)  # fmt: skip
            metrics = {k: float(v) for k, v in self.trainer.callback_metrics.items() if k.startswith("test/")}
        logger = self.trainer.logger
        run, note = None, ""
        if isinstance(logger, GnnChiMLFlowLogger):
            run, note = (logger.experiment_id, logger.run_id, logger.resolved_tracking_uri), logger.tracking_note
        config_file = Path(checkpoint.dirpath) / "config.yaml" if checkpoint else None
        self.fitted.append(FitRecord(best, config_file, run, metrics, note))


class FitRecord(NamedTuple):
    """What one fitted model left: its best checkpoint, config, MLflow run (experiment, run id, URI), test
    metrics, and what happened to the tracking server if anything did."""

    best: str
    config: Path | None
    run: tuple[str, str, str] | None
    test_metrics: dict[str, float]
    tracking_note: str = ""


def interrupted_note(checkpoint: ModelCheckpoint | None) -> str:
    """The line a fit stopped by Ctrl-C ends with: how to resume it, if it can be."""
    name = checkpoint.CHECKPOINT_NAME_LAST + checkpoint.FILE_EXTENSION if checkpoint else ""
    last = Path(checkpoint.dirpath) / name if checkpoint else None
    if last is None or not last.is_file():
        return "gnnchi: fit interrupted before its first checkpoint; nothing to resume"
    return f"gnnchi: fit interrupted; {last} holds its last finished epoch: add --ckpt_path last to resume"


SUMMARY_METRICS = ("r2_chi_exp", "mae_chi_exp", "auc_soluble", "accuracy_soluble", "r2_chi_cosmo", "r2_x_co2", "mae_x_co2",
                   "r2_log10_conductivity_S_cm", "mae_log10_conductivity_S_cm")  # fmt: skip


def fit_summary(fitted: list[FitRecord], notice: str | None = None, notes: list[str] = ()) -> str:
    """A few lines: where the model and its config went, the MLflow run and how to look at it, the test
    metrics, and ``notes`` (the fitted uncertainty)."""
    lines = ["", f"gnnchi fit: {len(fitted)} model(s)" + (f" ({notice})" if notice else "")]
    for i, record in enumerate(fitted):
        prefix = f"  member {i}: " if len(fitted) > 1 else "  "
        lines.append(f"{prefix}best checkpoint {record.best}")
        if record.config is not None:
            lines.append(f"{' ' * len(prefix)}config {record.config}")
        if record.run is not None:
            lines.append(f"{' ' * len(prefix)}MLflow experiment {record.run[0]}, run {record.run[1]}")
        if record.tracking_note:
            lines.append(f"{' ' * len(prefix)}{record.tracking_note}")
        if record.test_metrics:
            shown = [f"{m} {record.test_metrics[f'test/{m}']:.3f}" for m in SUMMARY_METRICS if f"test/{m}" in record.test_metrics]
            lines.append(f"{' ' * len(prefix)}test: " + ", ".join(shown))
        elif i == 0:
            lines.append(f"{' ' * len(prefix)}no test rows (data.test_fold: null)")
    if len(fitted) > 1 and fitted[0].best:
        lines.append(f"  ensemble manifest: {Path(fitted[0].best).parents[1] / MANIFEST_NAME}")
    lines.extend(f"  {note}" for note in notes)
    runs = [r.run for r in fitted if r.run is not None]
    if runs:
        uri = runs[0][2]
        if uri.startswith("sqlite:"):
            lines.append(f"  see the runs: MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --backend-store-uri {uri} "
                         "--workers 1   (then open http://127.0.0.1:5000)")  # fmt: skip
        else:
            lines.append(f"  see the runs: open {uri}")
    return "\n".join(lines)


DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "chi_mtl.yaml"  # in a source checkout


def with_default_config(args: list[str]) -> list[str]:
    """``fit`` / ``validate`` / ``test`` without ``--config`` run on the default config (configs/chi_mtl.yaml)."""
    given = any(a in ("--config", "-c") or a.startswith("--config=") for a in args)
    if args and args[0] in VERBS and not given and "--help" not in args and "-h" not in args and DEFAULT_CONFIG.is_file():
        return [args[0], "--config", str(DEFAULT_CONFIG), *args[1:]]
    return args


def run_lightning_cli(args: list[str] | None = None, run: bool = True, prog: str | None = None) -> GnnChiCLI:
    """fit / validate / test through LightningCLI; ``run=False`` only parses a config (no subcommand) and builds the classes.
    ``prog``: the program name shown in help and errors."""
    if run:
        args = with_default_config(list(sys.argv[1:] if args is None else args))
    return GnnChiCLI(
        PairModule,
        PairDataModule,
        subclass_mode_model=True,
        subclass_mode_data=True,
        args=args,
        trainer_defaults=TRAINER_DEFAULTS,
        save_config_callback=ConfigToRunCallback,
        save_config_kwargs={"save_to_log_dir": False},
        auto_configure_optimizers=False,
        parser_kwargs=_parser_kwargs(run, prog),
        run=run,
    )


def _parser_kwargs(run: bool, prog: str | None) -> dict:
    """The program name, and each verb's purpose as the first line of its help."""
    kwargs = {"prog": prog} if prog else {}
    if run:
        kwargs.update({verb: {"description": f"{purpose[0].upper()}{purpose[1:]}."} for verb, purpose in VERBS.items()})
    return kwargs
