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
"""

from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "lr_scheduler"]
