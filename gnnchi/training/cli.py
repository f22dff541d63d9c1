"""Training command line: ``python -m gnnchi fit|validate|test --config configs/<name>.yaml`` (LightningCLI)."""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import seed_everything
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI, SaveConfigCallback
from lightning.pytorch.loggers import MLFlowLogger

from gnnchi.data import ChiDataModule
from gnnchi.errors import GnnChiError
from gnnchi.models import ChiModule
from gnnchi.models.ensemble import MANIFEST_NAME, write_manifest
from gnnchi.models.checkpoint import read_checkpoint
from gnnchi.settings import configure_process
from gnnchi.training import VERBS

TRAINER_DEFAULTS = {
    "logger": {"class_path": "gnnchi.training.tracking.GnnChiMLFlowLogger"},
    "plugins": [{"class_path": "gnnchi.training.checkpointing.AtomicCheckpointIO"}],
    "max_epochs": 100,
    "log_every_n_steps": 10,
}


class ConfigToRunCallback(SaveConfigCallback):
    """Write the resolved config beside the checkpoints and into the MLflow run."""

    def save_config(self, trainer, pl_module, stage: str) -> None:
        text = self.parser.dump(self.config, skip_none=False)
        checkpoint = trainer.checkpoint_callback
        if checkpoint is not None and checkpoint.dirpath:
            Path(checkpoint.dirpath).mkdir(parents=True, exist_ok=True)
            (Path(checkpoint.dirpath) / "config.yaml").write_text(text)
        for logger in trainer.loggers:
            if isinstance(logger, MLFlowLogger):
                logger.experiment.log_text(logger.run_id, text, "config.yaml")


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
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.set_defaults(
            {
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

    def _parse_ckpt_path(self) -> None:
        """Refuse a checkpoint that is not a readable gnnchi model before LightningCLI reads it."""
        subcommand = self.config.get("subcommand")
        path = self.config[subcommand].get("ckpt_path") if subcommand else None
        if path and path not in ("last", "best", "hpc", "registry"):
            read_checkpoint(path)
        super()._parse_ckpt_path()

    def _run_subcommand(self, subcommand: str) -> None:
        members = self.config[subcommand].get("ensemble_members", 1) if subcommand == "fit" else 1
        if members < 1:
            raise GnnChiError(f"ensemble_members must be at least 1, got {members}")
        if members == 1:
            return super()._run_subcommand(subcommand)
        self._fit_ensemble(members)

    def _fit_ensemble(self, members: int) -> None:
        """Train member i with seed ``seed_everything + i`` into ``<dirpath>/member_i``; same data split for all."""
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
            super()._run_subcommand("fit")
            datamodule = self.datamodule
            best.append(self.trainer.checkpoint_callback.best_model_path or self.trainer.checkpoint_callback.last_model_path)
        self.config.fit = base
        manifest = write_manifest(root / MANIFEST_NAME, best)
        print(f"ensemble of {members} models: {manifest}")

    def after_fit(self) -> None:
        if self.trainer.fast_dev_run or not len(self.datamodule.indices.get("test", [])):
            return
        best = self.trainer.checkpoint_callback.best_model_path if self.trainer.checkpoint_callback else ""
        self.trainer.test(self.model, datamodule=self.datamodule, ckpt_path=best or None, weights_only=True)


def run_lightning_cli(args: list[str] | None = None, run: bool = True, prog: str | None = None) -> GnnChiCLI:
    """fit / validate / test through LightningCLI; ``run=False`` only parses a config (no subcommand) and builds the classes.
    ``prog``: the program name shown in help and errors."""
    return GnnChiCLI(
        ChiModule,
        ChiDataModule,
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
