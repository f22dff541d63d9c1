"""The polymer-electrolyte data: chain ends to `*`, the loader's columns, the record checks and the
component-set key. Expected values are written by hand, not computed by the code under test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gnnchi.chem import canonical_key, make_mol
from gnnchi.data.records import check_pairs, normalize_columns
from gnnchi.datasets.electrolytes import check_electrolytes, load_compounds, load_electrolytes, repeat_unit
from gnnchi.errors import InvalidSmilesError, RowProblem
from gnnchi.featurizers import featurize

PEO, LITFSI = "*CCO*", "O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F.[Li+]"
PEO_KEY, LITFSI_KEY = "C1COCCOCCO1", "O=S(=O)([N-]S(=O)(=O)C(F)(F)F)C(F)(F)F.[Li+]"  # PEO: its cyclic trimer
EC = "O=C1OCCO1"


def records(*components: list[tuple[str, str, float]], mn: float = 1e5) -> pd.DataFrame:
    """A wide table of hand-written records: each a list of (SMILES, role, mole fraction); lines from 2."""
    rows = []
    for line, record in enumerate(components, start=2):
        row = {"mn_g_mol": mn, "temperature_K": 333.15, "log10_conductivity_S_cm": -4.0, "source": "test", "row": line}
        for i in range(1, 5):
            smiles, role, fraction = record[i - 1] if i <= len(record) else ("", "", np.nan)
            row |= {f"component_{i}": smiles, f"role_{i}": role, f"fraction_{i}": fraction}
        rows.append(row)
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("source", "written"),
    [("[Cu]CCO[Au]", "*CCO*"), ("[Cu]OCC[Au]", "*CCO*"), ("[Cu]CC(Cl)[Au]", "*CC(*)Cl")],  # PEO twice, PVC
)
def test_chain_ends_become_the_same_polymer_as_a_hand_written_repeat_unit(source, written):
    converted = repeat_unit(source)
    assert converted.count("*") == 2 and "[Cu]" not in converted and "[Au]" not in converted
    assert canonical_key(make_mol(converted, "polymer"), "polymer") == canonical_key(
        make_mol(written, "polymer"), "polymer"
    )


def test_bundled_peo_is_read_as_a_repeat_unit_with_the_chi_systems_key():
    peo = load_compounds().loc[336]  # compounds.csv line 338: 336,COCCC,0,1,[Cu]OCC[Au]
    assert peo["role"] == "polymer" and peo["smiles"] == "*OCC*"
    assert canonical_key(make_mol(peo["smiles"], "polymer"), "polymer") == PEO_KEY


def test_a_converted_polymer_is_featurized_exactly_as_the_chi_system_featurizes_the_hand_written_one():
    chi = pd.DataFrame({"polymer": ["*CC(Cl)*"], "solvent": ["CCO"], "temperature_K": [300.0], "chi_exp": [0.5]})
    chi_records, problems = check_pairs(normalize_columns(chi, "chi"), "chi")
    assert problems == []
    expected = chi_records.graphs["polymer"][0]
    graph = featurize(make_mol(repeat_unit("[Cu]CC(Cl)[Au]"), "polymer"))
    assert graph.x.shape == (3, expected.x.shape[1]) and graph.edge_index.shape == (2, 6)  # C, C, Cl; 3 bonds
    for mine, theirs in zip(graph, expected):
        np.testing.assert_array_equal(mine, theirs)


def test_fractions_summing_to_098_are_renormalised_with_a_warning():
    table = records([(PEO, "polymer", 0.90), (LITFSI, "salt", 0.08)], [(PEO, "polymer", 0.9), (LITFSI, "salt", 0.0995)])
    kept, problems, warnings = check_electrolytes(table)
    assert problems == [] and len(kept) == 2
    assert warnings == [RowProblem(2, "fractions", "0.98", "the mole fractions sum to 0.98; renormalised to 1", "test")]
    np.testing.assert_allclose(kept.loc[0, ["fraction_1", "fraction_2"]].to_numpy(float), [45 / 49, 4 / 49])
    np.testing.assert_array_equal(
        kept.loc[1, ["fraction_1", "fraction_2"]].to_numpy(float), [0.9, 0.0995]
    )  # 0.9995: within 1e-3


@pytest.mark.parametrize("fraction", [1.2, -0.1])
def test_a_fraction_outside_0_1_refuses_its_row_only(fraction):
    table = records([(PEO, "polymer", 0.9), (LITFSI, "salt", 0.1)], [(PEO, "polymer", 0.9), (LITFSI, "salt", fraction)])
    kept, problems, warnings = check_electrolytes(table)
    assert kept["row"].tolist() == [2] and warnings == []
    assert problems == [RowProblem(3, "fraction_2", f"{fraction:g}", "a mole fraction must lie in [0, 1]", "test")]


def test_a_salt_is_checked_ion_by_ion_and_must_be_neutral():
    with pytest.raises(InvalidSmilesError, match="several '.'-separated fragments"):
        make_mol(LITFSI, "solvent")  # the gate takes one molecule, so a salt is checked per fragment
    table = records(
        [(PEO, "polymer", 0.9), (LITFSI, "salt", 0.1)], [(PEO, "polymer", 0.9), ("[Li+].[Li+].[Cl-]", "salt", 0.1)]
    )
    kept, problems, _ = check_electrolytes(table)
    assert kept["row"].tolist() == [2]
    assert [(p.row, p.column, p.reason) for p in problems] == [
        (3, "component_2", "a salt's formal charges must sum to zero; they sum to +1")
    ]


def test_component_order_and_writing_do_not_change_the_component_set():
    table = records(
        [(PEO, "polymer", 0.8), (LITFSI, "salt", 0.1), (EC, "additive", 0.1)],
        [
            (EC, "additive", 0.1),
            ("[Li+].O=S(=O)(C(F)(F)F)[N-]S(=O)(=O)C(F)(F)F", "salt", 0.1),
            ("*OCC*", "polymer", 0.8),
        ],
        [(PEO, "polymer", 0.9), (LITFSI, "salt", 0.1)],
    )
    kept, problems, _ = check_electrolytes(table)
    assert problems == []
    assert kept["component_set"].tolist() == [
        f"additive {EC} + polymer {PEO_KEY} + salt {LITFSI_KEY}",
        f"additive {EC} + polymer {PEO_KEY} + salt {LITFSI_KEY}",
        f"polymer {PEO_KEY} + salt {LITFSI_KEY}",
    ]


@pytest.fixture(scope="module")
def bundled() -> pd.DataFrame:
    return load_electrolytes()


def test_the_bundled_file_loads_every_record_with_its_source_line(bundled):
    assert len(bundled) == 11350 and bundled["row"].tolist() == list(range(2, 11352))
    first = bundled.iloc[
        0
    ]  # line 2: 600000.0,5990.712263,,,-5.211726,...,403.247...,"[336.0, 283.0]","[0.857142857, 0.142857143]"
    assert (first["component_1"], first["role_1"], first["component_2"], first["role_2"], first["component_3"]) == (
        "*OCC*", "polymer", "*CC(S(=O)([O-])=O)*", "polymer", ""
    )  # fmt: skip
    assert (first["fraction_1"], first["fraction_2"], first["mn_g_mol"]) == (0.857142857, 0.142857143, 600000.0)
    assert np.isnan(first["fraction_3"]) and first["log10_conductivity_S_cm"] == -5.211726
    blend = bundled.iloc[137]  # line 139: 52800.0,5000000.0 for [252, 336] at [0.166666667, 0.833333333]
    assert blend["mn_g_mol"] == 5000000.0  # the Mn of PEO, the polymer with the larger mole fraction


def test_the_bundled_records_kept_and_refused_are_the_documented_ones(bundled):
    kept, problems, warnings = check_electrolytes(bundled)
    assert len(kept) == 10691 and len({p.row for p in problems}) == 659 and warnings == []
    unaligned = {p.row for p in problems if p.reason == "no mole fraction for this component"}
    five = {p.row for p in problems if p.reason == "a record takes at most 4 components"}
    assert (len(unaligned), len(five)) == (283, 178)
    assert set(kept.columns) >= {"component_4", "fraction_4", "mn_g_mol", "component_set"} and "component_5" not in kept
