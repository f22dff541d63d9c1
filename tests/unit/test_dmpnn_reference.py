"""BondMessagePassingEncoder against a D-MPNN written out as plain loops (Yang et al. 2019, chemprop).

Per bond u-v there are two directed edges, u->v and v->u, each the reverse of the other:
    h0[e]      = relu(W_i [x_src, bond_e])
    m[e = v->w] = sum of h[k] over the directed edges k into v, except the reverse of e (one edge instance)
    h[e]       = relu(h0[e] + W_h m[e])                         (depth - 1 times)
    atom v     = relu(W_o [x_v, sum of h over the edges into v] + b_o)
    molecule   = ffn(mean of the atom states)              (descriptors: ffn([mean of the atom states, descriptors]))
A periodic repeat unit may close with a self-loop (``*C*``: both directions are 0->0) or repeat a
bond (``*CC*``: two bonds 0-1); the reverse is still the other direction of the same bond only.
"""

import numpy as np
import pytest
import torch

from gnnchi.chem import make_mol
from gnnchi.featurizers import ATOM_DIM, BOND_DIM, DESCRIPTOR_DIM, collate_graphs, featurize
from gnnchi.nn import BondMessagePassingEncoder

MOLECULES = [
    ("CCCO", "solvent"),  # chain
    ("CC(C)(C)O", "solvent"),  # a quaternary branch
    ("CC(C)C=O", "solvent"),  # branch and a double bond
    ("c1ccccc1O", "solvent"),  # a ring: messages come back round
    ("O", "solvent"),  # no bond at all
    ("*C*", "polymer"),  # closes with a self-loop
    ("*CC*", "polymer"),  # closes with a second bond between the same two atoms
    ("*CC(*)c1ccccc1", "polymer"),
]


def relu(values: list[float]) -> list[float]:
    return [max(v, 0.0) for v in values]


def matvec(weight: np.ndarray, vector: list[float], bias=None) -> list[float]:
    """weight [O, I] times vector [I] (+ bias), as a loop in float64."""
    out = []
    for o in range(weight.shape[0]):
        total = 0.0 if bias is None else float(bias[o])
        for i, v in enumerate(vector):
            total += float(weight[o, i]) * v
        out.append(total)
    return out


def add(a: list[float], b: list[float]) -> list[float]:
    return [x + y for x, y in zip(a, b)]


def reference_encoding(encoder: BondMessagePassingEncoder, node_x: np.ndarray, bonds, bond_features) -> list[float]:
    """One molecule: its graph's x [N, ATOM_DIM + DESCRIPTOR_DIM] (atom features, then the molecule's
    descriptors on every row), bonds [(u, v), ...] with their features -> the encoding."""
    x, descriptors = node_x[:, :ATOM_DIM], list(node_x[0, ATOM_DIM : ATOM_DIM + encoder.descriptor_dim])
    weights = {name: p.detach().double().numpy() for name, p in encoder.named_parameters()}
    hidden = weights["W_h.weight"].shape[0]
    # directed edges as (bond, direction); the reverse of (b, d) is (b, 1 - d), whatever the atoms are
    edges = [(b, d) for b in range(len(bonds)) for d in (0, 1)]
    source = {(b, d): bonds[b][d] for b, d in edges}
    target = {(b, d): bonds[b][1 - d] for b, d in edges}
    h0 = {e: relu(matvec(weights["W_i.weight"], [*x[source[e]], *bond_features[e[0]]])) for e in edges}
    h = dict(h0)
    for _ in range(encoder.depth - 1):
        new = {}
        for e in edges:
            message = [0.0] * hidden
            for k in edges:
                if target[k] == source[e] and k != (e[0], 1 - e[1]):
                    message = add(message, h[k])
            new[e] = relu(add(h0[e], matvec(weights["W_h.weight"], message)))
        h = new
    atom_states = []
    for v in range(len(x)):
        incoming = [0.0] * hidden
        for k in edges:
            if target[k] == v:
                incoming = add(incoming, h[k])
        atom_states.append(relu(matvec(weights["W_o.weight"], [*x[v], *incoming], weights["W_o.bias"])))
    pooled = [sum(state[j] for state in atom_states) / len(atom_states) for j in range(hidden)] + descriptors
    first, last = encoder.ffn[0], encoder.ffn[3]
    hidden_ffn = relu(matvec(first.weight.detach().double().numpy(), pooled, first.bias.detach().double().numpy()))
    return matvec(last.weight.detach().double().numpy(), hidden_ffn, last.bias.detach().double().numpy())


def bonds_of_graph(graph) -> tuple[list[tuple[int, int]], np.ndarray]:
    """The bonds of a featurized graph (edge 2i is u->v, edge 2i+1 its reverse v->u) and their features."""
    forward, backward = graph.edge_index[:, 0::2], graph.edge_index[:, 1::2]
    assert (backward == forward[::-1]).all() and (graph.edge_attr[0::2] == graph.edge_attr[1::2]).all()
    return [(int(u), int(v)) for u, v in forward.T], graph.edge_attr[0::2].astype(np.float64)


@pytest.fixture(scope="module")
def graphs():
    return [featurize(make_mol(smiles, kind)) for smiles, kind in MOLECULES]


def test_periodic_graphs_close_with_a_self_loop_and_a_repeated_bond(graphs):
    """The cases the reference must handle: they are in the graphs (else the test checks less than it says)."""
    by_smiles = {smiles: bonds_of_graph(g)[0] for (smiles, _), g in zip(MOLECULES, graphs)}
    assert by_smiles["*C*"] == [(0, 0)]
    assert sorted(tuple(sorted(b)) for b in by_smiles["*CC*"]) == [(0, 1), (0, 1)]
    assert by_smiles["O"] == []


@pytest.mark.parametrize("depth, descriptor_dim", [(2, 0), (4, 0), (3, DESCRIPTOR_DIM)])
def test_encoder_equals_the_loop_reference(graphs, depth, descriptor_dim):
    torch.manual_seed(depth)
    encoder = BondMessagePassingEncoder(
        ATOM_DIM, BOND_DIM, out_dim=6, hidden_dim=16, depth=depth, ffn_hidden_dim=12, descriptor_dim=descriptor_dim
    )
    encoder.eval()
    with torch.no_grad():  # larger recurrent weights: a wrong message changes the output well beyond rounding
        encoder.W_h.weight.mul_(3.0)
        batch = [torch.from_numpy(a) for a in collate_graphs(graphs)]
        out = encoder(*batch, len(graphs)).double().numpy()
    expected = np.array([reference_encoding(encoder, g.x.astype(np.float64), *bonds_of_graph(g)) for g in graphs])
    for (smiles, _), got, want in zip(MOLECULES, out, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5, err_msg=f"{smiles} at depth {depth}")
    assert np.abs(expected).max() > 1e-2  # the outputs are not all near zero
