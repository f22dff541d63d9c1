"""ONNX export of a trained model or ensemble: the whole pair model, and the two encoders and the
pair head separately (screening encodes each molecule once and pairs the cached encodings).

Every file is a single ONNX file (no external data) carrying the metadata a predictor needs.
Export refuses to write a model whose onnxruntime outputs differ from torch by more than
``tolerance`` on molecules of other sizes than the export example, molecules without bonds,
and batches of one and of many.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch.export import Dim

from gnnchi.chem import make_mol
from gnnchi.errors import GnnChiError
from gnnchi.featurizers import GraphBatch, collate_graphs, featurize
from gnnchi.files import atomic_write
from gnnchi.inference import onnx_format
from gnnchi.inference.onnx_format import (
    ENCODER_INPUTS,
    ENCODER_OUTPUT,
    GRAPH_INPUTS,
    MODEL_OUTPUT,
    head_inputs,
    pair_inputs,
)
from gnnchi.inference.screening import HeadParameters
from gnnchi.models.ensemble import EnsembleNet, load_ensemble, uncertainty_record_of
from gnnchi.systems import System, get_system
from gnnchi.systems.chi import CHI_TASKS, CLASS_TASK, TASKS

OUTPUT_COLUMNS = (f"logit_{CLASS_TASK}", *CHI_TASKS)
ISOTHERM_OUTPUT_COLUMNS = ("x_co2",)

# export example: sizes other than those of the parity check below
EXAMPLE = (["*CC(*)c1ccccc1", "*CCO*", "*CC(*)Cl"], ["Cc1ccccc1", "CCO", "C1CCOC1"])
CHECKS = [
    (["*C*"], ["O"]),  # one pair, one-atom polymer with a self-loop, a solvent without bonds
    (["*CC*", "*C*"], ["C", "[Cl-]"]),
    (
        ["*CC(*)(C)C(=O)OC", "*Oc1ccc(C(C)(C)c2ccc(OC(*)=O)cc2)cc1", "*NCCCCCC(*)=O", "*O[Si](C)(C)*"] * 4,
        ["CC(C)=O", "ClC(Cl)Cl", "OC(=O)C(F)(F)F", "CCCCCCCCCCCCCCCC", "O", "c1ccc2ccccc2c1", "CS(C)=O", "C"] * 2,
    ),
]


# the ionic-liquid system's export example and checks (ions of other sizes, a one-atom anion, many pairs)
IL_EXAMPLE = (["CCCC[n+]1ccn(C)c1", "CC[n+]1ccn(C)c1", "CCCC[N+](C)(C)C"], ["F[P-](F)(F)(F)(F)F", "F[B-](F)(F)F", "CC(=O)[O-]"])
IL_CHECKS = [
    (["C[n+]1ccn(C)c1"], ["[Cl-]"]),
    (["CCCCCC[n+]1ccn(C)c1", "CCCC[P+](CCCC)(CCCC)CCCC"], ["O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F", "[Br-]"]),
    (["CCCC[n+]1ccn(C)c1", "CCCCn1cc[n+](C)c1C", "C[N+](C)(C)CCO", "CCCC[n+]1ccccc1"] * 4,
     ["F[P-](F)(F)(F)(F)F", "N#C[N-]C#N", "[O-]S(=O)(=O)C(F)(F)F", "CCOS(=O)(=O)[O-]", "[Cl-]", "CC(=O)[O-]",
      "F[B-](F)(F)F", "[O-][N+](=O)[O-]"] * 2),
]  # fmt: skip


class ExportError(GnnChiError):
    """The exported model does not reproduce the torch model."""


class _Encoder(nn.Module):
    """One encoder with the number of graphs taken from an input: x, edge_index, edge_attr, batch, graph_ids [G]."""

    def __init__(self, encode):
        super().__init__()
        self.encode = encode

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, graph_ids: Tensor) -> Tensor:
        return self.encode(x, edge_index, edge_attr, batch, graph_ids.shape[0])


class _PairHead(nn.Module):
    def __init__(self, net: EnsembleNet):
        super().__init__()
        self.net = net

    def forward(self, polymer_latent: Tensor, solvent_latent: Tensor, temperature_K: Tensor) -> Tensor:
        return self.net.pair_head(polymer_latent, solvent_latent, temperature_K)


class _IsothermPairHead(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, cation_latent: Tensor, anion_latent: Tensor, temperature_K: Tensor, pressure_kPa: Tensor) -> Tensor:
        return self.net.pair_head(cation_latent, anion_latent, temperature_K, pressure_kPa)


def graph_batch(smiles: list[str], kind: str) -> GraphBatch:
    return collate_graphs([featurize(make_mol(s, kind)) for s in smiles])


def conditions_for(system: System, num_pairs: int) -> list[np.ndarray]:
    """Plausible conditions spread over each condition's range, one value per pair: [P] float32 each."""
    spread = {"temperature_K": (250.0, 450.0), "pressure_kPa": (1.0, 30000.0)}
    return [np.geomspace(*spread[c.name], num_pairs).astype(np.float32) for c in system.conditions]


def pair_arrays(first: list[str], second: list[str], *conditions, system: System | None = None) -> dict[str, np.ndarray]:
    """The whole model's inputs for pairs of SMILES and their conditions (chi by default)."""
    system = system or get_system("chi")
    kinds = [m.kind for m in system.molecules]
    arrays = (*graph_batch(first, kinds[0]), *graph_batch(second, kinds[1]))
    return dict(zip(pair_inputs(system), (*arrays, *(np.asarray(c, np.float32) for c in conditions))))


def _metadata(net, part: str, uncertainty_record: dict | None) -> dict[str, str]:
    if net.system_name == "co2_il":
        from gnnchi.inference.isotherm import IsothermParameters

        heads = [IsothermParameters.from_torch(member.head) for member in net.members]
        return onnx_format.isotherm_metadata(part, heads, list(ISOTHERM_OUTPUT_COLUMNS), uncertainty_record)
    heads = [HeadParameters.from_torch(member.head) for member in net.members]
    return onnx_format.part_metadata(part, heads, net.latent_dim, list(TASKS), list(OUTPUT_COLUMNS), uncertainty_record)


def _to_onnx_bytes(module: nn.Module, args: tuple, names: list[str], outputs: list[str], dynamic: dict, meta: dict) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            module, args, dynamo=True, external_data=False, input_names=names, output_names=outputs,
            dynamic_shapes=dynamic, verbose=False,
        )  # fmt: skip
    model = program.model_proto
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    return model.SerializeToString()


def _graph_dims(prefix: str) -> dict:
    atoms, edges = Dim(f"{prefix}_atoms"), Dim(f"{prefix}_edges")
    return {"x": {0: atoms}, "edge_index": {1: edges}, "edge_attr": {0: edges}, "batch": {0: atoms}}


def export_models(net, uncertainty_record: dict | None = None) -> dict[str, bytes]:
    """ONNX bytes of each part (:func:`onnx_format.parts`) of an eval-mode ensemble of a system
    (outputs [P, n, outputs]); the pair head's metadata carries the model's uncertainty record
    (:mod:`gnnchi.inference.calibration`)."""
    net = net.eval()
    system = get_system(net.system_name)
    first, second = EXAMPLE if system.name == "chi" else IL_EXAMPLE
    names = pair_inputs(system)
    example = pair_arrays(first, second, *conditions_for(system, len(first)), system=system)
    tensors = {k: torch.from_numpy(v) for k, v in example.items()}
    pairs = Dim("pairs")
    kinds = [m.kind for m in system.molecules]
    dyn_pair = {f"{kind}_{name}": dims for kind in kinds for name, dims in _graph_dims(kind).items()}
    dyn_pair.update({c.name: {0: pairs} for c in system.conditions})
    models = {
        "pair_model": _to_onnx_bytes(
            net, tuple(tensors[n] for n in names), list(names), [MODEL_OUTPUT], dyn_pair, _metadata(net, "pair_model", None),
        )  # fmt: skip
    }
    for molecule in system.molecules:
        encoder = _Encoder(getattr(net, f"encode_{molecule.kind}s"))
        args = tuple(tensors[f"{molecule.kind}_{n}"] for n in GRAPH_INPUTS) + (torch.arange(len(first)),)
        dyn = {**_graph_dims(molecule.kind), "graph_ids": {0: Dim("graphs")}}
        models[molecule.encoder] = _to_onnx_bytes(
            encoder, args, list(ENCODER_INPUTS), [ENCODER_OUTPUT], dyn, _metadata(net, molecule.encoder, None)
        )
    width = net.encoding_dim * net.num_members if system.name == "co2_il" else 2 * net.latent_dim * net.num_members
    latent = torch.randn(len(first), width)
    head = _IsothermPairHead(net) if system.name == "co2_il" else _PairHead(net)
    inputs = head_inputs(system)
    models["pair_head"] = _to_onnx_bytes(
        head, (latent, latent.clone(), *(tensors[c.name] for c in system.conditions)), list(inputs),
        [MODEL_OUTPUT], {name: {0: pairs} for name in inputs}, _metadata(net, "pair_head", uncertainty_record),
    )  # fmt: skip
    return models


def check_parity(net, models: dict[str, bytes], tolerance: float) -> float:
    """Largest |onnxruntime - torch| / (1 + |torch|) over the check batches, through the whole model
    and through encoders + head; raises :class:`ExportError` above ``tolerance``."""
    import onnxruntime as ort

    system = get_system(net.system_name)
    sessions = {part: ort.InferenceSession(data, providers=["CPUExecutionProvider"]) for part, data in models.items()}
    worst = 0.0
    for first, second in CHECKS if system.name == "chi" else IL_CHECKS:
        conditions = conditions_for(system, len(first))
        arrays = pair_arrays(first, second, *conditions, system=system)
        with torch.no_grad():
            expected = net(*(torch.from_numpy(arrays[n]) for n in pair_inputs(system))).numpy()
        whole = sessions["pair_model"].run(None, arrays)[0]
        latents = []
        for molecule in system.molecules:
            feeds = {n: arrays[f"{molecule.kind}_{n}"] for n in GRAPH_INPUTS}
            feeds["graph_ids"] = np.arange(len(first), dtype=np.int64)
            latents.append(sessions[molecule.encoder].run(None, feeds)[0])
        split = sessions["pair_head"].run(None, dict(zip(head_inputs(system), (*latents, *conditions))))[0]
        for got in (whole, split):
            if got.shape != expected.shape:
                raise ExportError(f"ONNX output shape {got.shape} differs from torch {expected.shape}")
            # float32 rounding grows with the value (a logit of 10 carries 10x the error of a chi of 1)
            worst = max(worst, float((np.abs(got - expected) / (1.0 + np.abs(expected))).max()))
    if not worst <= tolerance:
        raise ExportError(f"ONNX outputs differ from torch by {worst:.3g} (> {tolerance:g}) relative to 1 + |torch|; "
                          "nothing was written")  # fmt: skip
    return worst


# the electrolyte system's export example and checks: formulations of 1-4 components (other sizes than the
# example's), a one-atom additive, a salt of two single atoms, and many rows
MIXTURE_EXAMPLE = [
    [("*CCO*", "polymer", 0.9), ("[Li+].O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F", "salt", 0.1)],
    [("*CC(C)O*", "polymer", 0.7), ("[Li+].[O-][Cl+3]([O-])([O-])[O-]", "salt", 0.2), ("O=C1OCCO1", "additive", 0.1)],
    [("*CCOC(=O)O*", "polymer", 1.0)],
]
MIXTURE_CHECKS = [
    [[("*CCO*", "polymer", 0.8), ("[Li+].[Cl-]", "salt", 0.1), ("O", "additive", 0.05), ("C", "additive", 0.05)]],
    [[("*O[Si](C)(C)*", "polymer", 0.85), ("[Na+].F[P-](F)(F)(F)(F)F", "salt", 0.15)],
     [("CCOC(=O)OC", "additive", 0.5), ("O=C1OCCO1", "additive", 0.4), ("[Li+].F[P-](F)(F)(F)(F)F", "salt", 0.1)]] * 8,
]  # fmt: skip


class _MixtureHead(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, component_latent: Tensor, fractions: Tensor, temperature_K: Tensor, mn_g_mol: Tensor) -> Tensor:
        return self.net.mixture_outputs(component_latent, fractions, temperature_K, mn_g_mol)


def mixture_arrays(formulations: list[list[tuple[str, str, float]]]) -> tuple[GraphBatch, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Formulations (each a list of (SMILES, role, mole fraction)) -> their distinct compounds' graph,
    [P, C] each slot's compound (0 where empty), [P, C] fractions, temperatures [P] and Mn [P] (NaN every third)."""
    from gnnchi.datasets.electrolytes import component_mol
    from gnnchi.systems.electrolyte import MAX_COMPONENTS

    compounds = list(dict.fromkeys((s, r) for f in formulations for s, r, _ in f))
    slots = np.zeros((len(formulations), MAX_COMPONENTS), np.int64)
    fractions = np.zeros((len(formulations), MAX_COMPONENTS), np.float32)
    for p, formulation in enumerate(formulations):
        for c, (smiles, role, fraction) in enumerate(formulation):
            slots[p, c], fractions[p, c] = compounds.index((smiles, role)), fraction
    graph = collate_graphs([featurize(component_mol(r, s)) for s, r in compounds])
    temperatures = np.linspace(230.0, 420.0, len(formulations)).astype(np.float32)
    mn = np.where(np.arange(len(formulations)) % 3 == 2, np.nan, np.geomspace(1e3, 1e6, len(formulations))).astype(np.float32)
    return graph, slots, fractions, temperatures, mn


def export_mixture_models(net, uncertainty_record: dict | None = None) -> dict[str, bytes]:
    """ONNX bytes of an electrolyte ensemble's component encoder and mixture head (outputs [P, n, 4])."""
    graph, slots, fractions, temperatures, mn = mixture_arrays(MIXTURE_EXAMPLE)
    num_compounds = int(graph.batch.max()) + 1
    encoder_args = (*(torch.from_numpy(a) for a in graph), torch.arange(num_compounds))
    meta = lambda part, record=None: onnx_format.mixture_metadata(part, net.num_members, net.encoding_dim, record)
    encoder = _Encoder(net.encode_components)
    models = {
        "component_encoder": _to_onnx_bytes(
            encoder, encoder_args, list(ENCODER_INPUTS), [ENCODER_OUTPUT],
            {**_graph_dims("component"), "graph_ids": {0: Dim("graphs")}}, meta("component_encoder"),
        )  # fmt: skip
    }
    with torch.no_grad():
        latent = net.encode_components(*encoder_args[:4], num_compounds)[torch.from_numpy(slots)]
    rows = Dim("rows")
    head_args = (latent, torch.from_numpy(fractions), torch.from_numpy(temperatures), torch.from_numpy(mn))
    dynamic = {"component_latent": {0: rows}, "fractions": {0: rows}, "temperature_K": {0: rows}, "mn_g_mol": {0: rows}}
    models[onnx_format.MIXTURE_HEAD] = _to_onnx_bytes(
        _MixtureHead(net), head_args, list(onnx_format.MIXTURE_INPUTS), [MODEL_OUTPUT], dynamic,
        meta(onnx_format.MIXTURE_HEAD, uncertainty_record),
    )  # fmt: skip
    return models


def check_mixture_parity(net, models: dict[str, bytes], tolerance: float) -> float:
    """Largest |onnxruntime - torch| / (1 + |torch|) of encoder + head over :data:`MIXTURE_CHECKS`; raises
    :class:`ExportError` above ``tolerance`` (NaN, the free readout's law, must stay NaN)."""
    import onnxruntime as ort

    sessions = {part: ort.InferenceSession(data, providers=["CPUExecutionProvider"]) for part, data in models.items()}
    worst = 0.0
    for formulations in MIXTURE_CHECKS:
        graph, slots, fractions, temperatures, mn = mixture_arrays(formulations)
        num_compounds = int(graph.batch.max()) + 1
        with torch.no_grad():
            encoded = net.encode_components(*(torch.from_numpy(a) for a in graph), num_compounds)
            expected = net.mixture_outputs(encoded[torch.from_numpy(slots)], *(torch.from_numpy(a) for a in (fractions, temperatures, mn))).numpy()
        feeds = dict(zip(GRAPH_INPUTS, graph)) | {"graph_ids": np.arange(num_compounds, dtype=np.int64)}
        latent = sessions["component_encoder"].run(None, feeds)[0][slots]
        got = sessions[onnx_format.MIXTURE_HEAD].run(None, dict(zip(onnx_format.MIXTURE_INPUTS, (latent, fractions, temperatures, mn))))[0]
        if got.shape != expected.shape or not np.array_equal(np.isnan(got), np.isnan(expected)):
            raise ExportError(f"ONNX output shape {got.shape} (or its missing values) differs from torch {expected.shape}")
        finite = ~np.isnan(expected)
        worst = max(worst, float((np.abs(got - expected)[finite] / (1.0 + np.abs(expected[finite]))).max()))
    if not worst <= tolerance:
        raise ExportError(f"ONNX outputs differ from torch by {worst:.3g} (> {tolerance:g}) relative to 1 + |torch|; "
                          "nothing was written")  # fmt: skip
    return worst


def export_checkpoint(checkpoints, output: str | Path, tolerance: float = 1e-5) -> dict[str, Path]:
    """Export a checkpoint, or an ensemble (checkpoints and/or ``ensemble.json`` manifests), to
    ``output`` and its parts beside it, after the parity check."""
    paths = [checkpoints] if isinstance(checkpoints, (str, Path)) else list(checkpoints)
    net = load_ensemble(paths)
    uncertainty_record = uncertainty_record_of(paths)
    if uncertainty_record is None:
        print("note: this model has no fitted uncertainty (fit writes one; members listed one by one have none): "
              "its std is the raw spread over members", file=sys.stderr)  # fmt: skip
    if net.system_name == "electrolyte":
        models = export_mixture_models(net, uncertainty_record)
        worst = check_mixture_parity(net, models, tolerance)
    else:
        models = export_models(net, uncertainty_record)
        worst = check_parity(net, models, tolerance)
    files = onnx_format.file_names(output, get_system(net.system_name))
    for part, data in models.items():
        atomic_write(files[part], lambda file, data=data: file.write(data))
    print(f"exported {', '.join(str(p) for p in files.values())} ({net.num_members} member(s); "
          f"max |onnx - torch| / (1 + |torch|) = {worst:.2g})")  # fmt: skip
    return files

