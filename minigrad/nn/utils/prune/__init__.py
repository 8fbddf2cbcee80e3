r"""Magnitude pruning: zero out the least important weights of a model, with the mechanics of
``torch.nn.utils.prune``.

How a parameter is pruned
-------------------------
The first time ``module.<name>`` (say ``weight``) is pruned::

    module.weight_orig   the Parameter that was ``module.weight`` (the same object, so an
                         optimizer built earlier keeps updating it), holding the original values
    module.weight_mask   a buffer of the parameter's shape and dtype: 1 = kept, 0 = pruned
    module.weight        a plain attribute (no longer a parameter), recomputed as
                             weight = weight_orig ⊙ weight_mask
                         by a forward pre-hook before every forward

Because the effective weight is a product, backward gives ∂L/∂weight_orig = ∂L/∂weight ⊙ mask:
pruned entries get a zero gradient, and whatever an optimizer does to ``weight_orig`` they stay
zero in the weight the forward uses. ``state_dict`` holds ``weight_orig`` and ``weight_mask``
(not ``weight``). :func:`remove` makes the pruning permanent: ``weight`` becomes a Parameter
again (the ``weight_orig`` object, multiplied by the mask in place) and ``weight_orig``,
``weight_mask`` and the hook are gone.

Amounts and repeated pruning
----------------------------
``amount`` is a float fraction in [0, 1] or an int count. Pruning acts on the entries (or, for
structured pruning, the channels) that are still unpruned: with r of them left, a float amount
prunes k = round(amount · r) of them (Python's ``round``, half to even, as PyTorch does:
0.5 · 5 = 2.5 rounds to 2), and an int amount prunes exactly that many (more than r is an
error). So the masks compose: 50% then 50% of the rest leaves 25% of the weights, 75% zeros.
Beware ``amount=1`` (one entry) against ``amount=1.0`` (all of them).

Criteria
--------
- :func:`l1_unstructured`: the k unpruned entries with the smallest |w_i|.
- :func:`random_unstructured`: k unpruned entries drawn uniformly at random (the device's
  generator, seeded by ``minigrad.manual_seed``).
- :func:`ln_structured`: whole slices along ``dim`` (channels): the k unpruned channels with
  the smallest L_n norm ‖W_c‖_n = (Σ_{i in channel c} |w_i|^n)^(1/n) over all other dims.
- :func:`global_unstructured`: one criterion over the entries of several parameters at once,
  so the globally smallest entries are pruned, whichever layer they are in.

The importance of an entry is its original value (``weight_orig``), or ``importance_scores``
when given. Also here: :func:`sparsity` and :func:`sparsity_report` (fraction of zero weights,
per layer and global), :func:`polynomial_sparsity` (Zhu and Gupta's gradual schedule) and
:class:`GradualPruner` (prune while training by that schedule); :func:`shrink` (rebuild a
model without the units structured pruning zeroed: really smaller and faster).
"""

from .gradual import GradualPruner, polynomial_sparsity
from .functional import (custom_from_mask, global_unstructured, identity, is_pruned,
                      l1_unstructured, ln_structured, random_unstructured, remove)
from .methods import (BasePruningMethod, CustomFromMask, Identity, L1Unstructured,
                      LnStructured, PruningContainer, RandomUnstructured)
from .report import SparsityReport, sparsity, sparsity_report
from .shrink import kept_units, shrink

__all__ = [
    "BasePruningMethod", "PruningContainer", "Identity", "L1Unstructured",
    "RandomUnstructured", "LnStructured", "CustomFromMask",
    "identity", "l1_unstructured", "random_unstructured", "ln_structured",
    "global_unstructured", "custom_from_mask", "remove", "is_pruned",
    "sparsity", "sparsity_report", "SparsityReport",
    "polynomial_sparsity", "GradualPruner", "shrink", "kept_units",
]
