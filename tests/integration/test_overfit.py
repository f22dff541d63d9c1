import math

import torch

from gnnchi.models import ChiModule
from tests.conftest import pair_batch

POLYMERS = ["*CC(*)c1ccccc1", "*CCO*", "*CC(*)Cl", "*CC(*)(C)C(=O)OC", "*CC*", "*O[Si](C)(C)*", "*CC(*)C#N", "*CC(*)O"]
SOLVENTS = ["Cc1ccccc1", "O", "C1CCOC1", "CC(C)=O", "CCCCCC", "ClC(Cl)Cl", "CN(C)C=O", "CO"]


def test_model_drives_the_loss_on_one_batch_close_to_zero():
    torch.manual_seed(0)
    nan = math.nan
    batch = pair_batch(POLYMERS, SOLVENTS, [300.0, 320.0, 340.0, 360.0, 300.0, 310.0, 330.0, 350.0])
    targets = torch.tensor(
        [
            [1.0, 0.35, nan],
            [0.0, 1.9, 2.1],
            [1.0, nan, 0.3],
            [1.0, 0.45, nan],
            [nan, 0.3, 0.2],
            [nan, 0.5, nan],
            [1.0, nan, 0.4],
            [0.0, 1.4, nan],
        ]
    )
    batch = batch._replace(targets=targets)
    model = ChiModule(latent_dim=8, hidden_dim=64, depth=3, ffn_hidden_dim=64)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        optimizer.zero_grad()
        loss = model._shared_step(batch, "train")
        first = first if first is not None else loss.item()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.01 * first and loss.item() < 0.01
