"""DDP on CPU (gloo, 2 processes via ddp_spawn) against a single process: the same data seen,
and the same losses and metrics (R2 and AUC on the gathered predictions) for the same weights, in
the train, validation and test stages.

ddp_spawn on CPU leaves torchmetrics states in memory shared by the ranks (see
``tests.callbacks.UnshareMetricStates``), which would make an unsynced metric look synced: every
Trainer here gives each rank its own states."""

import copy
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from gnnchi.data import ChiDataModule
from gnnchi.models import ChiModule
from tests.callbacks import UnshareMetricStates


class RecordRowsSeen(L.Callback):
    """Write the table rows each rank sees per stage to ``folder/{stage}_{rank}.npy``."""

    def __init__(self, folder: str):
        self.folder, self.seen = Path(folder), {"train": [], "val": []}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen["train"].append(batch.rows.numpy())

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        self.seen["val"].append(batch.rows.numpy())

    def on_validation_epoch_end(self, trainer, pl_module):
        self._dump(trainer, "val")

    def on_train_epoch_end(self, trainer, pl_module):
        self._dump(trainer, "train")

    def _dump(self, trainer, stage):
        rows = np.concatenate(self.seen[stage]) if self.seen[stage] else np.zeros(0, int)
        np.save(self.folder / f"{stage}_{trainer.global_rank}.npy", rows)
        self.seen[stage] = []


def small_model(**kwargs):
    torch.manual_seed(0)
    return ChiModule(latent_dim=4, hidden_dim=32, depth=2, ffn_hidden_dim=32, **kwargs)


def with_rows(datamodule, **parts):
    """A shallow copy of ``datamodule`` whose parts (train/val/test) are the given table rows."""
    dm = copy.copy(datamodule)
    dm.indices = {**datamodule.indices, **{part: np.asarray(rows) for part, rows in parts.items()}}
    return dm


def assert_same_metrics(spawned: dict, single: dict, prefix: str) -> None:
    """Every ``prefix`` metric of one process logged under DDP too, equal within 1e-5 (float32 sums in
    another order: rounding of about 1e-7 relative on values of order 1)."""
    expected = {k: float(v) for k, v in single.items() if k.startswith(prefix)}
    got = {k: float(v) for k, v in spawned.items() if k.startswith(prefix)}
    assert len(expected) > 5 and set(got) == set(expected), sorted(set(got) ^ set(expected))
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-5, abs=1e-5), name


def trainer(folder, **kwargs):
    return L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[RecordRowsSeen(folder), UnshareMetricStates()],  # else ddp_spawn's ranks share metric states
        **kwargs,
    )


@pytest.fixture(scope="module")
def datamodule():
    dm = ChiDataModule(batch_size=64)
    dm.setup("fit")  # loaded once here; the spawned ranks receive it ready
    return dm


def test_ddp_validation_metrics_equal_single_process(datamodule, tmp_path):
    model = small_model()
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = trainer(tmp_path / "one", devices=1).validate(model, datamodule=datamodule)[0]
    spawned = trainer(tmp_path / "two", devices=2, strategy="ddp_spawn").validate(model, datamodule=datamodule)[0]
    # each validation row seen exactly once over the two ranks, none padded
    val = datamodule.indices["val"]
    seen = [np.load(tmp_path / "two" / f"val_{rank}.npy") for rank in (0, 1)]
    assert len(seen[0]) > 0 and len(seen[1]) > 0
    assert sorted(np.concatenate(seen).tolist()) == sorted(val.tolist())
    assert_same_metrics(spawned, single, "val/")


@pytest.mark.slow  # the metric sync the validation equality test checks, on the test stage: about 20 s
def test_ddp_test_metrics_equal_single_process(datamodule, tmp_path):
    """The test stage, on rows laid out so that the ranks' shards differ (the sampler deals rows in turn:
    rank 0 gets the even positions): mostly chi_exp on rank 0, mostly soluble on rank 1, and one of the
    two chi_cosmo rows on each (its R2 needs the global count of 2). Averaging per-rank values, or
    deciding on local counts, shows here."""
    table = datamodule.records.table
    test = datamodule.indices["test"]
    has = {task: test[table.iloc[test][task].notna().to_numpy()] for task in ("soluble", "chi_exp", "chi_cosmo")}
    soluble, chi_exp = has["soluble"], has["chi_exp"]
    rank0 = [*chi_exp[:40], *soluble[:8]]
    rank1 = [*soluble[8:48], *chi_exp[40:48]]
    rows = [*has["chi_cosmo"][:2], *(row for pair in zip(rank0, rank1) for row in pair)]
    dm = with_rows(datamodule, test=rows)
    model = small_model()
    single = trainer(tmp_path, devices=1).test(model, datamodule=dm)[0]
    spawned = trainer(tmp_path, devices=2, strategy="ddp_spawn").test(model, datamodule=dm)[0]
    assert "test/r2_chi_cosmo" in single
    assert_same_metrics(spawned, single, "test/")


def test_ddp_training_epoch_sees_every_row_once_and_logs_single_process_values(datamodule, tmp_path):
    """One training epoch under DDP and in one process, from the same weights, which lr = 0 keeps fixed
    (AdamW's step is lr times something finite; dropout is 0): the epoch's losses and metrics do not
    depend on the order of the rows then, so the train-stage values must agree. An even number of rows,
    so DistributedSampler pads none: each row once."""
    train = np.random.default_rng(0).choice(datamodule.indices["train"], 1000, replace=False)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    runs = {}
    for name, kwargs in (("one", {"devices": 1}), ("two", {"devices": 2, "strategy": "ddp_spawn"})):
        dm = with_rows(datamodule, train=train)  # a fresh copy: ddp_spawn pickles it, and a fitted trainer won't
        model = small_model(lr=0.0)
        weights = copy.deepcopy(model.state_dict())
        fit = trainer(tmp_path / name, max_epochs=1, num_sanity_val_steps=0, limit_val_batches=0, **kwargs)
        fit.fit(model, datamodule=dm)
        for key, value in model.net.state_dict().items():  # DDP: rank 0's weights, sent back
            if "_mean" not in key and "_std" not in key:  # the scalers are set from the training rows
                assert torch.equal(value, weights[f"net.{key}"]), f"{name}: {key} changed with lr = 0"
        runs[name] = fit.callback_metrics
    seen = np.concatenate([np.load(tmp_path / "two" / f"train_{rank}.npy") for rank in (0, 1)])
    assert len(np.load(tmp_path / "two" / "train_0.npy")) == len(seen) // 2
    assert sorted(seen.tolist()) == sorted(train.tolist())  # every row exactly once
    assert {"train/loss", "train/loss_chi_cosmo", "train/r2_chi_exp", "train/auc_soluble"} <= set(runs["one"])
    assert_same_metrics(runs["two"], runs["one"], "train/")


class RecordAuxiliaryRowsSeen(L.Callback):
    """Write the Hansen molecules and activity pairs each rank trained on in its epoch to ``folder``."""

    def __init__(self, folder: str):
        self.folder, self.seen = Path(folder), {"hansen": [], "idac": []}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        for name in self.seen:
            self.seen[name].append(batch[name].rows.numpy())

    def on_train_epoch_end(self, trainer, pl_module):
        for name, rows in self.seen.items():
            np.save(self.folder / f"{name}_{trainer.global_rank}.npy", np.concatenate(rows))


@pytest.mark.slow  # about 40 s; the training-epoch test checks every row once across ranks
def test_ddp_ranks_share_the_auxiliary_data_of_an_epoch(datamodule, tmp_path):
    """Hansen molecules and activity pairs are split between the ranks like the pairs: together the
    ranks see each Hansen molecule once per epoch (one twice where DDP pads an odd count), and as
    many activity pairs as asked, none twice."""
    train = datamodule.indices["train"][:256]  # 4 pair batches: 2 per rank
    dm = ChiDataModule(batch_size=64, hansen_molecules=True, idac_pairs_per_batch=16)
    dm.records, dm.indices = datamodule.records, {**datamodule.indices, "train": train}  # setup keeps them
    spawned = L.Trainer(accelerator="cpu", devices=2, strategy="ddp_spawn", max_epochs=1, logger=False,
                        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                        limit_val_batches=0, callbacks=[RecordAuxiliaryRowsSeen(tmp_path), UnshareMetricStates()])
    spawned.fit(small_model(hansen_weight=1.0, idac_weight=1.0), datamodule=dm)
    hansen = [np.load(tmp_path / f"hansen_{rank}.npy") for rank in (0, 1)]
    assert len(hansen[0]) and len(hansen[1])
    seen, rows = np.concatenate(hansen), dm.hansen_rows()
    assert set(seen.tolist()) == set(rows.tolist()) and len(seen) == 2 * -(-len(rows) // 2)  # DDP pads one rank
    idac = np.concatenate([np.load(tmp_path / f"idac_{rank}.npy") for rank in (0, 1)])
    assert len(idac) == 4 * 16 and len(set(idac.tolist())) == len(idac)
    assert set(idac.tolist()) <= set(dm.idac_rows().tolist())


def test_cli_fit_with_strategy_ddp_on_two_cpu_processes(tmp_path):
    """The real ``strategy: ddp`` path (Lightning relaunches the command per rank), in a subprocess."""
    import subprocess
    import sys

    from mlflow import MlflowClient

    config = str(Path(__file__).parents[2] / "configs" / "quick.yaml")
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-m", "gnnchi", "fit", "--config", config, "--trainer.accelerator", "cpu",
         "--trainer.strategy", "ddp", "--trainer.devices", "2"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Starting with 2 processes" in done.stderr
    assert (tmp_path / "checkpoints" / "quick" / "best.ckpt").is_file()
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("gnnchi-quick").experiment_id])
    assert len(runs) == 1  # rank 0 alone tracks
    assert "test/r2_chi_exp" in runs[0].data.metrics and runs[0].data.metrics["data/rows_test_chi_exp"] == 238


SPARSE_SCRIPT = r"""
import json
import numpy as np, torch
import lightning as L
from gnnchi.data import ChiDataModule
from gnnchi.models import ChiModule
from tests.callbacks import UnshareMetricStates


def run(model, dm, **kw):
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[UnshareMetricStates()], **kw)
    return {k: float(v) for k, v in trainer.validate(model, datamodule=dm)[0].items()}


if __name__ == "__main__":  # ddp_spawn re-imports this file in each rank
    dm = ChiDataModule(batch_size=2)
    dm.setup("fit")
    table = dm.records.table
    cosmo = np.flatnonzero(table["chi_cosmo"].notna())[:1]
    others = np.flatnonzero(table["chi_cosmo"].isna())[:7]
    dm.indices["val"] = np.concatenate([cosmo, others])  # one chi_cosmo row: only rank 0 sees it
    torch.manual_seed(0)
    model = ChiModule(latent_dim=4, hidden_dim=32, depth=2, ffn_hidden_dim=32)
    print(json.dumps({"one": run(model, dm, devices=1), "two": run(model, dm, devices=2, strategy="ddp_spawn")}))
"""


def test_ddp_does_not_hang_when_a_rank_lacks_a_task(tmp_path):
    """Regression: ranks made mismatched collective calls when a task was absent from one shard."""
    import json
    import os
    import subprocess
    import sys

    script = tmp_path / "sparse.py"
    script.write_text(SPARSE_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=240, start_new_session=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert "val/loss_chi_cosmo" in result["two"]
    for name, value in result["one"].items():
        assert result["two"][name] == pytest.approx(value, abs=1e-5), name


@pytest.mark.slow  # the module code chi's DDP tests check, for another system: about 25 s each
def test_ddp_validation_metrics_equal_single_process_for_ionic_liquids(tmp_path):
    """The co2_il system through the same module code: x_co2's loss, R2 and MAE under ddp_spawn equal
    one process's, each validation row seen once."""
    from gnnchi.data import IonicLiquidDataModule
    from gnnchi.models import IonicLiquidModule

    dm = IonicLiquidDataModule(batch_size=64)
    dm.setup("fit")
    dm = with_rows(dm, val=dm.indices["val"][:600])
    torch.manual_seed(0)
    model = IonicLiquidModule(hidden_dim=16, depth=2, ffn_hidden_dim=16, descriptors=False, interaction_rank=2)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = trainer(tmp_path / "one", devices=1).validate(model, datamodule=dm)[0]
    spawned = trainer(tmp_path / "two", devices=2, strategy="ddp_spawn").validate(model, datamodule=dm)[0]
    seen = [np.load(tmp_path / "two" / f"val_{rank}.npy") for rank in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 300
    assert sorted(np.concatenate(seen).tolist()) == sorted(dm.indices["val"].tolist())
    assert {"val/loss", "val/r2_x_co2", "val/mae_x_co2"} <= set(single)
    expected = {k: float(v) for k, v in single.items() if k.startswith("val/")}
    for name, value in expected.items():
        assert float(spawned[name]) == pytest.approx(value, rel=1e-5, abs=1e-6), name


@pytest.mark.slow  # the module code chi's DDP tests check, for another system: about 25 s each
def test_ddp_validation_metrics_equal_single_process_for_electrolytes(tmp_path):
    """The electrolyte system's mixture batches through the same module code: the loss, R2 and MAE of
    log10 conductivity under ddp_spawn equal one process's, each validation record seen once."""
    from gnnchi.data import ElectrolyteDataModule
    from gnnchi.models import ElectrolyteModule

    dm = ElectrolyteDataModule(batch_size=64)
    dm.setup("fit")
    dm = with_rows(dm, val=dm.indices["val"][:400])
    torch.manual_seed(0)
    model = ElectrolyteModule(hidden_dim=16, depth=2, ffn_hidden_dim=16, descriptors=False, mixture_dim=8)
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    single = trainer(tmp_path / "one", devices=1).validate(model, datamodule=dm)[0]
    spawned = trainer(tmp_path / "two", devices=2, strategy="ddp_spawn").validate(model, datamodule=dm)[0]
    seen = [np.load(tmp_path / "two" / f"val_{rank}.npy") for rank in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 200
    assert sorted(np.concatenate(seen).tolist()) == sorted(dm.indices["val"].tolist())
    task = "log10_conductivity_S_cm"
    assert {"val/loss", f"val/r2_{task}", f"val/mae_{task}"} <= set(single)
    for name, value in {k: float(v) for k, v in single.items() if k.startswith("val/")}.items():
        assert float(spawned[name]) == pytest.approx(value, rel=1e-5, abs=1e-6), name
