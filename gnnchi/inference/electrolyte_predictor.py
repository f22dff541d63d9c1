"""log10 ionic conductivity of polymer-electrolyte formulations from a trained electrolyte model (a
checkpoint or an ensemble manifest, with torch; or its ONNX export, torch-free), with a calibrated std and
each formulation's temperature law; and the screen of polymers x salts x salt loadings.

>>> predictor = ElectrolytePredictor()   # the shipped model; or a .onnx, .ckpt or ensemble.json path
>>> predictor.predict_frame(pd.DataFrame({"component_1": ["*CCO*"], "fraction_1": [0.9],
...     "component_2": ["[Li+].O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F"], "fraction_2": [0.1],
...     "mn_g_mol": [1e5], "temperature_C": [60]}))
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from gnnchi.chem import DEFAULT_MAX_HEAVY_ATOMS
from gnnchi.data.mixture_records import MixtureRecords, check_mixtures, normalize_mixture_columns
from gnnchi.datasets.electrolytes import component_mol
from gnnchi.errors import ModelFileError
from gnnchi.featurizers import collate_graphs
from gnnchi.inference import onnx_format
from gnnchi.inference.calibration import from_record
from gnnchi.inference.domain import Domain
from gnnchi.systems.electrolyte import ELECTROLYTE, TARGET

NOVELTY_ROLES = ("polymer", "salt")  # the calibration's two novelty terms: the record's most novel polymer, salt
LAW_COLUMNS = ("log10_prefactor", "activation_energy_kJ_mol", "vft_T0_K")


class RecordAssessment(NamedTuple):
    """How unlike the training compounds each record's are, each compound assessed once.

    novelty: per role in ``NOVELTY_ROLES``, [R] the highest novelty (1 - highest Tanimoto similarity to a
    training compound of the role) among the record's compounds of that role; 0 without one, or without a domain.
    notes: [R] what of the record's compounds is unlike training (an element, a ring system, low similarity); "" when fine.
    """

    novelty: dict[str, np.ndarray]
    notes: list[str]


def assess_records(records: MixtureRecords, domain: Domain | None) -> RecordAssessment:
    """:class:`RecordAssessment` of ``records`` against ``domain`` (the training compounds by role)."""
    compounds, slots = records.compounds, records.components()
    roles = compounds["role"].to_numpy()
    novelty, compound_notes = np.zeros(len(compounds)), [""] * len(compounds)
    for role in ("polymer", "salt", "additive"):
        chosen = np.flatnonzero(roles == role)
        if domain is not None and role in domain.kinds and len(chosen):
            mols = [component_mol(role, compounds["smiles"].iloc[i]) for i in chosen]
            novelty[chosen], notes = domain.assess(mols, role)
            for i, note in zip(chosen, notes):
                compound_notes[i] = note
    present = slots >= 0
    per_role = {}
    for role in NOVELTY_ROLES:
        of_role = np.where(roles == role, novelty, 0.0)
        per_slot = np.where(present, of_role[np.maximum(slots, 0)], 0.0)
        per_role[role] = per_slot.max(axis=1) if per_slot.size else np.zeros(len(slots))
    notes = ["; ".join(dict.fromkeys(compound_notes[s] for s in row if s >= 0 and compound_notes[s])) for row in slots]
    return RecordAssessment(per_role, notes)


def training_domain(records: MixtureRecords, rows: np.ndarray) -> Domain:
    """The compounds of ``rows``, by role (polymer, salt, additive): what novelty is measured against."""
    used = np.unique(records.components()[rows])
    used = used[used >= 0]
    compounds = records.compounds.iloc[used]
    return Domain.of({
        role: [component_mol(role, s) for s in compounds.loc[compounds["role"] == role, "smiles"]]
        for role in ("polymer", "salt", "additive")
    })  # fmt: skip


class _TorchMixtureModel:
    """Checkpoints or an ensemble manifest (torch): an :class:`~gnnchi.models.electrolyte.ElectrolyteEnsemble`."""

    def __init__(self, paths: list[Path]):
        from gnnchi.models.ensemble import load_ensemble, uncertainty_record_of

        self.net = load_ensemble(paths)
        self.uncertainty_record = uncertainty_record_of(paths)

    def encode(self, graph, num_graphs: int) -> np.ndarray:
        """Graph arrays (x, edge_index, edge_attr, batch) -> [G, n M]."""
        import torch

        with torch.no_grad():
            return self.net.encode_components(*(torch.from_numpy(np.ascontiguousarray(a)) for a in graph), num_graphs).numpy()

    def outputs(self, latent: np.ndarray, fractions: np.ndarray, temperature_K: np.ndarray, mn_g_mol: np.ndarray) -> np.ndarray:
        """[P, C, n M], [P, C], [P], [P] float32 -> [P, n, 4]."""
        import torch

        with torch.no_grad():
            arrays = (torch.from_numpy(np.ascontiguousarray(a)) for a in (latent, fractions, temperature_K, mn_g_mol))
            return self.net.mixture_outputs(*arrays).numpy()


class _OnnxMixtureModel:
    """An exported electrolyte model (onnxruntime; no torch): the mixture head and the component encoder beside it."""

    def __init__(self, path: Path):
        import onnxruntime as ort

        files = onnx_format.file_names(path, ELECTROLYTE)
        self.sessions = {}
        for part, file in files.items():
            if not file.is_file():
                raise ModelFileError(f"{file} is missing: an electrolyte export is {', '.join(str(f) for f in files.values())}")
            metadata = onnx_format.read_metadata(file)
            onnx_format.check_part_metadata(metadata, part, file)
            if metadata.get(onnx_format.SYSTEM) != ELECTROLYTE.name:
                raise ModelFileError(f"{file} is not a model of the {ELECTROLYTE.name} system")
            self.sessions[part] = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
            if part == onnx_format.MIXTURE_HEAD:
                record = metadata.get(onnx_format.UNCERTAINTY)
                self.uncertainty_record = json.loads(record) if record else None

    def encode(self, graph, num_graphs: int) -> np.ndarray:
        feeds = dict(zip(onnx_format.GRAPH_INPUTS, graph)) | {"graph_ids": np.arange(num_graphs, dtype=np.int64)}
        return self.sessions["component_encoder"].run(None, feeds)[0]

    def outputs(self, latent: np.ndarray, fractions: np.ndarray, temperature_K: np.ndarray, mn_g_mol: np.ndarray) -> np.ndarray:
        feeds = dict(zip(onnx_format.MIXTURE_INPUTS, (latent, fractions, temperature_K, mn_g_mol)))
        return self.sessions[onnx_format.MIXTURE_HEAD].run(None, feeds)[0]


class ElectrolytePredictor:
    """log10 sigma (S/cm) of formulations, with its std and each formulation's log10 A, Ea and T0.

    ``model``: an exported ``.onnx`` (torch-free), a checkpoint, an ``ensemble.json``, or a list of checkpoints;
    default: the shipped electrolyte model.
    The std is calibrated (``calibrated=True``) where the model carries its fitted uncertainty: the members'
    spread scaled, a floor, and terms growing with how unlike the training polymers and salts the
    formulation's are. Otherwise it is the spread over members (NaN for one model).
    """

    def __init__(self, model: str | Path | list | None = None, max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
                 calibrated: bool = True):  # fmt: skip
        if model is None:
            from gnnchi import release

            model = release.shipped_model(ELECTROLYTE.name)  # looked up at call time: tests may point it elsewhere
        paths = [Path(p) for p in (model if isinstance(model, list) else [model])]
        for path in paths:
            if not path.is_file():
                raise ModelFileError(f"model file {str(path)!r} does not exist")
        if any(p.suffix == ".onnx" for p in paths):
            if len(paths) > 1:
                raise ModelFileError("give one exported .onnx model (export an ensemble as one model)")
            self.model = _OnnxMixtureModel(paths[0])
        else:
            self.model = _TorchMixtureModel(paths)
            if self.model.net.system_name != ELECTROLYTE.name:
                raise ModelFileError(f"{paths[0]} is not a model of the {ELECTROLYTE.name} system")
        self.max_heavy_atoms = max_heavy_atoms
        uncertainty = from_record(self.model.uncertainty_record) if calibrated else None
        self.calibration = uncertainty.calibration.get(TARGET) if uncertainty is not None else None
        self.domain = uncertainty.domain if uncertainty is not None else None

    def _outputs(self, records: MixtureRecords) -> np.ndarray:
        """[R, n, 4] of each member for the records: log10 sigma, log10 A, Ea, T0."""
        latent = self.model.encode(collate_graphs(records.graphs), len(records.graphs))  # [G, n M]
        conditions = records.conditions()
        return self.model.outputs(
            np.ascontiguousarray(latent[np.maximum(records.components(), 0)]), records.fractions(),
            np.ascontiguousarray(conditions[:, 0]), np.ascontiguousarray(conditions[:, 1]),
        )  # fmt: skip

    def predict_records(self, records: MixtureRecords, assessment: RecordAssessment | None = None) -> pd.DataFrame:
        """One row per record: log10 sigma, its std and the temperature law (members' mean); ``assessment``:
        the records' :func:`assess_records` against this model's domain, when the caller has it already."""
        frame = pd.DataFrame(index=records.table.index)
        if not len(records.table):
            return frame.assign(**{TARGET: [], f"{TARGET}_std": [], **{c: [] for c in LAW_COLUMNS}})
        outputs = self._outputs(records)
        out, law = outputs[:, :, 0], outputs[:, :, 1:]
        mean = out.mean(axis=1)
        spread = out.std(axis=1, ddof=1) if out.shape[1] > 1 else np.full(len(out), np.nan)
        if self.calibration is None:
            std = spread
        else:
            novelty = (assessment or assess_records(records, self.domain)).novelty
            std = self.calibration.sigma(spread, *(novelty[role] for role in NOVELTY_ROLES), mean)
        frame[TARGET], frame[f"{TARGET}_std"] = mean, std
        for j, column in enumerate(LAW_COLUMNS):
            frame[column] = law[:, :, j].mean(axis=1)
        return frame

    def predict_frame(self, frame: pd.DataFrame, source: str = "input") -> pd.DataFrame:
        """The input rows in order (a table in the mixture CSV's columns, :mod:`gnnchi.data.mixtures`) with
        ``log10_conductivity_S_cm``, ``log10_conductivity_S_cm_std``, ``log10_prefactor``,
        ``activation_energy_kJ_mol``, ``vft_T0_K`` (0 for Arrhenius), ``error`` ("" when fine; then no
        prediction) and ``warning`` (renormalised fractions; a compound unlike the training ones)."""
        normalized, unparsed = normalize_mixture_columns(frame.reset_index(drop=True), source)
        records, problems, warnings = check_mixtures(normalized, self.max_heavy_atoms, require_target=False)
        errors: dict[int, list[str]] = {}
        for problem in [*unparsed, *problems]:
            errors.setdefault(problem.row, []).append(f"{problem.column}: {problem.reason}")
        notes: dict[int, list[str]] = {}
        for warning in warnings:
            notes.setdefault(warning.row, []).append(warning.reason)
        assessment = assess_records(records, self.domain)
        predicted = self.predict_records(records, assessment).set_index(records.table["row"].to_numpy())
        for row, text in zip(records.table["row"].to_numpy(), assessment.notes):
            if text:
                notes.setdefault(int(row), []).append(text)
        out = frame.reset_index(drop=True).copy()
        lines = normalized["row"].to_numpy()
        for column in (TARGET, f"{TARGET}_std", *LAW_COLUMNS):
            values = predicted[column].reindex(lines).to_numpy(float) if column in predicted else np.full(len(out), np.nan)
            out[column] = values
        out["error"] = ["; ".join(errors.get(int(r), [])) for r in lines]
        out.loc[out["error"] != "", [TARGET, f"{TARGET}_std", *LAW_COLUMNS]] = np.nan
        out["warning"] = ["; ".join(dict.fromkeys(notes.get(int(r), []))) for r in lines]
        return out


__all__ = ["LAW_COLUMNS", "NOVELTY_ROLES", "ElectrolytePredictor", "RecordAssessment", "assess_records", "screen_formulations",
           "training_domain"]


def screen_formulations(
    predictor: ElectrolytePredictor, polymers: list[str], salts: list[str], salt_fractions, temperatures_K,
    mn_g_mol: float | None = None, top: int | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Every polymer x salt x salt mole fraction (the polymer's repeat units take the rest) at each
    temperature, ranked by predicted log10 conductivity (highest first) within each temperature; ``top``:
    the best N per temperature. Formulations that fail come last with their ``error``."""
    grid = pd.MultiIndex.from_product(
        [list(dict.fromkeys(polymers)), list(dict.fromkeys(salts)), [float(x) for x in np.atleast_1d(salt_fractions)],
         [float(t) for t in np.atleast_1d(temperatures_K)]], names=["polymer", "salt", "salt_fraction", "temperature_K"],
    ).to_frame(index=False)  # fmt: skip
    table = pd.DataFrame({
        "component_1": grid["polymer"], "role_1": "polymer", "fraction_1": 1.0 - grid["salt_fraction"],
        "component_2": grid["salt"], "role_2": "salt", "fraction_2": grid["salt_fraction"],
        "mn_g_mol": np.nan if mn_g_mol is None else float(mn_g_mol), "temperature_K": grid["temperature_K"],
    })  # fmt: skip
    out = predictor.predict_frame(table, "screen")
    ranked = pd.concat([grid, out[[TARGET, f"{TARGET}_std", *LAW_COLUMNS, "error", "warning"]]], axis=1)
    good, bad = ranked[ranked["error"] == ""], ranked[ranked["error"] != ""]
    blocks = []
    for _, block in good.groupby("temperature_K", sort=False):
        block = block.sort_values(TARGET, ascending=False, kind="stable")
        block = block.head(top) if top is not None else block
        blocks.append(block.assign(rank=np.arange(1, len(block) + 1)))
    ranked = pd.concat([*blocks, bad.assign(rank=pd.NA)], ignore_index=True)
    ranked["rank"] = ranked["rank"].astype("Int64")
    return ranked[["rank", *[c for c in ranked.columns if c != "rank"]]]
