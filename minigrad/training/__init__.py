"""A training loop with metrics, progress, history, early stopping and resumable checkpoints.

``fit`` runs the loop a hand-written training script would run, and nothing more per batch::

    for epoch in range(epochs):
        model.train()
        for j, (x, y) in enumerate(train_loader):
            loss = loss_fn(model(x), y)
            (loss / k).backward()                      # k = accumulate_steps
            if (j + 1) % k == 0 or j is the last batch:
                clip_grad_norm_(params, clip_grad_norm)   # when asked
                optimizer.step(); optimizer.zero_grad()
                scheduler.step()                       # scheduler_interval="step"
        validate on val_loader (eval mode, no_grad)
        scheduler.step() / scheduler.step(monitored)   # scheduler_interval="epoch"
        record the epoch's logs; callbacks' on_epoch_end (may stop training)

**Gradient accumulation.** With ``accumulate_steps=k`` the gradients of k consecutive batches
are summed before one optimizer step, each loss scaled by 1/k, so the step uses their mean::

    g = (1/k) Σ_{i=1..k} ∇L_i

which, for equal batches of b samples and a mean-reduced loss, is the gradient of one batch of
k·b samples. Groups are counted within an epoch; a final group of r < k batches still steps,
with its losses scaled by 1/r (so it too uses a mean, not a gradient shrunk by r/k).

**Epoch logs** (the rows of :class:`History`): ``loss`` is the sample-weighted mean of the batch
losses, ``Σ_b n_b L_b / Σ_b n_b`` (exact for mean-reduced losses); each metric is computed once
over all the epoch's samples (the outputs the training steps already produced are kept, so the
train metrics cost no extra forward pass and reflect the model as it changed during the epoch);
``val_loss`` and ``val_<metric>`` come from :func:`evaluate` on ``val_loader``; ``lr`` is the
first parameter group's rate at the start of the epoch; ``time`` the epoch's seconds, validation
included.

**Metrics** are given by name (a function of :mod:`minigrad.metrics`) or as callables
``f(outputs, targets) -> float`` receiving the whole epoch's raw model outputs and targets as
NumPy arrays (note the order: outputs first, unlike ``minigrad.metrics``). A dict
``{name: metric}`` names them. The named classification metrics turn outputs into labels:

- outputs (N, C) with C >= 2: ``argmax`` over dim 1 (logits or probabilities alike);
- outputs (N,) or (N, 1): ``output > 0``, i.e. the outputs are taken as *logits* (as for
  ``BCEWithLogitsLoss``; a model ending in a sigmoid should threshold at 0.5 in a callable).

``precision``, ``recall`` and ``f1_score`` use ``average='binary'`` (class 1 positive) for one
or two output columns and ``'macro'`` for more; ``roc_auc_score`` scores class 1 by the logit,
or by ``out[:, 1] - out[:, 0]`` for two columns. ``mean_squared_error``,
``mean_absolute_error`` and ``r2_score`` compare the raw outputs with the targets.

**Resuming bit for bit.** A checkpoint (:func:`save_checkpoint`, written by
:class:`ModelCheckpoint`) holds the model's and optimizer's state, the scheduler's, minigrad's
cpu random generator (dropout, initialization), the loaders' states (their shuffling generator,
the batches of the current epoch already handed out, their augmentation's generator), the
number of epochs done and optimizer steps taken, the history, the callbacks' states, and the
running sums of an epoch in progress (loss, samples, the outputs kept for the metrics). It is
written only between optimizer steps, where no gradient is pending. ``fit(..., resume=path)``
loads it and continues from that exact point, mid-epoch included: the final parameters equal
those of an uninterrupted run bit for bit, and so do the history's losses and metrics. Not
reproduced: the epoch ``time`` (wall-clock; a resumed epoch counts the time spent before the
interruption plus the time after), and the random stream of a cuda device (CuPy offers no
portable generator state), so dropout on cuda does not resume bit for bit. Callbacks'
``on_epoch_begin`` is not called again for an epoch resumed in the middle.

**Progress** goes to stderr: on a terminal one line redrawn with ``'\\r'`` (at most ten times a
second) showing the epoch, the batch, the running loss, samples per second, elapsed time and
ETA; otherwise one summary line per epoch.

The package, one idea per module (every public name is importable from ``minigrad.training``):

- ``loop``: :func:`fit`, :func:`evaluate`, :func:`predict`;
- ``callbacks``: :class:`TrainState`, :class:`Callback` (epoch, batch and step hooks),
  :class:`EarlyStopping`, :class:`ModelCheckpoint`;
- ``checkpoints``: :func:`save_checkpoint`, :func:`load_checkpoint`;
- ``history``: :class:`History`;
- ``epoch_logs``: the named metrics and the running sums of an epoch;
- ``progress``: the progress display;
- ``monitor``: :class:`GradientFlowMonitor` (per-layer gradient norms, update ratios, dead
  ReLUs, with warnings).
"""

from .callbacks import Callback, EarlyStopping, ModelCheckpoint, TrainState
from .checkpoints import load_checkpoint, save_checkpoint
from .history import History
from .loop import evaluate, fit, predict
from .monitor import GradientFlowMonitor, GradientFlowWarning

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint", "save_checkpoint", "load_checkpoint", "TrainState",
           "GradientFlowMonitor", "GradientFlowWarning"]
