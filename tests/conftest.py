from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gnnchi.chem import make_mol
from gnnchi.data.datamodule import PairBatch
from gnnchi.featurizers import ATOM_DIM, BOND_DIM, collate_graphs, featurize
from gnnchi.models import ChiNet

ROOT = str(Path(__file__).parents[1])
if ROOT not in sys.path:  # tests.callbacks importable however pytest was started (subprocesses: PYTHONPATH)
    sys.path.append(ROOT)

PYTEST_OWN = "PYTEST_CURRENT_TEST"  # pytest sets it per phase itself
MLFLOW_URI_GLOBALS = (  # module, attribute: the URIs mlflow.set_tracking_uri / set_registry_uri keep
    ("mlflow.tracking._tracking_service.utils", "_tracking_uri"),
    ("mlflow.tracking._model_registry.utils", "_registry_uri"),
)


def _mlflow_uris() -> dict[tuple[str, str], object]:
    """mlflow's process-wide URIs (None where mlflow is not imported yet: their initial value)."""
    return {(module, name): getattr(sys.modules.get(module), name, None) for module, name in MLFLOW_URI_GLOBALS}


def _restoring_environment():
    """Snapshot ``os.environ`` and mlflow's global URIs, yield, then put them back exactly."""
    environ, uris = dict(os.environ), _mlflow_uris()
    yield
    for key in [k for k in os.environ if k not in environ and k != PYTEST_OWN]:
        del os.environ[key]
    for key, value in environ.items():
        if os.environ.get(key) != value and key != PYTEST_OWN:
            os.environ[key] = value
    for (module, name), value in uris.items():
        if module in sys.modules and getattr(sys.modules[module], name, None) != value:
            setattr(sys.modules[module], name, value)


@pytest.fixture(autouse=True)
def restore_environment():
    """Every test starts from the environment the one before it started from.

    ``os.environ`` is restored exactly after each test (variables added by the test, or by what it ran
    in-process, such as mlflow's ``MLFLOW_TRACKING_URI`` or Lightning's ``MASTER_PORT``, are removed;
    changed and removed ones come back), and so are mlflow's global tracking and registry URIs.
    Autouse, so it is set up before and torn down after the test's other function fixtures (monkeypatch).
    """
    yield from _restoring_environment()


@pytest.fixture(autouse=True, scope="module")
def restore_environment_after_module():
    """The same around each module, for what module-scoped fixtures (an in-process fit) leave behind."""
    yield from _restoring_environment()


@pytest.fixture(scope="session")
def bundled_records():
    """The bundled data, checked (about 3 s; shared by the tests that need it)."""
    from gnnchi.data.records import check_pairs, normalize_columns
    from gnnchi.datasets import bundled_pairs

    records, problems = check_pairs(normalize_columns(bundled_pairs(), "bundled", lines_given=True), "bundled")
    assert problems == []
    return records


def make_net(seed: int = 0, **kwargs) -> ChiNet:
    torch.manual_seed(seed)
    defaults = dict(latent_dim=4, hidden_dim=32, depth=3, ffn_hidden_dim=32, descriptors=True)
    return ChiNet(ATOM_DIM, BOND_DIM, **{**defaults, **kwargs}).eval()


def pair_batch(polymers: list[str], solvents: list[str], temperatures_K: list[float]) -> PairBatch:
    """A PairBatch straight from SMILES (targets NaN)."""
    p = collate_graphs([featurize(make_mol(s, "polymer")) for s in polymers])
    s = collate_graphs([featurize(make_mol(s, "solvent")) for s in solvents])
    temps = np.asarray(temperatures_K, np.float32)
    targets = np.full((len(temps), 3), np.nan, np.float32)
    t, each = torch.from_numpy, torch.arange(len(temps))  # one graph per pair, in order
    return PairBatch(tuple(t(a) for a in (*p, *s)), (each, each.clone()), (t(temps),), t(targets), t(np.arange(len(temps))))


def predict(net: ChiNet, polymers, solvents, temperatures_K) -> torch.Tensor:
    batch = pair_batch(polymers, solvents, temperatures_K)
    with torch.no_grad():
        return net(*batch.graphs, *batch.conditions)


@pytest.fixture(scope="module")
def small_table(tmp_path_factory):
    """About 150 real rows of the bundled data: chi_exp with its COSMO-RS twin, and solubility labels."""
    from gnnchi.datasets import bundled_pairs

    table = bundled_pairs()
    chi = table[table["chi_exp"].notna()].sample(60, random_state=0)
    keys = chi[["polymer", "solvent", "temperature_K"]]
    cosmo = table[table["chi_cosmo"].notna()].merge(keys, on=["polymer", "solvent", "temperature_K"])
    soluble = table[table["soluble"].notna()].groupby("soluble").sample(30, random_state=0)
    frame = pd.concat([chi, cosmo, soluble])[["polymer", "solvent", "temperature_K", "soluble", "chi_exp", "chi_cosmo"]]
    path = tmp_path_factory.mktemp("data") / "pairs.csv"
    frame.to_csv(path, index=False)
    return path


def tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """An untrained tiny chi model (k = 4, chi = g0 + g1/T + g2/T^2) with set temperature and chi
    scalers, saved as fit saves a checkpoint."""
    from gnnchi.models import ChiModule
    from gnnchi.models.checkpoint import model_card

    torch.manual_seed(seed)
    module = ChiModule(latent_dim=4, hidden_dim=32, depth=3, ffn_hidden_dim=32, temperature_order=2)
    head = module.net.head
    head.inv_t_mean.fill_(1 / 350.0), head.inv_t_std.fill_(5e-4), head.chi_mean.fill_(0.6), head.chi_std.fill_(0.7)
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams), "gnnchi": model_card()},
               path)  # fmt: skip
    return path


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """``tiny_checkpoint(seed=0)`` and its ONNX parts, exported once (an export takes about 30 s) for
    every module that reads them (read only)."""
    from gnnchi.inference.export import export_checkpoint

    folder = tmp_path_factory.mktemp("tiny_export")
    checkpoint = tiny_checkpoint(folder / "tiny.ckpt")
    return checkpoint, export_checkpoint(checkpoint, folder / "tiny.onnx")
