"""``encode`` (each molecule's u and r) and ``map`` (solvents around a polymer in u-space), on tiny untrained models."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gnnchi.chem import make_mol
from gnnchi.cli import main
from gnnchi.featurizers import collate_graphs, featurize
from gnnchi.inference.predictor import Predictor
from gnnchi.models import load_net
from tests.conftest import tiny_checkpoint

K = 4
SOLVENTS = pd.DataFrame(
    {
        "id": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "solvent": ["Cc1ccccc1", "O", "XX", "ClC(Cl)Cl", "CCO", "Cc1ccccc1", "CC(C)=O", "CCCCCC"],
        "name": ["toluene", "water", "bad", "chloroform", "ethanol, dry", "toluene again", "", "hexane"],
    }
)
BAD = {2}


@pytest.fixture(scope="module")
def models(tiny_export, tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    (first, paths), second = tiny_export, tiny_checkpoint(folder / "b.ckpt", 1)
    onnx = paths["pair_model"]
    solvents = folder / "solvents.csv"
    SOLVENTS.to_csv(solvents, index=False)
    return first, second, onnx, solvents


def torch_encodings(checkpoint, smiles: list[str], kind: str) -> np.ndarray:
    """The checkpoint's encoder run directly, one molecule at a time: [n, 2k]."""
    net = load_net(checkpoint)
    encoder = net.polymer_encoder if kind == "polymer" else net.solvent_encoder
    rows = []
    with torch.no_grad():
        for s in smiles:
            arrays = [torch.from_numpy(a) for a in collate_graphs([featurize(make_mol(s, kind))])]
            rows.append(encoder(*arrays, 1).numpy()[0])
    return np.array(rows)


def read(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_encode_writes_u_and_r_of_each_row_as_the_encoders_compute_them(models, tmp_path):
    checkpoint, _, onnx, solvents = models
    latent = [f"u_{i}" for i in range(1, K + 1)] + [f"r_{i}" for i in range(1, K + 1)]
    good = [i for i in range(len(SOLVENTS)) if i not in BAD]
    expected = torch_encodings(checkpoint, SOLVENTS["solvent"].iloc[good].tolist(), "solvent")
    for model in (onnx, checkpoint):
        out = tmp_path / f"{model.suffix[1:]}.csv"
        with pytest.raises(SystemExit) as status:  # kind from the 'solvent' column
            main(["encode", "--model", str(model), "--input", str(solvents), "--output", str(out)])
        assert status.value.code == 1  # a molecule failed
        result = read(out)
        assert list(result.columns) == [*SOLVENTS.columns, *latent, "error", "warning"]
        assert (result[SOLVENTS.columns] == SOLVENTS.astype(str)).all().all()  # the input cells as given, in order
        assert [i for i, e in enumerate(result["error"]) if e] == sorted(BAD) and "solvent:" in result["error"][2]
        assert (result.loc[list(BAD), latent] == "").all().all()
        np.testing.assert_allclose(result.loc[good, latent].astype(float), expected, rtol=1e-4, atol=1e-5)

    # a polymer table goes through the polymer encoder; --kind with a 'smiles' column; refusals
    polymers = pd.DataFrame({"polymer": ["*CC(*)c1ccccc1", "*CCO*"]})
    polymers.to_csv(tmp_path / "polymers.csv", index=False)
    main(["encode", "--model", str(onnx), "--input", str(tmp_path / "polymers.csv")])  # default output beside
    result = read(tmp_path / "polymers_encoded.csv")
    np.testing.assert_allclose(result[latent].astype(float), torch_encodings(checkpoint, polymers["polymer"].tolist(),
                               "polymer"), rtol=1e-4, atol=1e-5)  # fmt: skip
    pd.DataFrame({"smiles": ["*CCO*"]}).to_csv(tmp_path / "smiles.csv", index=False)
    main(["encode", "--model", str(onnx), "--input", str(tmp_path / "smiles.csv"), "--kind", "polymer",
          "--output", str(tmp_path / "smiles_out.csv")])  # fmt: skip
    assert read(tmp_path / "smiles_out.csv")[latent].to_numpy().tolist() == result.loc[[1], latent].to_numpy().tolist()
    pd.DataFrame({"polymer": ["*CC*"], "solvent": ["O"]}).to_csv(tmp_path / "both.csv", index=False)
    with pytest.raises(SystemExit) as status:
        main(["encode", "--model", str(onnx), "--input", str(tmp_path / "both.csv")])
    assert status.value.code == 2


def test_encode_gives_each_ensemble_member_its_own_columns_and_defaults_to_the_shipped_model(
    models, tmp_path, monkeypatch
):
    import gnnchi.release

    first, second, onnx, solvents = models
    out = tmp_path / "ensemble.csv"
    with pytest.raises(SystemExit):
        main(["encode", "--model", str(first), str(second), "--input", str(solvents), "--output", str(out)])
    result = read(out)
    names = [f"{p}_{i}" for p in ("u", "r") for i in range(1, K + 1)]
    members = [[f"m{m}_{n}" for n in names] for m in (0, 1)]
    assert list(result.columns) == [*SOLVENTS.columns, *members[0], *members[1], "error", "warning"]
    good = [i for i in range(len(SOLVENTS)) if i not in BAD]
    for member, checkpoint in zip(members, (first, second)):
        expected = torch_encodings(checkpoint, SOLVENTS["solvent"].iloc[good].tolist(), "solvent")
        np.testing.assert_allclose(result.loc[good, member].astype(float), expected, rtol=1e-4, atol=1e-5)

    monkeypatch.setattr(gnnchi.release, "shipped_model", lambda: onnx)
    with pytest.raises(SystemExit):
        main(["encode", "--input", str(solvents), "--output", str(tmp_path / "shipped.csv")])
    assert list(read(tmp_path / "shipped.csv").columns) == [*SOLVENTS.columns, *names, "error", "warning"]


def test_encode_and_map_with_an_onnx_model_do_not_import_torch(models, tmp_path):
    _, _, onnx, solvents = models
    code = (
        "import sys; from gnnchi.cli import main\n"
        "try:\n"
        f"    main(['encode', '--model', {str(onnx)!r}, '--input', {str(solvents)!r}, "
        f"'--output', {str(tmp_path / 'e.csv')!r}])\n"
        "except SystemExit:\n    pass\n"
        f"main(['map', '--model', {str(onnx)!r}, '--polymer', '*CC(*)c1ccccc1', '--solvents', {str(solvents)!r}, "
        f"'--output', {str(tmp_path / 'm.png')!r}])\n"
        "assert 'torch' not in sys.modules, [m for m in sys.modules if m.startswith('torch')][:3]"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "e.csv").is_file() and (tmp_path / "m.png").is_file()


def test_map_projects_u_colours_by_predicted_chi_and_labels_the_extremes(models, tmp_path):
    from sklearn.decomposition import PCA

    from gnnchi.inference.solvent_map import plot_solvent_map, solvent_map

    _, _, onnx, solvents = models
    predictor = Predictor.from_file(onnx)
    polymer, temperature = "*CC(*)c1ccccc1", 320.0
    data = solvent_map(predictor, polymer, SOLVENTS, temperature, labels=4)
    good = SOLVENTS.drop(index=sorted(BAD)).reset_index(drop=True)
    assert data.points["id"].tolist() == good["id"].tolist() and data.failed["id"].tolist() == ["c"]

    # the projection: a PCA of u (not r) of the polymer and the solvents, up to each axis' sign
    polymer_latent, _ = predictor.encode([polymer], "polymer")
    solvent_latent, _ = predictor.encode(good["solvent"].tolist(), "solvent")
    u = np.concatenate([polymer_latent, solvent_latent])[:, :K]
    scores = PCA(2).fit(u).transform(u)
    ours = np.vstack([data.polymer_xy, data.points[["pc1", "pc2"]].to_numpy()])
    signs = np.sign((scores * ours).sum(axis=0))
    np.testing.assert_allclose(ours * signs, scores, atol=1e-4)
    np.testing.assert_allclose(data.explained, PCA(2).fit(u).explained_variance_ratio_, atol=1e-5)

    # the colour: chi_exp of each pair at that temperature, as predict gives it
    predicted = predictor.predict([polymer] * len(good), good["solvent"].tolist(), [temperature] * len(good))
    np.testing.assert_allclose(data.points["chi_exp"], predicted["chi_exp"], rtol=1e-5, atol=1e-5)

    # the labels: the name (or the SMILES where it has none) of the 2 lowest and the 2 highest chi
    order = np.argsort(predicted["chi_exp"].to_numpy())
    chosen = {*order[:2], *order[-2:]}
    text = [n or s for n, s in zip(good["name"], good["solvent"])]
    assert data.points["label"].tolist() == [t if i in chosen else "" for i, t in enumerate(text)]

    png = tmp_path / "direct.png"
    plot_solvent_map(data, png, "polystyrene")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    main(["map", "--model", str(onnx), "--polymer", polymer, "--solvents", str(solvents), "--temperature_C", "25",
          "--output", str(tmp_path / "maps" / "map.png")])  # fmt: skip
    assert (tmp_path / "maps" / "map.png").stat().st_size > 10_000
