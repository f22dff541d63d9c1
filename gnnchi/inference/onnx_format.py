"""The ONNX contract, defined once: file names, inputs and outputs, the metadata schema and the
format version. :mod:`gnnchi.inference.export` writes with it and the ONNX backend reads with it.

An export is four single-file ONNX models (no external data): the whole pair model and, beside
it, the two encoders and the pair head (screening encodes each molecule once). Every file carries
the metadata below; the pair head's metadata also holds each member's head as plain numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gnnchi.errors import ModelFileError
from gnnchi.inference.screening import HeadParameters
from gnnchi.systems import CHI, System, get_system

EXPORT_FORMAT = "3"  # 2: outputs [P, members, 1 + C] and per-member head metadata; 3: + solubility_temperature
GRAPH_INPUTS = ("x", "edge_index", "edge_attr", "batch")
ENCODER_INPUTS = (*GRAPH_INPUTS, "graph_ids")  # graph_ids [G]: the number of graphs as a shape
MODEL_OUTPUT, ENCODER_OUTPUT = "outputs", "latent"  # the output of the whole model and of the pair head; of an encoder


MIXTURE_HEAD = "mixture_head"  # the electrolyte system's head: component encodings + fractions + conditions
MIXTURE_INPUTS = ("component_latent", "fractions", "temperature_K", "mn_g_mol")  # [P, C, n M], [P, C], [P], [P]
MIXTURE_OUTPUT_COLUMNS = ("log10_conductivity_S_cm", "log10_prefactor", "activation_energy_kJ_mol", "vft_T0_K")


def parts(system: System) -> tuple[str, ...]:
    """The files of an export of ``system``, the main file first: the whole pair model, one encoder per molecule
    kind, the pair head; for a mixture system (electrolyte) the mixture head and the component encoder."""
    if system.name == "electrolyte":
        return (MIXTURE_HEAD, *(m.encoder for m in system.molecules))
    return ("pair_model", *(m.encoder for m in system.molecules), "pair_head")


def pair_inputs(system: System) -> tuple[str, ...]:
    """Inputs of the whole model: each molecule's graph arrays, then each condition [P]."""
    return tuple(f"{m.kind}_{name}" for m in system.molecules for name in GRAPH_INPUTS) + tuple(c.name for c in system.conditions)


def head_inputs(system: System) -> tuple[str, ...]:
    """Inputs of the pair head: each molecule's encodings [P, n E], then each condition [P]."""
    return tuple(f"{m.kind}_latent" for m in system.molecules) + tuple(c.name for c in system.conditions)


def system_of(metadata: dict[str, str]) -> System:
    """The system an exported part belongs to (exports without the key are chi models)."""
    try:
        return get_system(metadata.get(SYSTEM, CHI.name))
    except KeyError as err:
        raise ModelFileError(f"this model is of a system this gnnchi does not know ({err.args[0]})") from None


# metadata keys
VERSION, PART, FORMAT, FEATURIZER, TASKS, OUTPUT_COLUMNS = (
    "gnnchi_version", "gnnchi_part", "export_format", "featurizer_version", "tasks", "output_columns",
)  # fmt: skip
LATENT_DIM, MEMBERS = "latent_dim", "ensemble_members"
SYSTEM = "system"  # absent in chi exports written before there were other systems
ENCODING_DIM = "encoding_dim"  # one member's encoding width (chi: 2k)
ISOTHERM_HEADS = "isotherm_heads"  # co2_il: one gnnchi.inference.isotherm.IsothermParameters per member, JSON
UNCERTAINTY = "uncertainty"  # the pair head's: the model's uncertainty record (gnnchi.inference.calibration), JSON
HEAD_KEYS = ("temperature_order", "temperature_scaling", "chi_scaling", "head_linear", "solubility_temperature")  # one entry per member


def file_names(output: str | Path, system: System = CHI) -> dict[str, Path]:
    """``gnnchi.onnx`` and its parts ``gnnchi.polymer_encoder.onnx``, ... beside it."""
    output = Path(output)
    stem = output.name[: -len(".onnx")] if output.name.endswith(".onnx") else output.name
    main = parts(system)[0]
    return {part: output if part == main else output.with_name(f"{stem}.{part}.onnx") for part in parts(system)}


def common_metadata(
    part: str, system: System, members: int, output_columns: list[str], uncertainty_record: dict | None = None
) -> dict[str, str]:
    """What every exported part carries: versions, its part and system, tasks, output columns, members
    and, for the pair head, the model's uncertainty record."""
    import gnnchi
    from gnnchi.featurizers import FEATURIZER_VERSION

    return {
        VERSION: gnnchi.__version__,
        PART: part,
        FORMAT: EXPORT_FORMAT,
        FEATURIZER: str(FEATURIZER_VERSION),
        SYSTEM: system.name,
        TASKS: json.dumps(list(system.task_names)),
        OUTPUT_COLUMNS: json.dumps(output_columns),
        MEMBERS: str(members),
        **({UNCERTAINTY: json.dumps(uncertainty_record)} if uncertainty_record is not None else {}),
    }


def part_metadata(
    part: str,
    heads: list[HeadParameters],
    latent_dim: int,
    tasks: list[str],
    output_columns: list[str],
    uncertainty_record: dict | None = None,
) -> dict[str, str]:
    """The metadata of one exported part of a chi model (``heads``: one per member, in the encodings'
    column-block order; ``uncertainty_record``: the pair head's, when the model has one)."""
    if tasks != list(CHI.task_names):
        raise ValueError(f"a chi export has the tasks {list(CHI.task_names)}, not {tasks}")
    return {
        **common_metadata(part, CHI, len(heads), output_columns, uncertainty_record),
        LATENT_DIM: str(latent_dim),
        ENCODING_DIM: str(2 * latent_dim),
        "temperature_order": json.dumps([h.order for h in heads]),
        "temperature_scaling": json.dumps([{"inv_t_mean": h.inv_t_mean, "inv_t_std": h.inv_t_std} for h in heads]),
        "chi_scaling": json.dumps([{"mean": h.chi_mean.tolist(), "std": h.chi_std.tolist()} for h in heads]),
        "head_linear": json.dumps([{"weight": h.weight.tolist(), "bias": h.bias.tolist()} for h in heads]),
        "solubility_temperature": json.dumps(
            [{"slope": h.solubility_chi_slope, "reference_temperature_K": h.reference_temperature_K} for h in heads]
        ),
    }


def isotherm_metadata(part: str, heads: list, output_columns: list[str], uncertainty_record: dict | None = None) -> dict[str, str]:
    """The metadata of one exported part of a co2_il model (``heads``: one
    :class:`~gnnchi.inference.isotherm.IsothermParameters` per member)."""
    return {
        **common_metadata(part, get_system("co2_il"), len(heads), output_columns, uncertainty_record),
        ENCODING_DIM: str(heads[0].encoding_dim),
        ISOTHERM_HEADS: json.dumps([h.to_json() for h in heads]),
    }


def mixture_metadata(part: str, members: int, encoding_dim: int, uncertainty_record: dict | None = None) -> dict[str, str]:
    """The metadata of one exported part of an electrolyte model."""
    return {
        **common_metadata(part, get_system("electrolyte"), members, list(MIXTURE_OUTPUT_COLUMNS), uncertainty_record),
        ENCODING_DIM: str(encoding_dim),
    }


def isotherm_heads_from_metadata(metadata: dict[str, str]) -> list:
    """Each member's isotherm head, as :func:`isotherm_metadata` wrote it."""
    from gnnchi.inference.isotherm import IsothermParameters

    return [IsothermParameters.from_json(h) for h in json.loads(metadata[ISOTHERM_HEADS])]


def encoding_width(metadata: dict[str, str]) -> int:
    """The width of an export's encodings: members x one member's (chi exports before the key: 2k)."""
    per_member = int(metadata[ENCODING_DIM]) if ENCODING_DIM in metadata else 2 * int(metadata[LATENT_DIM])
    return per_member * int(metadata[MEMBERS])


def check_part_metadata(metadata: dict[str, str], part: str, file: Path) -> None:
    """Refuse a file that is not this gnnchi's ``part``: another part, format or featurizer version."""
    from gnnchi.featurizers import FEATURIZER_VERSION

    if metadata.get(PART) != part:
        raise ModelFileError(f"{file} is not a gnnchi {part} (no gnnchi metadata)")
    if metadata.get(FORMAT) != EXPORT_FORMAT:
        raise ModelFileError(
            f"{file} was exported by another gnnchi version (export format {metadata.get(FORMAT)}, "
            f"this gnnchi reads {EXPORT_FORMAT}): export the model again"
        )
    if metadata.get(FEATURIZER) != str(FEATURIZER_VERSION):
        raise ModelFileError(
            f"{file} was exported with featurizer version {metadata.get(FEATURIZER)}; "
            f"this gnnchi uses {FEATURIZER_VERSION}: export the model again"
        )


def heads_from_metadata(metadata: dict[str, str]) -> list[HeadParameters]:
    """Each member's head, as :func:`part_metadata` wrote it."""
    orders, t_scales, chi_scales, linears, solubility = (json.loads(metadata[k]) for k in HEAD_KEYS)
    return [
        HeadParameters(
            np.asarray(linear["weight"], np.float32), np.asarray(linear["bias"], np.float32),
            float(t_scale["inv_t_mean"]), float(t_scale["inv_t_std"]), np.asarray(chi_scale["mean"], np.float32),
            np.asarray(chi_scale["std"], np.float32), int(order), float(coupling["slope"]),
            float(coupling["reference_temperature_K"]),
        )  # fmt: skip
        for order, t_scale, chi_scale, linear, coupling in zip(orders, t_scales, chi_scales, linears, solubility)
    ]


def uncertainty_from_metadata(metadata: dict[str, str]):
    """The :class:`~gnnchi.inference.calibration.Uncertainty` in a pair head's metadata, or None."""
    from gnnchi.inference.calibration import from_record

    return from_record(json.loads(metadata[UNCERTAINTY])) if UNCERTAINTY in metadata else None


def read_metadata(path: str | Path) -> dict[str, str]:
    """The gnnchi metadata of an exported ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}
