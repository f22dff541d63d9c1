"""The contracts defined once: the system declaration, the ONNX metadata schema, the masked loss,
the command line's verbs, light imports, and configs saved by earlier versions."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gnnchi.errors import ModelFileError
from gnnchi.inference import onnx_format
from gnnchi.inference.screening import HeadParameters
from gnnchi.nn import ChiHead, MaskedMultitaskLoss
from gnnchi.systems import CHI, get_system

ROOT = Path(__file__).parents[2]


def test_the_chi_system_declares_the_models_outputs_and_the_tables_columns():
    assert get_system("chi") is CHI
    assert CHI.task_names == ("soluble", "chi_exp", "chi_cosmo")  # logit first, then chi per task
    assert [t.metrics for t in CHI.tasks] == [("auc", "accuracy"), ("r2", "mae", "rmse"), ("r2", "mae", "rmse")]
    assert CHI.molecule_columns == ("polymer", "solvent") and CHI.conditions[0].units["temperature_C"](25.0) == 298.15
    from gnnchi.models import build_net

    net = build_net("chi", latent_dim=3, hidden_dim=8, ffn_hidden_dim=8, depth=2, lr=0.1)  # lr is not the net's
    assert net.head.linear.out_features == 1 + 2 * 2  # logit + (g0, g1) per chi task
    with pytest.raises(KeyError, match="unknown system"):
        get_system("nope")


def test_onnx_head_metadata_round_trip_reproduces_the_torch_heads():
    torch.manual_seed(0)
    heads = [ChiHead(3, 2, order) for order in (1, 2)]
    heads[1].set_scalers({"inv_t_mean": 0.003, "inv_t_std": 5e-4, "chi_mean": [0.4, 0.6], "chi_std": [0.3, 0.2]})
    written = onnx_format.part_metadata(
        "pair_head", [HeadParameters.from_torch(h) for h in heads], 3, ["soluble", "chi_exp", "chi_cosmo"], ["a"]
    )
    read = onnx_format.heads_from_metadata(json.loads(json.dumps(written)))  # through plain text, as in a file
    for head, got in zip(heads, read):
        np.testing.assert_array_equal(got.weight, head.linear.weight.detach().numpy())
        np.testing.assert_array_equal(got.bias, head.linear.bias.detach().numpy())
        np.testing.assert_array_equal(got.chi_std, head.chi_std.numpy())
        assert got.order == head.order and got.inv_t_std == pytest.approx(head.inv_t_std.item(), rel=1e-7)
    assert read[1].inv_t_mean == pytest.approx(0.003, rel=1e-6)
    onnx_format.check_part_metadata(written, "pair_head", Path("x.onnx"))
    for key, value, message in ((onnx_format.FORMAT, "1", "export format 1"), (onnx_format.PART, "x", "not a gnnchi")):
        with pytest.raises(ModelFileError, match=message):
            onnx_format.check_part_metadata({**written, key: value}, "pair_head", Path("x.onnx"))


def test_masked_multitask_loss_equals_a_hand_computation():
    out = torch.tensor([[2.0, 0.5, 1.0], [-1.0, 0.1, 0.3], [0.5, 0.9, -0.2]])
    targets = torch.tensor([[1.0, 0.4, float("nan")], [float("nan"), 0.3, float("nan")], [0.0, float("nan"), 0.0]])
    scale = torch.tensor([1.0, 0.5, 2.0])
    total, terms = MaskedMultitaskLoss(["classification", "regression", "regression"], [1.0, 2.0, 0.5])(out, targets, scale)
    bce = lambda x, y: -(y * np.log(1 / (1 + np.exp(-x))) + (1 - y) * np.log(1 - 1 / (1 + np.exp(-x))))
    soluble = (bce(2.0, 1.0) + bce(0.5, 0.0)) / 2
    chi_exp = (((0.5 - 0.4) / 0.5) ** 2 + ((0.1 - 0.3) / 0.5) ** 2) / 2
    chi_cosmo = ((-0.2 - 0.0) / 2.0) ** 2
    assert total.item() == pytest.approx(soluble + 2.0 * chi_exp + 0.5 * chi_cosmo, rel=1e-6)
    assert terms[0][1].tolist() == [True, False, True] and terms[2][0].item() == pytest.approx(chi_cosmo, rel=1e-6)
    empty, none = MaskedMultitaskLoss(["regression"], [1.0])(out[:, :1], torch.full((3, 1), float("nan")), scale[:1])
    assert empty.item() == 0.0 and none == {}


def test_help_lists_every_verb_once_under_the_program_name(capsys):
    from gnnchi.cli import VERBS, main

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert set(VERBS) == {"fit", "validate", "test", "export", "predict", "screen", "encode", "map", "evaluate", "tune", "calibrate", "info"}
    for verb, purpose in VERBS.items():
        assert verb in out and purpose.split()[0] in out
    assert "Run inference on your data" not in out  # Lightning's unreachable predict is gone
    for verb in ("predict", "evaluate"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        assert VERBS[verb][1:40] in capsys.readouterr().out.replace("\n", " ").replace("  ", " ")
    with pytest.raises(SystemExit):
        main(["fit", "--help"])
    assert capsys.readouterr().out.splitlines()[0].endswith(f"fit: {VERBS['fit']}.")


def test_module_help_starts_with_the_program_name_as_run():
    done = subprocess.run([sys.executable, "-m", "gnnchi", "--help"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0 and done.stdout.startswith("usage: python -m gnnchi ")


LIGHT = r"""
import sys, warnings
import numpy, pandas, rdkit, onnx, onnxruntime, torch  # third parties add filters of their own on import
filters, threads = list(warnings.filters), torch.get_num_threads()
import gnnchi, gnnchi.cli, gnnchi.inference.export, gnnchi.inference.predictor, gnnchi.models
gnnchi.cli.build_parser()
assert "lightning" not in sys.modules and "pytorch_lightning" not in sys.modules, "lightning imported"
assert warnings.filters == filters, "importing gnnchi changed the warning filters"
assert torch.get_num_threads() == threads, "importing gnnchi changed torch's threads"
print("ok")
"""


def test_export_and_inference_do_not_import_lightning_and_imports_change_no_settings():
    done = subprocess.run([sys.executable, "-c", LIGHT], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_a_config_saved_by_gnnchi_0_1_still_loads_and_fits(tmp_path, monkeypatch):
    """Its class_paths (gnnchi.tracking..., gnnchi.checkpointing...) name the modules of the old layout."""
    from gnnchi.cli import main
    from gnnchi.training.checkpointing import AtomicCheckpointIO
    from gnnchi.training.tracking import GnnChiMLFlowLogger

    monkeypatch.chdir(tmp_path)
    saved = ROOT / "tests" / "data" / "config_saved_by_gnnchi_0.1.yaml"
    assert "class_path: gnnchi.tracking.GnnChiMLFlowLogger" in saved.read_text()
    cli = main(["fit", "--config", str(saved), "--trainer.fast_dev_run", "1", "--checkpoint.dirpath", str(tmp_path)])
    trainer_config = cli.config_init["fit"]["trainer"]
    assert isinstance(trainer_config["logger"], GnnChiMLFlowLogger)
    assert isinstance(cli.trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    assert cli.model.hparams.latent_dim == 16 and cli.config.fit.trainer.max_epochs == 60
