"""What a fold's ensemble makes of a few polymers and solvents: the Hansen parameters its members read off
``u`` (through the model's auxiliary Hansen map) and chi_exp of the polymers in each solvent.

    python benchmarks/hansen_diagnostic.py --fold_models results/models/leave-polymer-out/gnnchi/fold_2 --temperature_K 435.15

A diagnostic of how a held-out polymer is placed (docs/evaluation); it scores nothing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS, make_mol
from gnnchi.data.auxiliary import hansen_molecules
from gnnchi.featurizers.graph import collate_graphs, featurize
from gnnchi.models.checkpoint import load_net, read_checkpoint

POLYMERS = {"PS": "*CC(*)c1ccccc1", "PE": "*CC*", "PIB": "*CC(*)(C)C", "PVAc": "*CC(*)OC(C)=O", "PEO": "*CCO*"}
SOLVENTS = {"water": "O", "hexane": "CCCCCC", "toluene": "Cc1ccccc1", "formamide": "NC=O", "glycol": "OCCO",
            "acetic acid": "CC(=O)O", "chloroform": "ClC(Cl)Cl"}  # fmt: skip


def encode(encoder: torch.nn.Module, smiles: list[str], kind: str) -> torch.Tensor:
    """[len(smiles), 2k] encodings."""
    batch = collate_graphs([featurize(make_mol(s, kind)) for s in smiles])
    with torch.no_grad():
        return encoder(*(torch.as_tensor(a) for a in batch), len(smiles))


def hansen_map(weights: dict, k: int):
    """u [M, 2k] -> standardised (dD, dP, dH) [M, 3]: the model's linear map, or (``hansen_map: aligned``,
    no map saved) u's first three components."""
    if "hansen_head.weight" not in weights:
        return lambda u: u[:, :3].numpy()
    return lambda u: (u[:, :k] @ weights["hansen_head.weight"].T + weights["hansen_head.bias"]).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold_models", type=Path, required=True, help="a fold's folder of member_*/best.ckpt")
    parser.add_argument("--temperature_K", type=float, default=298.15)
    args = parser.parse_args()
    hansen = hansen_molecules(DEFAULT_MAX_HEAVY_ATOMS)  # the training molecules' mean and std, as fit standardised them
    for path in sorted(args.fold_models.glob("member_*/best.ckpt")):
        weights, net = read_checkpoint(path)["state_dict"], load_net(path)
        k = net.latent_dim
        polymers = encode(net.polymer_encoder, list(POLYMERS.values()), "polymer")
        solvents = encode(net.solvent_encoder, list(SOLVENTS.values()), "solvent")
        print(path.parent.name)
        hansen_values = hansen_map(weights, k)
        for names, latent in ((POLYMERS, polymers), (SOLVENTS, solvents)):
            for name, values in zip(names, hansen_values(latent) * hansen.std + hansen.mean):
                print(f"  {name:12s} dD, dP, dH = {' '.join(f'{v:.1f}' for v in values)}")
        temperature = torch.full((len(SOLVENTS),), args.temperature_K)
        for i, name in enumerate(POLYMERS):
            with torch.no_grad():
                chi = net.head.from_latents(polymers[i : i + 1].expand(len(SOLVENTS), -1), solvents, temperature)[:, 1]
            print(
                f"  chi_exp {name} at {args.temperature_K} K: "
                + ", ".join(f"{s} {c:.2f}" for s, c in zip(SOLVENTS, chi))
            )


if __name__ == "__main__":
    main()
