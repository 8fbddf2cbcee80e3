"""Run by tests/test_distributed.py under ``mpiexec -n N``: one check per command-line case,
printing ``rank R ok`` on success (any failure raises, which aborts the job)."""

import sys
import time

import numpy as np

import minigrad as mg
from minigrad import distributed as dist
from minigrad import nn, optim


def collectives(group):
    r, n = group.rank, group.world_size
    t = mg.tensor(np.arange(4, dtype=np.float32) + 10 * r)
    dist.all_reduce(t)
    expected = sum(np.arange(4, dtype=np.float32) + 10 * k for k in range(n))
    np.testing.assert_array_equal(t.numpy(), expected)
    for op, fn in ((dist.ReduceOp.MAX, np.max), (dist.ReduceOp.MIN, np.min),
                   (dist.ReduceOp.AVG, np.mean)):
        t = mg.tensor(np.array([r, -r, 2.5 * r], dtype=np.float64))
        dist.all_reduce(t, op)
        values = np.array([[k, -k, 2.5 * k] for k in range(n)], dtype=np.float64)
        np.testing.assert_allclose(t.numpy(), fn(values, axis=0))
    t = mg.tensor(np.full(3, r, dtype=np.int64))
    dist.broadcast(t, src=n - 1)
    np.testing.assert_array_equal(t.numpy(), np.full(3, n - 1))
    t = mg.tensor(np.full(2, r + 1.0, dtype=np.float32))
    dist.reduce(t, dst=0)
    np.testing.assert_array_equal(t.numpy(), np.full(2, n * (n + 1) / 2 if r == 0 else r + 1))
    parts = [mg.zeros(2, 2) for _ in range(n)]
    dist.all_gather(parts, mg.full((2, 2), float(r)))
    for k, part in enumerate(parts):
        np.testing.assert_array_equal(part.numpy(), np.full((2, 2), k))
    dist.barrier()


def _model():
    mg.manual_seed(0)          # the same weights everywhere (DDP broadcasts rank 0's anyway)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))


def ddp_equivalence(group):
    """R ranks, each on its 1/R of a batch of 96, end where one process on the whole batch
    ends, after 20 SGD-momentum steps (and with a no_sync accumulation step in between)."""
    r, n = group.rank, group.world_size
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 20)).astype(np.float32)
    y = rng.integers(0, 5, 96)
    loss_fn = nn.CrossEntropyLoss()

    reference = _model()
    ref_opt = optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    ddp = nn.parallel.DistributedDataParallel(_model(), bucket_cap_mb=0.001)  # several buckets
    assert len(ddp.buckets) > 1, ddp.buckets
    opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    share = slice(r * 96 // n, (r + 1) * 96 // n)
    for step in range(20):
        ref_opt.zero_grad()
        loss_fn(reference(mg.tensor(x)), mg.tensor(y)).backward()
        ref_opt.step()
        opt.zero_grad()
        if step == 10:   # two half-batches per rank, accumulated: the same mean gradient
            half = (share.stop - share.start) // 2
            first = slice(share.start, share.start + half)
            second = slice(share.start + half, share.stop)
            with ddp.no_sync():
                (loss_fn(ddp(mg.tensor(x[first])), mg.tensor(y[first])) * 0.5).backward()
            (loss_fn(ddp(mg.tensor(x[second])), mg.tensor(y[second])) * 0.5).backward()
        else:
            loss_fn(ddp(mg.tensor(x[share])), mg.tensor(y[share])).backward()
        opt.step()
    for (name, a), b in zip(reference.state_dict().items(), ddp.module.state_dict().values()):
        diff = np.abs(a.numpy() - b.numpy()).max()
        assert diff <= 1e-5, (name, diff)


def fit_equivalence(group):
    """fit with DDP and a DistributedSampler on each rank logs the global loss and accuracy and
    ends with the weights of one process fitting batches of R·b samples; only rank 0 prints
    progress and writes the checkpoint."""
    import io
    import os
    import tempfile

    from minigrad.data import DataLoader, DistributedSampler, TensorDataset
    from minigrad.training import ModelCheckpoint, fit

    r, n = group.rank, group.world_size
    rng = np.random.default_rng(1)
    x = rng.standard_normal((120, 20)).astype(np.float32)
    y = rng.integers(0, 5, 120)
    data = TensorDataset(x, y)

    def train(model, loader, **kwargs):
        return fit(model, loader, nn.CrossEntropyLoss(),
                   optim.SGD(model.parameters(), lr=0.1, momentum=0.9), 2,
                   metrics=["accuracy"], **kwargs)

    reference = _model()
    ref_history = train(reference, DataLoader(data, batch_size=8 * n), progress=False)
    ddp = nn.parallel.DistributedDataParallel(_model())
    folder = tempfile.mkdtemp(prefix=f"mpi-fit-{r}-")
    shared = os.path.join(folder, "ckpt.npz")
    stream = io.StringIO()
    history = train(ddp, DataLoader(data, batch_size=8,
                                    sampler=DistributedSampler(data, shuffle=False)),
                    callbacks=[ModelCheckpoint(shared)], stream=stream)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(history.history[key], ref_history.history[key],
                                   rtol=1e-5, err_msg=key)
    for a, b in zip(reference.state_dict().values(), ddp.module.state_dict().values()):
        assert np.abs(a.numpy() - b.numpy()).max() <= 1e-5
    lines = [line for line in stream.getvalue().splitlines() if line.startswith("epoch")]
    assert len(lines) == (2 if r == 0 else 0), lines
    assert os.path.exists(shared) == (r == 0)


def _deep_model():
    mg.manual_seed(2)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                         nn.Linear(16, 5))


def _batch(seed=3, n=24):
    rng = np.random.default_rng(seed)
    return (mg.tensor(rng.standard_normal((n, 20)).astype(np.float32)),
            mg.tensor(rng.integers(0, 5, n)))


def _reference_grads(x, y):
    model = _deep_model()
    nn.CrossEntropyLoss()(model(x), y).backward()
    return model, [p.grad.numpy() for p in model.parameters()]


def pipeline(group):
    """A pipeline of group.world_size stages, 4 micro-batches: each stage's gradients equal
    one process's for the same layers, and the last stage reports the batch loss."""
    x, y = _batch()
    reference, grads = _reference_grads(x, y)
    pipe = nn.parallel.Pipeline(_deep_model(), chunks=4, group=group)
    loss = pipe.step(x, y, nn.CrossEntropyLoss())
    start = sum(pipe.balance[:group.rank])
    ref_params = list(reference.parameters())
    own = list(pipe.stage.parameters())
    first = sum(len(list(layer.parameters())) for layer in list(reference)[:start])
    for p, g in zip(own, grads[first:first + len(own)]):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-6)
    if pipe.is_last:
        expected = float(nn.CrossEntropyLoss()(reference(x), y))
        assert abs(loss - expected) < 1e-5, (loss, expected)
    else:
        assert loss is None
    assert len(ref_params) == 6


def hybrid(group):
    """4 ranks: two pipelines of 2 stages (ranks 0-1 and 2-3), each on half of a batch, their
    stages data-parallel across the pipelines (ranks 0-2 and 1-3): every stage's gradients
    equal one process's on the whole batch."""
    r = group.rank
    pipe_group = [dist.new_group([0, 1]), dist.new_group([2, 3])][r // 2]
    replica_group = [dist.new_group([0, 2]), dist.new_group([1, 3])][r % 2]
    x, y = _batch(n=48)
    _, grads = _reference_grads(x, y)
    pipe = nn.parallel.Pipeline(_deep_model(), chunks=2, group=pipe_group)
    half = slice((r // 2) * 24, (r // 2 + 1) * 24)
    pipe.step(x[half], y[half], nn.CrossEntropyLoss())
    for p in pipe.stage.parameters():           # average the stage across the two pipelines
        dist.all_reduce(p.grad, dist.ReduceOp.AVG, group=replica_group)
    first = 0 if pipe.is_first else 4           # stage 0: layers 0-2 (4 tensors), 1: 3-4
    for p, g in zip(pipe.stage.parameters(), grads[first:]):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-5, atol=1e-6)


def sync_batchnorm(group):
    """SyncBatchNorm on each rank's share of a batch: outputs, input gradients, parameter
    gradients (summed over the ranks, as DDP would before averaging) and running statistics
    equal one BatchNorm over the whole batch."""
    r, n = group.rank, group.world_size
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8 * n, 3, 5)).astype(np.float64) * 2 + 1
    upstream = rng.standard_normal(x.shape)
    reference = nn.BatchNorm1d(3, dtype=mg.float64)
    xr = mg.tensor(x, requires_grad=True)
    ref_out = reference(xr)
    (ref_out * mg.tensor(upstream)).sum().backward()
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(3,
                                                                                dtype=mg.float64)))
    share = slice(8 * r, 8 * (r + 1))
    xs = mg.tensor(x[share], requires_grad=True)
    out = sync(xs)
    (out * mg.tensor(upstream[share])).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy()[share],
                               atol=1e-10)
    layer = sync[0]
    assert isinstance(layer, nn.SyncBatchNorm)
    np.testing.assert_allclose(xs.grad.numpy(), xr.grad.numpy()[share], atol=1e-10)
    for name in ("weight", "bias"):
        g = getattr(layer, name).grad
        dist.all_reduce(g, group=group)
        np.testing.assert_allclose(g.numpy(), getattr(reference, name).grad.numpy(), atol=1e-10)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(layer, name).numpy(),
                                   getattr(reference, name).numpy(), atol=1e-12)


def fails_on_rank_1(group):
    if group.rank == 1:
        raise ValueError("a deliberate error on rank 1")
    dist.all_reduce(mg.ones(3))    # rank 0 would wait here for ever without the abort


def timeout(group):
    if group.rank == 1:
        time.sleep(30)             # never joins in time
    dist.all_reduce(mg.ones(3))


CASES = {"collectives": collectives, "ddp": ddp_equivalence, "fit": fit_equivalence,
         "pipeline": pipeline, "hybrid": hybrid, "sync_batchnorm": sync_batchnorm,
         "fail": fails_on_rank_1,
         "timeout": timeout}

if __name__ == "__main__":
    case = sys.argv[1]
    group = dist.init_process_group("mpi", timeout=3.0 if case == "timeout" else None)
    CASES[case](group)
    print(f"rank {group.rank} ok", flush=True)
    dist.destroy_process_group()
