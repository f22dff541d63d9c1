"""Speed of gnnchi, side by side in one run; prints ratios.

    python benchmarks/speed.py --ckpt checkpoints/chi_mtl/best.ckpt [--chemprop-venv .venv-chemprop]

- gnnchi ONNX against gnnchi torch (eager), the same new pairs, end to end from SMILES.
- Molecules per second from SMILES through ONNX, featurisation included.
- The quantum-chemistry baseline: a GFN2-xTB single point (tblite) on an RDKit conformer of
  each molecule of a pair, the polymer as the paper modelled it (a cyclic 10-mer). Real
  COSMO-RS needs DFT and is far slower, so this is a lower bound on its cost.
- chemprop 2.3.1 predict on the same pairs, in its own virtualenv (``--chemprop-venv``, made
  here if missing: chemprop downgrades rdkit, so it lives apart).
- Scaling: screening from cached encodings, 10^2 to 10^7 pair-temperature predictions; and
  encoding time against molecule size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gnnchi.evaluation.baselines.chemprop import chemprop_python


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bundled_pairs(n: int) -> pd.DataFrame:
    from gnnchi.datasets import load_chi_exp

    chi = load_chi_exp().drop_duplicates(["polymer", "solvent"])
    return chi.sample(n=min(n, len(chi)), random_state=0).reset_index(drop=True)


def per_new_pair(predictor, pairs: pd.DataFrame) -> float:
    """Seconds per pair when each pair arrives alone (featurise, encode both molecules, predict)."""
    start = time.perf_counter()
    for row in pairs.itertuples():
        predictor.predict([row.polymer], [row.solvent], [row.temperature_K])
    return (time.perf_counter() - start) / len(pairs)


def xtb_seconds(smiles: str, kind: str) -> float:
    from rdkit import Chem
    from rdkit.Chem import AllChem
    from tblite.interface import Calculator

    from gnnchi.chem import cyclic_oligomer, make_mol

    mol = make_mol(smiles, kind)
    if kind == "polymer":
        mol = cyclic_oligomer(mol, 10)
    mol = Chem.AddHs(mol)
    AllChem.EmbedMolecule(mol, randomSeed=0)
    bohr = mol.GetConformer().GetPositions() / 0.529177210903
    numbers = np.array([a.GetAtomicNum() for a in mol.GetAtoms()])
    start = time.perf_counter()
    calc = Calculator("GFN2-xTB", numbers, bohr, charge=float(Chem.GetFormalCharge(mol)))
    calc.set("verbosity", 0)
    calc.singlepoint()
    return time.perf_counter() - start


CHEMPROP_SCRIPT = r"""
import sys, time, json
import numpy as np, pandas as pd, torch
from lightning import pytorch as pl
from chemprop import data, featurizers, models, nn
train = pd.read_csv(sys.argv[1]); pairs = pd.read_csv(sys.argv[2])
feat = featurizers.SimpleMoleculeMolGraphFeaturizer()
def datasets(frame, with_y):
    ys = frame[["chi"]].to_numpy() if with_y else [None] * len(frame)
    x_d = (1000.0 / frame[["temperature_K"]].to_numpy())
    sets = []
    for col in ("polymer", "solvent"):
        points = [data.MoleculeDatapoint.from_smi(s, y, x_d=x) for s, y, x in zip(frame[col], ys, x_d)]
        sets.append(data.MoleculeDataset(points, feat))
    return data.MulticomponentDataset(sets)
train_set = datasets(train, True)
mcmp = nn.MulticomponentMessagePassing(blocks=[nn.BondMessagePassing() for _ in range(2)], n_components=2)
ffn = nn.RegressionFFN(input_dim=mcmp.output_dim + 1)
model = models.MulticomponentMPNN(mcmp, nn.MeanAggregation(), ffn)
trainer = pl.Trainer(max_epochs=1, logger=False, enable_checkpointing=False, enable_progress_bar=False, accelerator="cpu")
trainer.fit(model, data.build_dataloader(train_set, batch_size=64, num_workers=0))
def predict_alone():
    start = time.perf_counter()
    for i in range(len(pairs)):
        ds = datasets(pairs.iloc[[i]], False)
        with torch.no_grad():
            trainer.predict(model, data.build_dataloader(ds, batch_size=1, shuffle=False, num_workers=0))
    return (time.perf_counter() - start) / len(pairs)
def predict_batch():
    start = time.perf_counter()
    ds = datasets(pairs, False)
    trainer.predict(model, data.build_dataloader(ds, batch_size=256, shuffle=False, num_workers=0))
    return (time.perf_counter() - start) / len(pairs)
print(json.dumps({"per_new_pair_s": predict_alone(), "per_pair_batch_s": min(predict_batch() for _ in range(3))}))
"""


def chemprop_seconds(python: str, pairs: pd.DataFrame) -> dict:
    from gnnchi.datasets import load_chi_exp

    with tempfile.TemporaryDirectory() as folder:
        train = load_chi_exp().rename(columns={"chi_exp": "chi"})
        train.to_csv(f"{folder}/train.csv", index=False)
        pairs.to_csv(f"{folder}/pairs.csv", index=False)
        script = Path(folder) / "cp.py"
        script.write_text(CHEMPROP_SCRIPT)
        done = subprocess.run([python, str(script), f"{folder}/train.csv", f"{folder}/pairs.csv"],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", default="checkpoints/chi_mtl/best.ckpt")
    parser.add_argument("--pairs", type=int, default=200, help="new pairs for the per-pair timings")
    parser.add_argument("--xtb-pairs", type=int, default=5, help="pairs for the GFN2-xTB baseline (seconds each)")
    parser.add_argument("--chemprop-venv", help="virtualenv for chemprop 2.3.1 (created here if missing)")
    parser.add_argument("--max-screen", type=float, default=1e7, help="largest screening size")
    args = parser.parse_args()

    from gnnchi.inference.export import export_checkpoint
    from gnnchi.inference.predictor import Predictor

    rows = []
    folder = Path(tempfile.mkdtemp())
    onnx_path = export_checkpoint(args.ckpt, folder / "gnnchi.onnx")["pair_model"]
    onnx, eager = Predictor.from_file(onnx_path), Predictor.from_file(args.ckpt)
    pairs = bundled_pairs(args.pairs)
    onnx.predict(pairs["polymer"][:5], pairs["solvent"][:5], pairs["temperature_K"][:5])  # warm-up

    t_onnx, t_eager = per_new_pair(onnx, pairs), per_new_pair(eager, pairs)
    rows.append(("gnnchi ONNX, per new pair (SMILES -> chi)", t_onnx, None))
    rows.append(("gnnchi torch eager, per new pair", t_eager, t_eager / t_onnx))
    batch = lambda p: p.predict(pairs["polymer"], pairs["solvent"], pairs["temperature_K"])
    t_batch_onnx, t_batch_eager = best_of(lambda: batch(onnx)) / len(pairs), best_of(lambda: batch(eager)) / len(pairs)
    rows.append(("gnnchi ONNX, per pair in a batch", t_batch_onnx, None))
    rows.append(("gnnchi torch eager, per pair in a batch", t_batch_eager, t_batch_eager / t_batch_onnx))

    from gnnchi.datasets import bundled_pairs as all_pairs

    table = all_pairs()
    molecules = [(s, "polymer") for s in table["polymer"].unique()] + [(s, "solvent") for s in table["solvent"].unique()]
    polymers = [s for s, k in molecules if k == "polymer"]
    solvents = [s for s, k in molecules if k == "solvent"]
    t_mol = best_of(lambda: (onnx.encode(polymers, "polymer"), onnx.encode(solvents, "solvent")))
    mol_per_s = len(molecules) / t_mol

    xtb = []
    for row in pairs.head(args.xtb_pairs).itertuples():
        xtb.append(xtb_seconds(row.polymer, "polymer") + xtb_seconds(row.solvent, "solvent"))
    t_xtb = float(np.mean(xtb))
    rows.append((f"GFN2-xTB single points, per pair (mean of {len(xtb)})", t_xtb, t_xtb / t_onnx))

    if args.chemprop_venv:
        cp = chemprop_seconds(chemprop_python(args.chemprop_venv), pairs)
        rows.append(("chemprop 2.3.1, per new pair", cp["per_new_pair_s"], cp["per_new_pair_s"] / t_onnx))
        rows.append(("chemprop 2.3.1, per pair in a batch", cp["per_pair_batch_s"], cp["per_pair_batch_s"] / t_batch_onnx))

    print(f"\nmodel: {args.ckpt}; {len(pairs)} new pairs from the bundled data; 2-core CPU\n")
    print("| what | seconds | ratio to gnnchi ONNX (same mode) |\n| --- | --- | --- |")
    for name, seconds, ratio in rows:
        print(f"| {name} | {seconds:.3g} | {'' if ratio is None else f'{ratio:,.1f}x'} |")
    print(f"\nend to end, SMILES -> ONNX encodings, featurisation included: {mol_per_s:,.0f} molecules/s "
          f"({len(molecules)} distinct molecules of the bundled data)")  # fmt: skip

    print("\nscreening from cached encodings: polymers x solvents x temperatures in one grid (matrix products):")
    print("| polymers x solvents x temperatures | predictions | seconds | predictions/s |\n| --- | --- | --- | --- |")
    solvent_latent, _ = onnx.encode(solvents, "solvent")
    polymer_latent, _ = onnx.encode(polymers, "polymer")
    solvent_pool = np.tile(solvent_latent, (int(np.ceil(1000 / len(solvent_latent))), 1))[:1000]
    sizes = [(1, 100, 1), (1, 1000, 1), (10, 1000, 1), (100, 1000, 1), (1000, 1000, 1), (1000, 1000, 10)]
    for n_p, n_s, n_t in sizes:
        if n_p * n_s * n_t > args.max_screen:
            continue
        p_lat = np.tile(polymer_latent, (int(np.ceil(n_p / len(polymer_latent))), 1))[:n_p]
        temps = np.linspace(280.0, 420.0, n_t).astype(np.float32)
        seconds = best_of(lambda: onnx.grid(p_lat, solvent_pool[:n_s], temps))
        n = n_p * n_s * n_t
        print(f"| {n_p} x {n_s} x {n_t} | {n:.0e} | {seconds:.3g} | {n / seconds:,.0f} |")

    print("\nencoding time against molecule size (n-alkane solvents, one molecule per call):")
    print("| heavy atoms | ms per molecule |\n| --- | --- |")
    for size in (5, 20, 50, 100, 200):
        smiles = "C" * size
        seconds = best_of(lambda: onnx.encode([smiles], "solvent"), repeats=5)
        print(f"| {size} | {seconds * 1e3:.3g} |")


if __name__ == "__main__":
    from gnnchi.settings import configure_process

    configure_process()  # as the CLI does: the eager (checkpoint) path flushes denormals
    sys.exit(main())
