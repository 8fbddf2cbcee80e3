"""Learning-rate schedules, with ``torch.optim.lr_scheduler``'s names and semantics.

A scheduler rewrites ``group['lr']`` in its optimizer's parameter groups. Building one records
each group's starting rate as ``group['initial_lr']`` (η₀ below, kept in ``base_lrs``) and
performs the initial step, which sets the rate for epoch t = 0; after that, call
``scheduler.step()`` once per epoch (or per iteration), **after** ``optimizer.step()``::

    opt = SGD(params, lr=0.1)
    sched = StepLR(opt, step_size=30, gamma=0.1)      # lr = 0.1 now (t = 0)
    for epoch in range(100):
        train_one_epoch(opt)                          # uses the current lr
        sched.step()                                  # t ← t + 1, lr for the next epoch

``last_epoch`` is t, ``get_last_lr()`` the rates it last set.

Each schedule's docstring gives its closed form η_t in terms of η₀ and t, and the rule the
code follows. Where PyTorch computes the rate recursively from the current ``group['lr']``
(StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR: its "chainable" form), so
does minigrad: the sequence equals the closed form as long as nothing else changes the rate,
and a change made from outside (by hand, or by another scheduler stepping the same optimizer)
carries on into later steps, as in PyTorch. LambdaLR always uses its closed form.

PolynomialLR, OneCycleLR, CosineAnnealingWarmRestarts, CyclicLR and ChainedScheduler follow
PyTorch's rules too (CyclicLR and OneCycleLR also cycle the momentum, or Adam's β₁, inversely
to the rate); InverseTimeDecay (η_t = η₀ / (1 + k t), the training documents' "dynamic
learning rate") is a minigrad extension. One module per idea: ``decay`` (factor schedules),
``cosine``, ``cyclic``, ``combine`` (SequentialLR, ChainedScheduler), ``plateau``; every name
is importable from here, ``minigrad.optim.lr_scheduler.X``.
"""

from ._base import LRScheduler
from .combine import ChainedScheduler, SequentialLR
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .decay import (
                    ExponentialLR,
                    InverseTimeDecay,
                    LambdaLR,
                    LinearLR,
                    MultiStepLR,
                    PolynomialLR,
                    StepLR,
)
from .plateau import ReduceLROnPlateau

__all__ = [
                    "ChainedScheduler",
                    "CosineAnnealingLR",
                    "CosineAnnealingWarmRestarts",
                    "CyclicLR",
                    "ExponentialLR",
                    "InverseTimeDecay",
                    "LRScheduler",
                    "LambdaLR",
                    "LinearLR",
                    "MultiStepLR",
                    "OneCycleLR",
                    "PolynomialLR",
                    "ReduceLROnPlateau",
                    "SequentialLR",
                    "StepLR",
]
