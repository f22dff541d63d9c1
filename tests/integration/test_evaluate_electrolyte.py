"""``evaluate`` for the electrolyte system: unseen polymers, gnnchi, the forest and the readout without
temperature physics on the same records; the Arrhenius figure."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gnnchi.cli import main

CONFIG = str(Path(__file__).parents[2] / "configs" / "electrolyte.yaml")
TARGET = "log10_conductivity_S_cm"
TINY = ["--trainer.max_epochs", "1", "--model.init_args.hidden_dim", "16", "--model.init_args.ffn_hidden_dim", "16",
        "--model.init_args.depth", "2", "--model.init_args.mixture_dim", "8", "--model.init_args.descriptors", "false",
        "--trainer.enable_progress_bar", "false"]  # fmt: skip


@pytest.fixture(scope="module")
def records_csv(tmp_path_factory):
    """PEO-LiTFSI records and 500 others of the bundled data, as a user's CSV (roles given)."""
    from gnnchi.datasets.electrolytes import check_electrolytes, load_electrolytes

    kept = check_electrolytes(load_electrolytes())[0]
    peo_litfsi = kept["component_set"].str.fullmatch(r"polymer C1COCCOCCO1 \+ salt O=S\(=O\)\(\[N-\]S\(=O\)\(=O\)C\(F\)\(F\)F\)C\(F\)\(F\)F\.\[Li\+\]")
    rows = pd.concat([kept[peo_litfsi].head(150), kept[~peo_litfsi].sample(500, random_state=0)])
    path = tmp_path_factory.mktemp("data") / "records.csv"
    columns = [f"{c}_{i}" for i in range(1, 5) for c in ("component", "role", "fraction")]
    rows[[*columns, "mn_g_mol", "temperature_K", TARGET]].to_csv(path, index=False)
    return path


def independent_forest(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> np.ndarray:
    """The electrolyte_random_forest recipe written out again: sum of mole fraction x Morgan counts (radius 2, 512
    bits; a salt's SMILES as one molecule, a polymer's repeat unit with its `*`), 1000/T, log10 Mn or 0, an
    unknown-Mn flag; 100 trees, random_state = fold."""
    from rdkit import Chem
    from rdkit.Chem import rdFingerprintGenerator
    from sklearn.ensemble import RandomForestRegressor

    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=512)

    def features(rows: pd.DataFrame) -> np.ndarray:
        out = []
        for _, row in rows.iterrows():
            mixture = np.zeros(512)
            for i in range(1, 5):
                smiles = row[f"component_{i}"]
                if isinstance(smiles, str) and smiles:
                    mixture += row[f"fraction_{i}"] * generator.GetCountFingerprintAsNumPy(Chem.MolFromSmiles(smiles))
            mn = row["mn_g_mol"]
            known = bool(np.isfinite(mn) and mn > 0)
            out.append([*mixture, 1000 / row["temperature_K"], np.log10(mn) if known else 0.0, 0.0 if known else 1.0])
        return np.array(out)

    forest = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1).fit(features(train), train[TARGET])
    return forest.predict(features(test))


def test_evaluate_leave_polymer_out_scores_gnnchi_the_forest_and_the_ablation(records_csv, tmp_path, monkeypatch):
    from gnnchi.data.mixtures import ElectrolyteDataModule
    from gnnchi.data.splits import split_indices
    from gnnchi.systems import ELECTROLYTE

    table = ElectrolyteDataModule(data=str(records_csv), split="polymer").prepare_records().table.reset_index(drop=True)
    peo = table["component_1_key"].eq(table["component_1_key"].iloc[0])  # the first 150 records are PEO-LiTFSI
    fold = next(f for f in range(5) if peo.iloc[split_indices(table, "polymer", f, system=ELECTROLYTE)["test"]].any())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "out"
    main(["evaluate", "--config", CONFIG, "--data.data", str(records_csv), "--protocol", "electrolyte-leave-polymer-out",
          "--output", str(out), "--members", "1", "--folds", str(fold), *TINY])  # fmt: skip

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split"] == "polymer" and metrics["task"] == TARGET and metrics["target"] is None
    assert set(metrics["baselines"]) == {"gnnchi_single_model", "electrolyte_random_forest", "no_temperature_physics"}
    for summary in (metrics, *metrics["baselines"].values()):
        assert {f"r2_{TARGET}", f"mae_{TARGET}", f"n_{TARGET}"} <= set(summary["mean"])
    report = (out / "report.md").read_text()
    assert "Target: mean" not in report and "| no_temperature_physics |" in report

    position = dict(zip(table["row"], table.index))
    predictions = pd.read_csv(out / "predictions.csv")
    test = [position[line] for line in predictions.loc[predictions["fold"] == fold, "row"]]
    polymers = lambda rows: {k for i in range(1, 5) for k, r in zip(rows[f"component_{i}_group_key"], rows[f"role_{i}"]) if r == "polymer"}
    rest = table.drop(index=test)
    assert polymers(table.loc[test]) and not polymers(table.loc[test]) & polymers(rest)
    expected = independent_forest(rest, table.loc[test], seed=fold)
    written = predictions[predictions["fold"] == fold][f"electrolyte_random_forest_{TARGET}"].to_numpy()
    np.testing.assert_allclose(written, expected, rtol=0, atol=1e-9)
    assert (predictions[f"gnnchi_{TARGET}_std"] > 0).all()
    assert (out / "arrhenius.png").stat().st_size > 1000  # the tested fold holds PEO-LiTFSI
    curves = pd.read_csv(out / "arrhenius.csv")
    assert curves["fold"].eq(fold).all() and curves["salt_fraction"].nunique() == 2
    for _, curve in curves.groupby("salt_fraction"):
        assert (np.diff(curve[TARGET]) > 0).all()  # warmer conducts better
