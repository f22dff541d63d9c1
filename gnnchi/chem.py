"""The single RDKit gate: every SMILES becomes a molecule here, or a typed error says why not.

A polymer is its repeat unit with exactly two `*` attachment atoms (``*CC(*)c1ccccc1``);
a solvent is one neutral-or-charged molecule without `*`; a cation (an anion) is one ion without `*`
whose formal charges sum to more (less) than zero.
"""

from __future__ import annotations

from typing import Literal

from rdkit import Chem, rdBase

from gnnchi.errors import InvalidSmilesError

MoleculeKind = Literal["polymer", "solvent", "cation", "anion"]
ION_CHARGE_SIGN = {"cation": 1, "anion": -1}  # the sign an ion's net formal charge must have
DEFAULT_MAX_HEAVY_ATOMS = 250


def make_mol(
    smiles: str,
    kind: MoleculeKind,
    row: int | None = None,
    max_heavy_atoms: int = DEFAULT_MAX_HEAVY_ATOMS,
) -> Chem.Mol:
    """Parse and check one SMILES; raise :class:`InvalidSmilesError` naming the SMILES, row and reason."""

    def fail(reason: str) -> InvalidSmilesError:
        return InvalidSmilesError(smiles if isinstance(smiles, str) else repr(smiles), reason, row, kind)

    if not isinstance(smiles, str) or not smiles.strip():
        raise fail("empty SMILES")
    smiles = smiles.strip()
    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(smiles, sanitize=False)
        if mol is None:
            raise fail("RDKit cannot parse it (check brackets, ring-closure digits and element symbols)")
        try:
            Chem.SanitizeMol(mol)
            if any(a.GetAtomicNum() == 1 for a in atoms_of(mol)):  # explicit [H] atoms become counts
                mol = Chem.RemoveHs(mol)
            if "/" in smiles or "\\" in smiles:  # E/Z labels, as MolFromSmiles assigns them
                Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
        except Exception as err:  # RDKit raises several exception types, all meaning "chemically invalid"
            raise fail(f"RDKit cannot sanitize it: {err}") from None
    if len(Chem.GetMolFrags(mol)) > 1:
        raise fail("it has several '.'-separated fragments (a mixture or a salt); give one molecule")
    atoms = atoms_of(mol)
    dummies = [a for a in atoms if a.GetAtomicNum() == 0]
    if kind == "polymer":
        _check_repeat_unit(dummies, fail)
    elif dummies:
        raise fail(f"a {kind} must not contain '*' attachment points")
    if kind in ION_CHARGE_SIGN:
        charge = sum(a.GetFormalCharge() for a in atoms)
        if charge * ION_CHARGE_SIGN[kind] <= 0:
            raise fail(f"{'an' if kind == 'anion' else 'a'} {kind} needs a net charge {'above' if kind == 'cation' else 'below'} zero; "
                       f"its formal charges sum to {charge:+d}")
    if mol.GetNumAtoms() - len(dummies) == 0:
        raise fail("it has no heavy atom")
    if any(a.GetNumRadicalElectrons() for a in atoms):
        raise fail("it has unpaired electrons (a radical); write the closed-shell molecule")
    if mol.GetNumAtoms() - len(dummies) > max_heavy_atoms:
        raise fail(f"{mol.GetNumAtoms() - len(dummies)} heavy atoms exceed the limit of {max_heavy_atoms}")
    return mol


def atoms_of(mol: Chem.Mol) -> list[Chem.Atom]:
    """The atoms of ``mol`` (direct indexing: RDKit's Python sequence wrapper is several times slower)."""
    return [mol.GetAtomWithIdx(i) for i in range(mol.GetNumAtoms())]


def bonds_of(mol: Chem.Mol) -> list[Chem.Bond]:
    return [mol.GetBondWithIdx(i) for i in range(mol.GetNumBonds())]


def _check_repeat_unit(dummies: list[Chem.Atom], fail) -> None:
    if len(dummies) != 2:
        raise fail(f"a polymer repeat unit needs exactly two '*' atoms, found {len(dummies)}")
    for atom in dummies:
        if atom.GetDegree() != 1:
            raise fail("each '*' must be bonded to exactly one atom")
    if dummies[0].GetNeighbors()[0].GetIdx() == dummies[1].GetIdx():
        raise fail("the two '*' atoms are bonded to each other")
    bond_types = {a.GetBonds()[0].GetBondType() for a in dummies}
    if len(bond_types) != 1:
        raise fail("both '*' atoms must be attached by bonds of the same order")


def canonical_key(mol: Chem.Mol, kind: MoleculeKind) -> str:
    """Identity of a molecule for deduplication and predictions (canonical isomeric SMILES).

    A polymer's key is the canonical SMILES of its cyclic trimer, so rotated units
    (``*CCO*``, ``*OCC*``, ``*COC*``) share one key.
    """
    return molecule_keys(mol, kind)[0]


def group_key(mol: Chem.Mol, kind: MoleculeKind) -> str:
    """What splits group by: :func:`canonical_key` without stereo (E/Z, chiral centres) and isotope
    labels, so stereo twins (``*C/C=C/C*``, ``*CC=CC*``; ``*C[C@H](*)C``, ``*CC(*)C``) share a group
    and never sit on both sides of a split. The featurizer reads no chirality or isotope at all."""
    return molecule_keys(mol, kind)[1]


def molecule_keys(mol: Chem.Mol, kind: MoleculeKind) -> tuple[str, str]:
    """:func:`canonical_key` and :func:`group_key` of a molecule (a polymer's trimer built once)."""
    key_mol = cyclic_oligomer(mol, 3) if kind == "polymer" else mol
    return Chem.MolToSmiles(key_mol), Chem.MolToSmiles(key_mol, isomericSmiles=False)


def _open_unit(repeat_unit: Chem.Mol) -> tuple[Chem.RWMol, int, int, Chem.BondType]:
    """The unit without its two `*`, the indices (in it) of the atoms they were bonded to, and
    the order of those bonds."""
    dummies = [a.GetIdx() for a in atoms_of(repeat_unit) if a.GetAtomicNum() == 0]
    head, tail = (repeat_unit.GetAtomWithIdx(i).GetNeighbors()[0].GetIdx() for i in dummies)
    bond_type = repeat_unit.GetAtomWithIdx(dummies[0]).GetBonds()[0].GetBondType()
    core = Chem.RWMol(repeat_unit)
    for idx in sorted(dummies, reverse=True):
        core.RemoveAtom(idx)
    shift = lambda i: i - sum(d < i for d in dummies)
    return core, shift(head), shift(tail), bond_type


def _joined_copies(repeat_unit: Chem.Mol, n: int, ring: bool) -> tuple[Chem.RWMol, Chem.RWMol, int, int, Chem.BondType]:
    """``n`` copies of the unit without its `*` (copy c holds atoms ``c * unit atoms ...`` and bonds
    ``c * unit bonds ...``), each joined head to tail to the next, and the last to the first if ``ring``
    (those bonds after the copies' own). Returns the copies, the unit, its head and tail and the bond type."""
    unit, head, tail, bond_type = _open_unit(repeat_unit)
    size = unit.GetNumAtoms()
    copies = Chem.RWMol()
    for _ in range(n):
        copies.InsertMol(unit)
    for copy in range(n if ring else n - 1):
        copies.AddBond(copy * size + tail, ((copy + 1) % n) * size + head, bond_type)
    return copies, unit, head, tail, bond_type


def linear_trimer(repeat_unit: Chem.Mol) -> tuple[Chem.Mol, int, int]:
    """Three copies of a repeat unit joined head to tail, `*` left only at the two outer ends.

    Returns (trimer, num_atoms, num_bonds) of the unit without its `*`: copy c holds atoms
    ``c * num_atoms ...`` and bonds ``c * num_bonds ...`` in the unit's order; bond
    ``3 * num_bonds`` joins copies 0 and 1, bond ``3 * num_bonds + 1`` copies 1 and 2.
    """
    chain, core, head, tail, bond_type = _joined_copies(repeat_unit, 3, ring=False)
    size, num_bonds = core.GetNumAtoms(), core.GetNumBonds()
    for end in (head, 2 * size + tail):
        chain.AddBond(end, chain.AddAtom(Chem.Atom(0)), bond_type)
    mol = chain.GetMol()
    flags = Chem.SanitizeFlags
    with rdBase.BlockLogs():
        # the copies keep the unit's sanitised valences and aromaticity; joining them only
        # changes ring membership, conjugation and hybridisation (same features as a full
        # sanitisation on every bundled polymer)
        mol.UpdatePropertyCache(strict=False)
        Chem.FastFindRings(mol)
        Chem.SanitizeMol(mol, sanitizeOps=flags.SANITIZE_SETCONJUGATION | flags.SANITIZE_SETHYBRIDIZATION)
        if any(b.GetBondDir() != Chem.BondDir.NONE for b in bonds_of(repeat_unit)):  # E/Z marks to carry over
            Chem.AssignStereochemistry(mol, cleanIt=True, force=True)
    return mol, size, num_bonds


_BOND_ORDER = {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3}


def capped_oligomer(repeat_unit: Chem.Mol, n: int) -> Chem.Mol:
    """``n`` copies of a repeat unit joined head to tail into a chain whose two ends take hydrogens
    in place of the `*` (a sanitised small molecule)."""
    chain, unit, head, tail, bond_type = _joined_copies(repeat_unit, n, ring=False)
    for end in (head, (n - 1) * unit.GetNumAtoms() + tail):
        atom = chain.GetAtomWithIdx(end)
        if atom.GetNoImplicit():  # a bracket atom: its hydrogen count is explicit, so add the cap's
            atom.SetNumExplicitHs(atom.GetNumExplicitHs() + _BOND_ORDER.get(bond_type, 1))
    mol = chain.GetMol()
    with rdBase.BlockLogs():
        Chem.SanitizeMol(mol)
    return mol


def cyclic_oligomer(repeat_unit: Chem.Mol, n: int) -> Chem.Mol:
    """Join ``n`` copies of a repeat unit head to tail into a ring (the `*` atoms removed)."""
    mol = _joined_copies(repeat_unit, n, ring=True)[0].GetMol()
    with rdBase.BlockLogs():
        Chem.SanitizeMol(mol)
    return mol
