"""SyncBatchNorm: batch normalization whose statistics are those of the whole global batch, over
every rank of a data-parallel job (``torch.nn.SyncBatchNorm``). With rank r holding x_r of n_r
values per channel and N = Σ_r n_r:

    μ  = Σ_r Σ x_r / N                      σ² = Σ_r Σ (x_r − μ)² / N      (biased)
    y  = (x − μ) / √(σ² + eps) · γ + β
    running_mean ← (1 − m) running_mean + m μ,   running_var ← (1 − m) running_var + m σ² N/(N−1)

The two sums are all-reduced by a differentiable collective (its backward all-reduces the
gradient too), so the gradient of every rank's loss reaches every rank's inputs, as through one
batch norm over the concatenated batch. In eval mode, or in a group of one, it is a plain batch
norm. ``SyncBatchNorm.convert_sync_batchnorm(model)`` swaps every BatchNorm1d/2d for one,
keeping its parameters and buffers.
"""

from __future__ import annotations

import numpy as np

from ...autograd import Function, no_grad
from ...tensor import Tensor
from ..layers import BatchNorm1d, BatchNorm2d, _BatchNorm

__all__ = ["SyncBatchNorm"]


class _AllReduceSum(Function):
    """out = Σ_r a_r on every rank;  da_r = Σ_r g_r (every rank's output feeds its own loss)."""

    def forward(self, a, group):
        from ... import distributed
        self.group = group
        total = Tensor._make(a.copy())
        distributed.all_reduce(total, group=group)
        return total.data

    def backward(self, g):
        return _AllReduceSum.apply(g, group=self.group)


class SyncBatchNorm(_BatchNorm):
    """Batch normalization of (N, C, *) input with statistics over the global batch of
    ``process_group``'s ranks (default: the initialized group); see the module docstring."""

    _input_dims = (2, 3, 4, 5)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)
        self.process_group = process_group

    def _group(self):
        from ... import distributed
        if self.process_group is not None:
            return self.process_group
        return distributed.default_group() if distributed.is_initialized() else None

    def forward(self, input):
        group = self._group()
        if not self.training or group is None or group.world_size == 1:
            return super().forward(input)
        if input.ndim not in self._input_dims or input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm({self.num_features}): expected (N, C, *) input "
                             f"with {self.num_features} channels in dim 1, got shape "
                             f"{tuple(input.shape)}")
        axes = (0,) + tuple(range(2, input.ndim))
        per_channel = (1, self.num_features) + (1,) * (input.ndim - 2)
        from ... import distributed
        count = Tensor._make(np.array([input.data.size // input.shape[1]], dtype=np.float64))
        distributed.all_reduce(count, group=group)   # N: a host number, no gradient
        total = float(count.data[0])
        if total <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over the "
                             f"ranks, got {total:g}")
        mean = _AllReduceSum.apply(input.sum(axes), group=group) * (1.0 / total)
        centered = input - mean.reshape(per_channel)
        var = _AllReduceSum.apply((centered * centered).sum(axes), group=group) * (1.0 / total)
        y = centered * (var + self.eps).rsqrt().reshape(per_channel)
        if self.affine:
            y = y * self.weight.reshape(per_channel) + self.bias.reshape(per_channel)
        if self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
                m = (1.0 / int(self.num_batches_tracked.item()) if self.momentum is None
                     else float(self.momentum))
                self.running_mean.mul_(1.0 - m).add_(mean.detach(), m)
                self.running_var.mul_(1.0 - m).add_(var.detach() * (total / (total - 1)), m)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/BatchNorm2d replaced by a SyncBatchNorm holding
        the same parameters and buffers (the module itself when it is one)."""
        if isinstance(module, (BatchNorm1d, BatchNorm2d)):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine,
                       module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(sync, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name) is not None:
                    setattr(sync, name, getattr(module, name))
            sync.train(module.training)
            return sync
        for name, child in list(module.named_children()):
            converted = cls.convert_sync_batchnorm(child, process_group)
            if converted is not child:
                setattr(module, name, converted)
        return module

