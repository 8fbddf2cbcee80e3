r"""Weight averaging, as ``torch.optim.swa_utils``: stochastic weight averaging (SWA, Izmailov
et al., 2018) and exponential moving averages of a model's weights.

::

    swa_model = AveragedModel(model)
    swa_scheduler = SWALR(optimizer, swa_lr=0.05, anneal_epochs=5)
    for epoch in range(epochs):
        train_one_epoch(model, optimizer)
        if epoch >= swa_start:
            swa_model.update_parameters(model)   # running mean of the weights
            swa_scheduler.step()
    update_bn(train_loader, swa_model)           # batch-norm statistics for the averaged weights

The average of weights taken along the end of training often generalises better than the last
weights; it is a one-model ensemble (:mod:`minigrad.ensemble` averages predictions instead).
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from .. import backend
from ..autograd import no_grad
from ..nn.layers import _BatchNorm
from ..nn.module import Module
from ..tensor import Tensor, tensor
from .lr_scheduler._base import LRScheduler, _check_int

__all__ = ["SWALR", "AveragedModel", "get_ema_avg_fn", "update_bn"]


def get_ema_avg_fn(decay: float = 0.999):
    r"""An ``avg_fn`` for :class:`AveragedModel` giving an exponential moving average::

        θ_EMA ← decay · θ_EMA + (1 − decay) · θ
    """
    if not isinstance(decay, numbers.Real) or not 0.0 <= decay <= 1.0:
        raise ValueError(f"get_ema_avg_fn: invalid decay = {decay!r}: expected a number in "
                         f"[0, 1]")

    def ema_update(averaged_param, current_param, num_averaged):
        return decay * averaged_param + (1.0 - decay) * current_param
    return ema_update


class AveragedModel(Module):
    r"""A copy of ``model`` whose weights are the average of the weights it was shown.

    After the n-th call of :meth:`update_parameters` (n = ``n_averaged``), with θ_i the model's
    parameters at the i-th call::

        θ̄_1 = θ_1,     θ̄_n = θ̄_{n−1} + (θ_n − θ̄_{n−1}) / n      (the running mean)

    or, with ``avg_fn(θ̄, θ, n_averaged) -> new θ̄`` (Tensors in, a Tensor out, e.g.
    :func:`get_ema_avg_fn`), θ̄_n = avg_fn(θ̄_{n−1}, θ_n, n − 1) from the second call on.

    Buffers (batch-norm statistics) are copied from the model at each update, unless
    ``use_buffers=True``, which averages the floating-point buffers like the parameters
    (integer ones, such as ``num_batches_tracked``, are copied). Otherwise call
    :func:`update_bn` once at the end to recompute the batch-norm statistics for θ̄.

    ``forward`` runs the averaged copy; ``module`` is that copy, ``n_averaged`` a buffer (so
    ``state_dict`` holds the count). ``device`` puts the copy on another device (the model's
    weights are moved there at each update).
    """

    def __init__(self, model, device=None, avg_fn=None, use_buffers: bool = False):
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a Module, got {type(model).__name__}")
        if avg_fn is not None and not callable(avg_fn):
            raise TypeError(f"AveragedModel: avg_fn must be callable, got "
                            f"{type(avg_fn).__name__}")
        self.module = copy.deepcopy(model)
        if device is not None:
            self.module.to(device)
        first = next(iter(self.module.parameters()), None)
        self.register_buffer("n_averaged", tensor(0, dtype=np.int64,
                                                  device=None if first is None
                                                  else first.device))
        self.avg_fn = avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @staticmethod
    def _tensors(module, with_buffers):
        items = list(module.parameters())
        if with_buffers:
            items += [b for b in module.buffers() if b is not None]
        return items

    def update_parameters(self, model) -> None:
        """Fold ``model``'s current weights into the average (see the class docstring)."""
        mine = self._tensors(self.module, self.use_buffers)
        theirs = self._tensors(model, self.use_buffers)
        if len(mine) != len(theirs):
            raise ValueError(f"AveragedModel.update_parameters: the model has {len(theirs)} "
                             f"parameters/buffers, the averaged copy {len(mine)}: not the same "
                             f"architecture")
        n = int(self.n_averaged.item())
        with no_grad():
            for averaged, current in zip(mine, theirs):
                if tuple(averaged.shape) != tuple(current.shape):
                    raise ValueError(f"AveragedModel.update_parameters: shape "
                                     f"{tuple(current.shape)} against the average's "
                                     f"{tuple(averaged.shape)}")
                value = backend.to_device(current.data, averaged.device)
                if n == 0 or averaged.dtype.kind != "f":
                    averaged.data[...] = value                       # θ̄_1 = θ_1
                elif self.avg_fn is None:
                    averaged.data += (value - averaged.data) / (n + 1)  # θ̄ += (θ − θ̄)/n
                else:
                    new = self.avg_fn(Tensor._make(averaged.data.copy()), Tensor._make(value),
                                      Tensor._make(self.n_averaged.data.copy()))
                    averaged.data[...] = new.data if isinstance(new, Tensor) else new
                averaged._bump_version()
            if not self.use_buffers:  # keep the buffers in step with the model's
                for mine_buffer, their_buffer in zip(self.module.buffers(), model.buffers()):
                    if mine_buffer is not None and their_buffer is not None:
                        mine_buffer.data[...] = backend.to_device(their_buffer.data,
                                                                  mine_buffer.device)
            self.n_averaged.data += 1


class SWALR(LRScheduler):
    r"""Anneal each group's rate from its current value to ``swa_lr`` over ``anneal_epochs``
    epochs, then hold it there: PyTorch's ``torch.optim.swa_utils.SWALR``.

    With s the number of steps taken (0 when built) and T = max(1, ``anneal_epochs``)::

        α(p) = (1 − cos(π p)) / 2     ('cos')      or     α(p) = p     ('linear')
        p_s = clamp(s / T, 0, 1)
        η_s = α(p_s) · swa_lr + (1 − α(p_s)) · η_start

    where η_start is recovered from the current rate and the previous fraction (PyTorch's
    chainable rule): η_start = (η_{s−1} − α(p_{s−1}) swa_lr) / (1 − α(p_{s−1})), or swa_lr
    when α(p_{s−1}) = 1. With ``anneal_epochs=0`` the rate is swa_lr from the first step.
    """

    def __init__(self, optimizer, swa_lr, anneal_epochs: int = 10, anneal_strategy: str = "cos",
                 last_epoch: int = -1):
        n_groups = len(getattr(optimizer, "param_groups", []))
        swa_lrs = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * n_groups
        if len(swa_lrs) != n_groups:
            raise ValueError(f"SWALR: expected {n_groups} values of swa_lr (one per parameter "
                             f"group), got {len(swa_lrs)}")
        for group, rate in zip(optimizer.param_groups, swa_lrs):
            group["swa_lr"] = rate
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"SWALR: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        _check_int("SWALR", "anneal_epochs", anneal_epochs, 0)
        self.anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def _anneal(self, p: float) -> float:
        if self.anneal_strategy == "cos":
            return (1 - math.cos(math.pi * p)) / 2
        return p

    @staticmethod
    def _start_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        length = max(1, self.anneal_epochs)
        prev_alpha = self._anneal(max(0.0, min(1.0, (step - 1) / length)))
        alpha = self._anneal(max(0.0, min(1.0, step / length)))
        groups = self.optimizer.param_groups
        starts = [self._start_lr(g["lr"], g["swa_lr"], prev_alpha) for g in groups]
        return [g["swa_lr"] * alpha + start * (1 - alpha) for g, start in zip(groups, starts)]


def update_bn(loader, model, device=None) -> None:
    """Recompute the batch-norm running statistics of ``model`` with one pass over ``loader``
    (PyTorch's ``update_bn``): each BatchNorm's statistics are reset and accumulated as a
    cumulative average over the batches (momentum=None), in training mode, then the momenta
    and the model's mode are restored. A batch that is a tuple or list gives its first item to
    the model. Nothing happens when the model has no batch norm."""
    momenta = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for batch in loader:
            if isinstance(batch, (list, tuple)):
                batch = batch[0]
            if device is not None:
                batch = batch.to(device)
            model(batch)
    for module, momentum in momenta.items():
        module.momentum = momentum
    model.train(was_training)
