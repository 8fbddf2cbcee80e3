"""DistributedDataParallel: the same model on every rank, each rank on its own share of the data,
and gradients averaged across the ranks after every backward, so every rank takes the same
optimizer step: with R ranks each on a batch of b samples and a mean-reduced loss,

    g = (1/R) Σ_r ∇L_r  =  the gradient of one batch of R·b samples

How (as PyTorch's DDP; Li et al., VLDB 2020): at wrap time rank 0's parameters and buffers are
broadcast, so every replica starts equal. The parameters that require grad are grouped, in
reverse order (the order backward produces their gradients), into buckets of at most
``bucket_cap_mb`` MB of one dtype; after backward each bucket's gradients are copied (divided
by the world size) into one contiguous buffer, summed with one ``all_reduce``, and each
``.grad`` becomes a view of its part of it: one collective per bucket, not per parameter. The averaging runs once the whole backward pass has finished (no overlap with
backward, unlike PyTorch's hooks). ``no_sync()`` skips it, for gradient accumulation: the
gradients of the batches inside it accumulate locally and are averaged by the first backward
outside it. With ``broadcast_buffers`` (default) rank 0's buffers (BatchNorm's running
statistics) are broadcast before every forward in training mode, as PyTorch's DDP does.
"""

from __future__ import annotations

import contextlib

from ... import autograd, backend
from ...autograd import Function, is_grad_enabled, no_grad
from ...tensor import Tensor
from ..module import Module

__all__ = ["DistributedDataParallel"]


class _AverageAfterBackward(Function):
    """Identity on the model's output; its backward (among the first to run) asks the engine to
    average the gradients once the backward pass is over."""

    def forward(self, x, ddp):
        self.ddp = ddp
        return x

    def backward(self, g):
        average = self.ddp.average_gradients
        if average not in autograd._after_backward:    # once per backward, several outputs
            autograd.queue_callback(average)
        return g


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over ``group`` (default: the initialized
    process group); see the module docstring. ``ddp.module`` is the wrapped model; its
    ``state_dict`` keys carry a ``module.`` prefix, as PyTorch's."""

    def __init__(self, module, bucket_cap_mb: float = 25, broadcast_buffers: bool = True,
                 group=None):
        super().__init__()
        from ... import distributed
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got "
                             f"{bucket_cap_mb!r}")
        self.module = module
        self.group = group or distributed.default_group()
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._require_sync = True
        with no_grad():
            for t in list(module.parameters()) + list(module.buffers()):
                distributed.broadcast(t, 0, self.group)
        self.buckets = self._make_buckets()
        self._buffers_of_buckets = None     # made at the first averaging

    def _make_buckets(self) -> list:
        """Lists of parameters, in reverse order, each of one dtype and device and at most
        ``bucket_cap_mb`` MB (a larger parameter is a bucket of its own)."""
        cap = self.bucket_cap_mb * 2 ** 20
        buckets, current, size, kind = [], [], 0, None
        for p in reversed([p for p in self.module.parameters() if p.requires_grad]):
            p_kind = (p.dtype, str(p.device))
            nbytes = p.data.nbytes
            if current and (p_kind != kind or size + nbytes > cap):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
            kind = p_kind
        if current:
            buckets.append(current)
        return buckets

    def forward(self, *inputs, **kwargs):
        from ... import distributed
        world = self.group.world_size
        if world > 1 and self.broadcast_buffers and self.training:
            with no_grad():
                for b in self.module.buffers():
                    distributed.broadcast(b, 0, self.group)
        output = self.module(*inputs, **kwargs)
        if world > 1 and self._require_sync and self.training and is_grad_enabled():
            output = self._mark(output)
        return output

    def _mark(self, output):
        if isinstance(output, Tensor):
            return _AverageAfterBackward.apply(output, ddp=self) if output.requires_grad \
                else output
        if isinstance(output, (tuple, list)):
            return type(output)(self._mark(o) for o in output)
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Within it, backward leaves the gradients local (accumulating); the first backward
        after it averages everything accumulated."""
        previous, self._require_sync = self._require_sync, False
        try:
            yield
        finally:
            self._require_sync = previous

    def average_gradients(self) -> None:
        """Average every parameter's ``.grad`` across the ranks, one ``all_reduce`` per bucket
        (a parameter without a gradient on this rank counts as zeros).

        Each bucket has one contiguous buffer, made once; a gradient is copied into it already
        divided by the world size (one pass), the buffer is summed across the ranks in place,
        and each ``.grad`` then becomes a view of its part of the buffer (as PyTorch's
        ``gradient_as_bucket_view``), so later steps that keep the gradients (no
        ``zero_grad(set_to_none=True)``) accumulate straight into it and nothing is copied
        back. A consequence: a ``.grad`` kept across steps changes with the buffer."""
        from ... import distributed
        world = self.group.world_size
        if world == 1:
            return
        if self._buffers_of_buckets is None:
            self._buffers_of_buckets = [self._bucket_buffer(b) for b in self.buckets]
        for bucket, (flat, views) in zip(self.buckets, self._buffers_of_buckets):
            scale = flat.dtype.type(1.0 / world)
            xp = backend.array_module(flat)
            for p, view in zip(bucket, views):
                if p.grad is None:
                    view.fill(0)
                elif p.grad.data is view:
                    view *= scale                        # accumulated in the buffer already
                else:
                    xp.multiply(p.grad.data, scale, out=view)
            distributed.all_reduce(Tensor._make(flat), distributed.ReduceOp.SUM, self.group)
            for p, view in zip(bucket, views):
                if p.grad is None or p.grad.data is not view:
                    p.grad = Tensor._make(view)

    @staticmethod
    def _bucket_buffer(bucket):
        """A bucket's contiguous buffer and each parameter's view of it, shaped as the
        parameter."""
        xp = backend.array_module(bucket[0].data)
        flat = xp.empty(sum(p.data.size for p in bucket), dtype=bucket[0].data.dtype)
        views, offset = [], 0
        for p in bucket:
            views.append(flat[offset:offset + p.data.size].reshape(p.data.shape))
            offset += p.data.size
        return flat, views

    def extra_repr(self) -> str:
        sizes = [sum(p.data.nbytes for p in b) for b in self.buckets]
        return (f"world_size={self.group.world_size}, buckets={len(self.buckets)} "
                f"({', '.join(f'{s / 2**20:.2f} MB' for s in sizes)}), "
                f"bucket_cap_mb={self.bucket_cap_mb:g}")
