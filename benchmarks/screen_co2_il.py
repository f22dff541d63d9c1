"""Screening ionic liquids for CO2 at the published scale (issue 14): 6,933 cations x 58 anions x one
condition, from SMILES, with uncertainty; side by side in one run, printed as ratios to the goals.

    python benchmarks/screen_co2_il.py --model export/co2_il.onnx [--temperature_K 298.15 --pressure_kPa 100]

Candidates: the 81 cations and 43 anions of the bundled data, and cations enumerated from 9 common
cores (imidazolium, pyridinium, pyrrolidinium, piperidinium, ammonium, phosphonium, sulfonium,
morpholinium, guanidinium) with two side chains from 46 substituents (alkyl C1-C18, hydroxy-,
methoxy-, cyano-, fluoro-alkyl, allyl, benzyl, ...), cut to 6,933 distinct SMILES; 15 more common
anions or more make 58. They are molecules to score, not labels.

Measured: encoding throughput (ions/s from SMILES: gate, featurizer, ONNX encoder), scoring throughput
from cached encodings (ionic-liquid-conditions/s, goal >= 1e7/s), and the wall time of the whole screen
from SMILES to the ranked table (goal < 60 s).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# ring closures written %91: a substituent's own ring never closes a core's ring 1
SUBSTITUENTS = (
    [("C" * n) for n in range(1, 19)]
    + ["CCO", "CCCO", "CCCCO", "CCOC", "CCOCC", "CCCOC", "CCOCCOC", "CC#N", "CCC#N", "CCCC#N", "C=CC", "CC=C",
       "Cc%91ccccc%91", "CCc%91ccccc%91", "CC(F)(F)F", "CCC(F)(F)F", "CCC(F)(F)C(F)(F)F", "CC(C)C", "CCC(C)C", "CC(C)(C)C",
       "CCCCCCO", "CCC(=O)OC", "CCOC(C)=O", "CC(=O)OCC", "CCCS(=O)(=O)O", "CCN(C)C", "C%91CC%91", "CC%91CC%91"]
)  # fmt: skip
CORES = [  # (template with {a} and {b}, how many chains it takes)
    ("{a}[n+]1ccn({b})c1", 2), ("{a}[n+]1ccn({b})c1C", 2), ("{a}[n+]1ccccc1", 1), ("{a}[n+]1ccc({b})cc1", 2),
    ("{a}[N+]1({b})CCCC1", 2), ("{a}[N+]1({b})CCCCC1", 2), ("{a}[N+](C)(C){b}", 2), ("{a}[P+](CCCC)(CCCC){b}", 2),
    ("{a}[S+]({b})C", 2), ("{a}[N+]1({b})CCOCC1", 2), ("CN(C)C(=[N+](C)C)N({a}){b}", 2),
]  # fmt: skip
EXTRA_ANIONS = [
    "[I-]", "[F-]", "[O-][N+](=O)[O-]", "[O-]Cl(=O)(=O)=O", "N#C[S-]", "OC(=O)C(=O)[O-]", "CCCC(=O)[O-]",
    "[O-]C(=O)c1ccccc1", "COP(=O)([O-])OC", "CCCCCCCCOS(=O)(=O)[O-]", "Cc1ccc(S(=O)(=O)[O-])cc1",
    "O=C([O-])C(F)(F)C(F)(F)C(F)(F)F", "[O-]c1ccccc1", "CC(C)C(=O)[O-]", "O=C([O-])CCl", "CS(=O)(=O)[O-]",
    "CCCCOP(=O)([O-])OCCCC", "O=C([O-])c1ccncc1", "[O-]n1nnc2ccccc21", "c1cc[n-]c1", "c1ncc[n-]1", "NCC(=O)[O-]",
    "CC(N)C(=O)[O-]", "O=C([O-])CO",
]  # fmt: skip
NUM_CATIONS, NUM_ANIONS = 6933, 58


def candidates() -> tuple[list[str], list[str]]:
    from rdkit import Chem, rdBase

    from gnnchi.datasets.co2_il import load_co2_il

    data = load_co2_il()
    cations, anions = list(dict.fromkeys(data["cation"])), list(dict.fromkeys(data["anion"]))
    seen = {Chem.CanonSmiles(s) for s in cations}
    with rdBase.BlockLogs():
        for template, chains in CORES:
            for a in SUBSTITUENTS:
                for b in SUBSTITUENTS if chains == 2 else [""]:
                    mol = Chem.MolFromSmiles(template.format(a=a, b=b))
                    key = Chem.MolToSmiles(mol) if mol is not None else None
                    if key and key not in seen:
                        seen.add(key)
                        cations.append(key)
    anions += [s for s in EXTRA_ANIONS if s not in anions]
    if len(cations) < NUM_CATIONS or len(anions) < NUM_ANIONS:
        raise SystemExit(f"only {len(cations)} cations and {len(anions)} anions enumerated")
    return cations[:NUM_CATIONS], anions[:NUM_ANIONS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="an exported co2_il .onnx model (or checkpoints)")
    parser.add_argument("--temperature_K", type=float, default=298.15)
    parser.add_argument("--pressure_kPa", type=float, default=100.0)
    parser.add_argument("--conditions", type=int, default=10, help="conditions for the scoring-throughput run")
    args = parser.parse_args()

    from gnnchi.inference.il_predictor import IonicLiquidPredictor
    from gnnchi.inference.isotherm import screen_isotherms

    cations, anions = candidates()
    print(f"candidates: {len(cations)} cations x {len(anions)} anions = {len(cations) * len(anions):,} ionic liquids")

    # 1. the whole screen from SMILES, one condition, fresh predictor (nothing cached)
    predictor = IonicLiquidPredictor(args.model)
    start = time.perf_counter()
    ranked = predictor.screen(cations, anions, args.temperature_K, args.pressure_kPa)
    whole = time.perf_counter() - start
    scored = int((ranked["error"] == "").sum())

    # 2. encoding throughput, from SMILES (a fresh predictor: no cached novelty)
    fresh = IonicLiquidPredictor(args.model)
    start = time.perf_counter()
    cation_latent, _ = fresh.encode(cations, "cation")
    anion_latent, _ = fresh.encode(anions, "anion")
    encoding = time.perf_counter() - start
    ions_per_s = (len(cations) + len(anions)) / encoding

    # 3. scoring throughput from cached encodings (with the std over members; calibration excluded)
    heads = predictor.backend.heads()
    temperatures = np.linspace(280.0, 360.0, args.conditions)
    pressures = np.geomspace(10.0, 10000.0, args.conditions)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        screen_isotherms(heads, cation_latent, anion_latent, temperatures, pressures)
        times.append(time.perf_counter() - start)
    scoring = min(times)
    per_s = len(cations) * len(anions) * args.conditions / scoring

    print(f"members: {len(heads)}")
    print(f"whole screen from SMILES, 1 condition: {whole:.1f} s for {scored:,} scored rows; goal < 60 s: ratio {whole / 60:.2f} of the goal")
    print(f"encoding from SMILES: {ions_per_s:,.0f} ions/s ({encoding:.1f} s for {len(cations) + len(anions)} ions)")
    print(f"scoring from cached encodings: {per_s:,.3g} ionic-liquid-conditions/s ({args.conditions} conditions, "
          f"{scoring:.2f} s); goal >= 1e7/s: ratio {per_s / 1e7:.2f} x the goal")  # fmt: skip
    print(f"top 5 at {args.temperature_K:g} K, {args.pressure_kPa:g} kPa:")
    print(ranked.head(5)[["rank", "cation", "anion", "x_co2", "x_co2_std"]].to_string(index=False))


if __name__ == "__main__":
    main()
