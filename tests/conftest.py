from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnchi.chem import make_mol
from gnnchi.data.datamodule import PairBatch
from gnnchi.featurizers import ATOM_DIM, BOND_DIM, collate_graphs, featurize
from gnnchi.models import ChiNet


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
    defaults = dict(latent_dim=4, hidden_dim=32, depth=3, ffn_hidden_dim=32)
    return ChiNet(ATOM_DIM, BOND_DIM, **{**defaults, **kwargs}).eval()


def pair_batch(polymers: list[str], solvents: list[str], temperatures_K: list[float]) -> PairBatch:
    """A PairBatch straight from SMILES (targets NaN)."""
    p = collate_graphs([featurize(make_mol(s, "polymer")) for s in polymers])
    s = collate_graphs([featurize(make_mol(s, "solvent")) for s in solvents])
    temps = np.asarray(temperatures_K, np.float32)
    targets = np.full((len(temps), 3), np.nan, np.float32)
    rows = np.arange(len(temps))
    return PairBatch(*(torch.from_numpy(a) for a in (*p, *s, temps, targets, rows)))


def predict(net: ChiNet, polymers, solvents, temperatures_K) -> torch.Tensor:
    with torch.no_grad():
        return net(*pair_batch(polymers, solvents, temperatures_K).inputs())
