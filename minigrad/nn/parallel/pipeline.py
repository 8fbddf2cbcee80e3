"""Pipeline: model parallelism. A ``Sequential`` is cut into consecutive stages, one per rank;
each batch is split into ``chunks`` micro-batches that flow through the stages by the GPipe
schedule (Huang et al., 2019):

    forward:  for each micro-batch m = 1..M: receive a_m from the previous stage (rank 0: take
              its slice of the input), compute the stage, send the result to the next stage
              (the last stage computes the loss L_m of micro-batch m);
    backward: for each micro-batch, in reverse: receive ∂L/∂(output) from the next stage (the
              last stage starts from its loss, scaled by 1/M), backpropagate through the stage's
              recorded graph, send ∂L/∂(input) to the previous stage.

Each stage's parameters accumulate Σ_m ∂(L_m/M)/∂θ: with a mean-reduced loss and equal
micro-batches, the gradient of the whole batch, the same as one process would compute.
Activations and their gradients go point to point (MPI ``Send``/``Recv`` of the arrays, their
shapes first; no pickling). The stages' parameters stay on their ranks: each rank builds its
optimizer over ``pipeline.parameters()``, its own stage's. ``group`` may be a sub-group
(``distributed.new_group``), so that several pipelines train side by side as data-parallel
replicas (hybrid parallelism: see examples/distributed_mnist.py).
"""

from __future__ import annotations

import numpy as np

from ...autograd import enable_grad, no_grad
from ...tensor import Tensor
from ..module import Module, Sequential

__all__ = ["Pipeline"]

_SHAPE_TAG, _DATA_TAG = 1, 2


class Pipeline(Module):
    """Run ``module`` (a Sequential) as a pipeline over the ranks of ``group`` (default: the
    initialized process group), ``chunks`` micro-batches per batch. ``balance`` gives the number
    of layers of each stage (default: as even as possible). ``pipeline.stage`` is this rank's
    part; :meth:`step` runs one batch forward and backward."""

    def __init__(self, module, chunks: int = 4, balance=None, group=None):
        super().__init__()
        from ... import distributed
        if not isinstance(module, Sequential):
            raise TypeError(f"Pipeline: expected a Sequential, got {type(module).__name__}")
        if not isinstance(chunks, int) or chunks < 1:
            raise ValueError(f"Pipeline: chunks must be an int >= 1, got {chunks!r}")
        self.group = group or distributed.default_group()
        stages = self.group.world_size
        layers = list(module)
        if balance is None:
            base, extra = divmod(len(layers), stages)
            balance = [base + (i < extra) for i in range(stages)]
        balance = list(balance)
        if len(balance) != stages or sum(balance) != len(layers) or min(balance) < 1:
            raise ValueError(f"Pipeline: balance {balance} must give each of the {stages} "
                             f"stages at least one of the {len(layers)} layers, all of them")
        start = sum(balance[:self.group.rank])
        self.stage = Sequential(*layers[start:start + balance[self.group.rank]])
        self.chunks = chunks
        self.balance = balance

    @property
    def is_first(self) -> bool:
        return self.group.rank == 0

    @property
    def is_last(self) -> bool:
        return self.group.rank == self.group.world_size - 1

    def forward(self, x):
        """This stage alone (a pipeline's forward is :meth:`step`)."""
        return self.stage(x)

    def _send(self, array, dest: int, tag: int) -> None:
        """``array`` to rank ``dest``: a header (dtype code, ndim, shape) then the data."""
        array = np.ascontiguousarray(array)
        if array.ndim > 6:
            raise ValueError(f"Pipeline: cannot send an array of {array.ndim} dims (at most 6)")
        header = np.full(8, -1, dtype=np.int64)
        header[0], header[1] = ord(array.dtype.char), array.ndim
        header[2:2 + array.ndim] = array.shape
        self.group.comm.Send(header, dest=dest, tag=_SHAPE_TAG + 10 * tag)
        self.group.comm.Send(array, dest=dest, tag=_DATA_TAG + 10 * tag)

    def _recv(self, source: int, tag: int) -> np.ndarray:
        header = np.empty(8, dtype=np.int64)
        self.group.comm.Recv(header, source=source, tag=_SHAPE_TAG + 10 * tag)
        array = np.empty(tuple(int(s) for s in header[2:2 + header[1]]),
                         dtype=np.dtype(chr(header[0])))
        self.group.comm.Recv(array, source=source, tag=_DATA_TAG + 10 * tag)
        return array

    def step(self, inputs, targets, loss_fn):
        """One batch forward and backward through the pipeline; the stage's parameters get
        their gradients (accumulated into ``.grad``). ``inputs`` is needed on the first rank,
        ``targets`` on the last (other ranks may pass None). Returns the batch's mean loss on
        the last rank (a float), None on the others."""
        rank = self.group.rank
        m = self.chunks
        if self.is_first:
            batch = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
            if batch.shape[0] % m:
                raise ValueError(f"Pipeline.step: a batch of {batch.shape[0]} does not split "
                                 f"into {m} equal micro-batches")
            micro_inputs = np.split(batch, m)
        if self.is_last:
            labels = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
            micro_targets = np.split(labels, m)
        records, losses = [], []
        for i in range(m):                                     # forward, micro-batch by micro
            received = micro_inputs[i] if self.is_first else self._recv(rank - 1, i)
            x = Tensor._make(received)
            if not self.is_first:
                x.requires_grad_(True)
            with enable_grad():
                out = self.stage(x)
                if self.is_last:
                    out = loss_fn(out, Tensor._make(micro_targets[i])) * (1.0 / m)
            if not self.is_last:
                with no_grad():
                    self._send(out.data, rank + 1, i)
            records.append((x, out))
        for i in reversed(range(m)):                           # backward, in reverse
            x, out = records[i]
            if self.is_last:
                losses.append(float(out) * m)
                out.backward()
            else:
                grad = Tensor._make(self._recv(rank + 1, i))
                out.backward(grad)
            if not self.is_first:
                self._send(x.grad.data, rank - 1, i)
        return float(np.mean(losses)) if self.is_last else None

    def extra_repr(self) -> str:
        return (f"stage {self.group.rank} of {self.group.world_size}, balance={self.balance}, "
                f"chunks={self.chunks}")
