"""Physical invariances, tested like MACE tests rotations: the same polymer or solvent written
differently must give the same prediction."""

import numpy as np
import pytest
import torch
from rdkit import Chem

from tests.conftest import make_net, predict

SAME_POLYMER = ["*CCO*", "*OCC*", "*COC*", "*CCOCCO*", "*CCOCCOCCO*"]


def test_rotated_and_doubled_repeat_units_give_one_prediction():
    net = make_net()
    out = predict(net, SAME_POLYMER, ["CCO"] * 5, [300.0] * 5)
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-5)


@pytest.mark.parametrize(
    "units",
    [
        ["*CC(*)c1ccccc1", "*CC(c1ccccc1)CC(*)c1ccccc1"],
        ["*C*", "*CC*", "*CCC*"],
        ["*OC(=O)c1ccc(C(=O)OCC*)cc1", "*CCOC(=O)c1ccc(C(=O)O*)cc1"],
        ["*O[Si](C)(C)*", "*[Si](C)(C)O*"],
        # cuts at conjugated bonds: the chain context must be the same wherever the unit is cut
        ["*OC(C)C(*)=O", "*C(C)C(=O)O*", "*C(=O)OC(C)*"],
        ["*NCCCCCC(*)=O", "*C(=O)NCCCCC*", "*CCC(=O)NCCC*"],
        ["*c1ccc(*)cc1", "*c1ccc(-c2ccc(*)cc2)cc1"],
        ["*C=C*", "*C=CC=C*"],
        ["*Oc1ccc(C(C)(C)c2ccc(OC(*)=O)cc2)cc1", "*C(=O)Oc1ccc(C(C)(C)c2ccc(O*)cc2)cc1"],
    ],
)
def test_more_periodic_equivalences(units):
    out = predict(make_net(1), units, ["c1ccccc1"] * len(units), [350.0] * len(units))
    assert torch.allclose(out, out[:1].expand_as(out), atol=1e-5)


def test_different_polymers_differ():
    out = predict(make_net(), ["*CCO*", "*CCCO*", "*CC(*)C"], ["CCO"] * 3, [300.0] * 3)
    assert (out[0] - out[1]).abs().max() > 1e-4 and (out[0] - out[2]).abs().max() > 1e-4


def spellings(smiles: str, count: int, seed: int = 7) -> list[str]:
    """``smiles``, then other random SMILES of the same molecule, all different while there are more to draw,
    ``count`` in all (cycled for small molecules). Seeded: RDKit's randomSeed 0 would mean unseeded."""
    drawn = Chem.MolToRandomSmilesVect(Chem.MolFromSmiles(smiles), 50, randomSeed=seed)
    distinct = list(dict.fromkeys([smiles, *drawn]))
    return [distinct[i % len(distinct)] for i in range(count)]


@pytest.mark.parametrize(
    "polymer, solvent",
    [
        ("*CC(*)c1ccccc1", "Cc1ccccc1"),
        ("*CC(*)(C)C(=O)OC", "CC(=O)OCC"),
        ("*Oc1ccc(C(C)(C)c2ccc(OC(*)=O)cc2)cc1", "ClC(Cl)Cl"),
        ("*NCCCCCC(*)=O", "OC(=O)C(F)(F)F"),
    ],
)
def test_randomised_smiles_give_the_same_prediction(polymer, solvent):
    polymers, solvents = spellings(polymer, 5), spellings(solvent, 5)
    assert spellings(polymer, 5) == polymers and spellings(solvent, 5) == solvents  # reproducible
    assert len(set(polymers)) == 5 and len(set(solvents)) >= 2  # chloroform has two spellings only
    for given, variants in ((polymer, polymers), (solvent, solvents)):
        assert variants[0] == given and {Chem.CanonSmiles(v) for v in variants} == {Chem.CanonSmiles(given)}
    out = predict(make_net(2), polymers, solvents, [320.0] * 5)
    np.testing.assert_allclose(out.numpy(), out[:1].expand_as(out).numpy(), atol=1e-5)


def test_prediction_does_not_depend_on_batch_neighbours():
    net = make_net()
    alone = predict(net, ["*CC(*)Cl"], ["C1CCOC1"], [310.0])
    mixed = predict(net, ["*C*", "*CC(*)Cl", "*CCO*"], ["O", "C1CCOC1", "C"], [300.0, 310.0, 400.0])
    assert torch.allclose(alone[0], mixed[1], atol=1e-6)
