"""The real data bundled with gnnchi (MIT-licensed; each LICENSE lies beside its files).

- ``mtl_chiparameter/``: experimental chi (``chi_exp``), COSMO-RS chi (``chi_cosmo``) and the
  paper's 5 test folds, from yoshida-lab/MTL_ChiParameter (Aoki et al., Macromolecules 2023).
- ``polysol/``: solvent / non-solvent labels (``soluble``) from cstubb/PolySol (Stubbs et al.,
  Digital Discovery 2025), with monomers converted to repeat units (see :mod:`gnnchi.datasets.polysol`).
- ``hansen_hspipy/``: Hansen solubility parameters and molar volumes of 1,206 small molecules, from
  Gnpd/HSPiPy @3e1612d1 ``examples/HSP_dataset.csv`` (see :mod:`gnnchi.datasets.hansen`).
- ``idac_brouwer/``: 20,870 ln gamma_inf measurements of small-molecule solute / solvent pairs
  (-23 to 282 °C), from edgarsmdn/GH-GNN @0bbd2b31 ``data/raw/Brouwer_2021.csv`` (see
  :mod:`gnnchi.datasets.idac`).
"""

from gnnchi.datasets.bundled import bundled_pairs, load_chi_cosmo, load_chi_exp
from gnnchi.datasets.hansen import load_hansen
from gnnchi.datasets.idac import load_idac

__all__ = ["bundled_pairs", "load_chi_cosmo", "load_chi_exp", "load_hansen", "load_idac"]
