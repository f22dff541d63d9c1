"""DDP on CPU (gloo, 2 processes via ddp_spawn) against a single process: the same data seen,
and the same metrics (R2 and AUC on the gathered predictions) for the same weights."""

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from gnnchi.data import ChiDataModule
from gnnchi.models import ChiModule


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


def small_model():
    torch.manual_seed(0)
    return ChiModule(latent_dim=4, hidden_dim=32, depth=2, ffn_hidden_dim=32)


def trainer(folder, **kwargs):
    return L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[RecordRowsSeen(folder)],
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
    for name in ("val/r2_chi_exp", "val/mae_chi_exp", "val/rmse_chi_cosmo", "val/auc_soluble", "val/accuracy_soluble"):
        assert spawned[name] == pytest.approx(single[name], abs=1e-5), name


def test_ddp_training_sees_every_row_once_per_epoch(datamodule, tmp_path):
    trainer(tmp_path, devices=2, strategy="ddp_spawn", max_epochs=1, num_sanity_val_steps=0).fit(
        small_model(), datamodule=datamodule
    )
    train = datamodule.indices["train"]
    seen = np.concatenate([np.load(tmp_path / f"train_{rank}.npy") for rank in (0, 1)])
    assert set(seen.tolist()) == set(train.tolist())
    assert len(seen) - len(train) <= 1  # DistributedSampler pads to an even split, at most world_size - 1 rows


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


def run(model, dm, **kw):
    trainer = L.Trainer(accelerator="cpu", logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, **kw)
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
