"""The command line in-process: ``main([...])`` on the quick config, as a user runs it."""

from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from gnnchi.cli import main
from gnnchi.errors import ModelFileError
from gnnchi.models import load_checkpoint

CONFIG = str(Path(__file__).parents[2] / "configs" / "quick.yaml")


@pytest.fixture(scope="module")
def quick_fit(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("quick")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        cli = main(["fit", "--config", CONFIG])
    return workdir, cli


def test_fit_writes_best_and_last_checkpoints_and_config(quick_fit):
    workdir, _ = quick_fit
    folder = workdir / "checkpoints" / "quick"
    assert (folder / "best.ckpt").is_file() and (folder / "last.ckpt").is_file()
    assert "latent_dim: 4" in (folder / "config.yaml").read_text()


def test_checkpoint_loads_without_unpickling_objects(quick_fit):
    workdir, _ = quick_fit
    checkpoint = torch.load(workdir / "checkpoints" / "quick" / "best.ckpt", weights_only=True)
    assert checkpoint["gnnchi"]["tasks"] == ["soluble", "chi_exp", "chi_cosmo"]
    model = load_checkpoint(workdir / "checkpoints" / "quick" / "best.ckpt")
    assert model.net.head.inv_t_std.item() != 4e-4  # the scalers fitted on training data were saved
    assert model.net.head.inv_t_std.item() == pytest.approx(checkpoint["state_dict"]["net.head.inv_t_std"].item())


def test_a_broken_or_foreign_checkpoint_gives_a_clear_error(quick_fit, tmp_path):
    workdir, _ = quick_fit
    good = (workdir / "checkpoints" / "quick" / "best.ckpt").read_bytes()
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(good[: len(good) // 2])
    foreign = tmp_path / "foreign.ckpt"
    torch.save({"state_dict": {}, "hyper_parameters": {}}, foreign)
    with pytest.raises(ModelFileError, match="not a readable gnnchi checkpoint"):
        load_checkpoint(truncated)
    with pytest.raises(ModelFileError, match="not a gnnchi model"):
        load_checkpoint(foreign)


def test_fit_tests_the_best_checkpoint_and_logs_the_run_to_mlflow(quick_fit):
    workdir, cli = quick_fit
    assert "test/r2_chi_exp" in cli.trainer.callback_metrics
    client = MlflowClient(f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("gnnchi-quick")
    (run,) = client.search_runs([experiment.experiment_id])
    for name in ("test/r2_chi_exp", "test/mae_chi_exp", "test/auc_soluble", "val/loss"):
        assert name in run.data.metrics
    assert len(client.get_metric_history(run.info.run_id, "val/loss")) == 2  # one per epoch
    assert run.data.params["latent_dim"] == "4" and run.data.params["split"] == "paper"
    assert run.data.metrics["data/rows_test_chi_exp"] == 238  # the paper's fold 0
    assert run.data.metrics["data/skipped_rows"] == 0
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"config.yaml", "best", "last"} <= artifacts
    assert str(workdir / "mlartifacts") in run.info.artifact_uri


def test_print_config_and_overrides(capsys):
    with pytest.raises(SystemExit):
        main(["fit", "--config", CONFIG, "--model.depth", "5", "--data.split", "solvent", "--print_config"])
    out = capsys.readouterr().out
    assert "depth: 5" in out and "split: solvent" in out and "dirpath: checkpoints/quick" in out


def test_test_subcommand_on_a_checkpoint(quick_fit, tmp_path, monkeypatch):
    workdir, _ = quick_fit
    monkeypatch.chdir(tmp_path)
    cli = main(["test", "--config", CONFIG, "--trainer.logger", "false",
                "--ckpt_path", str(workdir / "checkpoints" / "quick" / "best.ckpt")])
    assert "test/auc_soluble" in cli.trainer.callback_metrics


class _RunsCode:
    """Pickles as a call of os.mkdir(marker): loading it with pickle would create the folder."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.mkdir, (self.marker,)


def test_tampered_checkpoint_is_refused_without_running_its_code(quick_fit, tmp_path, capsys):
    workdir, _ = quick_fit
    checkpoint = torch.load(workdir / "checkpoints" / "quick" / "best.ckpt", weights_only=True)
    marker = tmp_path / "code_ran"
    checkpoint["callbacks"] = {"payload": _RunsCode(marker)}
    tampered = tmp_path / "tampered.ckpt"
    torch.save(checkpoint, tampered)
    with pytest.raises(ModelFileError, match="not a readable gnnchi checkpoint"):
        load_checkpoint(tampered)
    with pytest.raises(SystemExit) as exit_info:
        main(["test", "--config", CONFIG, "--trainer.logger", "false", "--ckpt_path", str(tampered)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "gnnchi: error:" in err and "Traceback" not in err
    assert not marker.exists()


def test_checkpoint_with_other_feature_sizes_is_refused(quick_fit, tmp_path):
    workdir, _ = quick_fit
    checkpoint = torch.load(workdir / "checkpoints" / "quick" / "best.ckpt", weights_only=True)
    checkpoint["gnnchi"]["atom_dim"] = 99
    other = tmp_path / "other.ckpt"
    torch.save(checkpoint, other)
    with pytest.raises(ModelFileError, match="atom_dim 99"):
        load_checkpoint(other)
