"""Optimizers and learning-rate schedules, with ``torch.optim``'s names and update rules.

::

    import minigrad.optim as optim
    opt = optim.Adam(model.parameters(), lr=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        sched.step()          # after opt.step(), as in PyTorch

Each optimizer's docstring states its update rule in math; the code follows it line by line,
updating the parameter arrays in place. See :mod:`minigrad.optim.optimizer` for the rules
they share (groups, state, state_dict, memory).

:class:`LBFGS` and :class:`ConjugateGradient` (a minigrad extension) take a closure that
re-evaluates the loss, and share one strong-Wolfe line search
(:mod:`minigrad.optim.line_search`)::

    opt = optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss
    for _ in range(10):
        opt.step(closure)

``minigrad.optim.swa_utils`` holds weight averaging (``AveragedModel``, ``SWALR``,
``update_bn``), as ``torch.optim.swa_utils``; it is imported on first use.
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .conjugate_gradient import ConjugateGradient
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "LBFGS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "ConjugateGradient",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
    "swa_utils",
]


def __getattr__(name):
    if name == "swa_utils":  # imported on first use: it needs nn, which optim does not
        import importlib
        return importlib.import_module(".swa_utils", __name__)
    raise AttributeError(f"module 'minigrad.optim' has no attribute {name!r}")
