"""Training utilities, with ``torch.nn.utils``'s names: gradient clipping, parameters as one
vector, regularization penalties, and magnitude pruning (:mod:`minigrad.nn.utils.prune`).

- :func:`clip_grad_norm_`, :func:`clip_grad_value_` (:mod:`.clip_grad`)
- :func:`parameters_to_vector`, :func:`vector_to_parameters` (:mod:`.convert_parameters`)
- :func:`l1_penalty`, :func:`l2_penalty`, :func:`elastic_net_penalty` (:mod:`.penalties`)
- :mod:`.prune`: ``l1_unstructured random_unstructured ln_structured global_unstructured
  remove is_pruned``, sparsity reports and gradual pruning
"""

from . import prune
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from .penalties import elastic_net_penalty, l1_penalty, l2_penalty

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "get_total_norm",
    "parameters_to_vector", "vector_to_parameters",
    "l1_penalty", "l2_penalty", "elastic_net_penalty",
    "prune",
]
