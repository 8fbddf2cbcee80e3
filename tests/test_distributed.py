"""minigrad.distributed, DistributedDataParallel and DistributedSampler.

One process (always run): a group of one, where every collective returns at once and DDP is the
plain model; the sampler's index split against PyTorch's (written out below, from torch 2.13).
Several processes (run when mpi4py and mpiexec are installed, the ``minigrad[mpi]`` extra):
tests/mpi_worker.py under ``mpiexec -n 2``.
"""

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import minigrad as mg
from minigrad import distributed as dist
from minigrad import nn, optim
from minigrad.data import DataLoader, DistributedSampler, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


@pytest.fixture
def single_group(monkeypatch):
    for name in ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS",
                 "HYDRA_CONTROL_FD"):
        monkeypatch.delenv(name, raising=False)
    dist.destroy_process_group()
    group = dist.init_process_group()
    yield group
    dist.destroy_process_group()


def test_one_process_is_a_group_of_one(single_group):
    assert (dist.get_rank(), dist.get_world_size(), single_group.backend) == (0, 1, "single")
    t = mg.tensor([1.0, 2.0])
    for op in dist.ReduceOp.ALL:
        dist.all_reduce(t, op)
    dist.broadcast(t, 0)
    dist.reduce(t, 0)
    parts = [mg.zeros(2)]
    dist.all_gather(parts, t)
    dist.barrier()
    np.testing.assert_array_equal(t.numpy(), [1.0, 2.0])
    np.testing.assert_array_equal(parts[0].numpy(), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="already initialized"):
        dist.init_process_group()


def test_bad_arguments_are_refused(single_group):
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(mg.ones(2), "mean")
    with pytest.raises(TypeError, match="AVG needs a floating-point tensor"):
        dist.all_reduce(mg.tensor([1, 2]), dist.ReduceOp.AVG)
    with pytest.raises(ValueError, match="not contiguous"):
        dist.all_reduce(mg.ones(3, 4).T)
    with pytest.raises(ValueError, match="src 3 is not a rank of a group of 1"):
        dist.broadcast(mg.ones(2), 3)
    with pytest.raises(TypeError, match="expected a Tensor"):
        dist.all_reduce(np.ones(2))


def test_sync_batchnorm_alone_is_a_batchnorm(single_group):
    mg.manual_seed(0)
    x = mg.randn(6, 3, 4)
    plain = nn.BatchNorm1d(3)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm1d(3)))[0]
    assert isinstance(sync, nn.SyncBatchNorm)
    np.testing.assert_allclose(sync(x).detach().numpy(), plain(x).detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(sync.running_var.numpy(), plain.running_var.numpy(), atol=1e-6)


def test_uninitialized_and_backend_errors():
    dist.destroy_process_group()
    with pytest.raises(RuntimeError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="backend must be"):
        dist.init_process_group("gloo")


def test_ddp_of_one_process_is_the_plain_model(single_group):
    mg.manual_seed(0)
    x, y = mg.randn(16, 4), mg.randint(0, 3, (16,))
    models = []
    for wrap in (False, True):
        mg.manual_seed(1)
        model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
        net = nn.parallel.DistributedDataParallel(model) if wrap else model
        opt = optim.SGD(net.parameters(), lr=0.1)
        for _ in range(3):
            opt.zero_grad()
            nn.CrossEntropyLoss()(net(x), y).backward()
            opt.step()
        models.append(model)
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_array_equal(a.numpy() if not a.requires_grad else a.detach().numpy(),
                                      b.detach().numpy())
    ddp = nn.parallel.DistributedDataParallel(models[1])
    assert list(ddp.state_dict())[0] == "module.0.weight"


def test_ddp_buckets_follow_the_cap_in_reverse_order(single_group):
    model = nn.Sequential(nn.Linear(100, 100), nn.Linear(100, 100), nn.Linear(100, 10))
    ddp = nn.parallel.DistributedDataParallel(model, bucket_cap_mb=40_000 / 2 ** 20)
    params = list(model.parameters())
    # reversed: 40 B, 4,000 B, 400 B share a bucket; the 40,000 B weight would pass the cap
    # of 40,000 B, so it starts a new one, and so does each of the next two
    assert [[id(p) for p in b] for b in ddp.buckets] == [
        [id(params[5]), id(params[4]), id(params[3])], [id(params[2])], [id(params[1])],
        [id(params[0])]]


# Torch 2.13's DistributedSampler(range(n), R, r, shuffle=False, drop_last=...) for each rank r.
TORCH_SPLITS = {
    (10, 3, False): [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]],
    (10, 3, True): [[0, 3, 6], [1, 4, 7], [2, 5, 8]],
    (2, 4, False): [[0], [1], [0], [1]],
    (7, 2, False): [[0, 2, 4, 6], [1, 3, 5, 0]],
    (7, 2, True): [[0, 2, 4], [1, 3, 5]],
    (12, 4, False): [[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]],
    (5, 5, True): [[0], [1], [2], [3], [4]],
    (3, 7, False): [[0], [1], [2], [0], [1], [2], [0]],
}


@pytest.mark.parametrize("case", sorted(TORCH_SPLITS))
def test_sampler_splits_as_pytorch(case):
    n, replicas, drop_last = case
    splits = [list(DistributedSampler(range(n), replicas, r, shuffle=False,
                                      drop_last=drop_last)) for r in range(replicas)]
    assert splits == TORCH_SPLITS[case]


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (9, 4, False)])
def test_shuffled_shares_cover_the_dataset_and_change_with_the_epoch(n, replicas, drop_last):
    samplers = [DistributedSampler(range(n), replicas, r, seed=3, drop_last=drop_last)
                for r in range(replicas)]
    shares = [s.indices() for s in samplers]
    union = np.concatenate(shares)
    assert len(union) == sum(len(s) for s in samplers)
    if drop_last:
        assert len(set(union.tolist())) == len(union)          # disjoint
    else:
        assert set(union.tolist()) == set(range(n))            # everything, padding repeats
    for s in samplers:
        s.set_epoch(1)
    assert any((a != s.indices()).any() for a, s in zip(shares, samplers))
    first = DistributedSampler(range(n), replicas, 0, seed=3, drop_last=drop_last)
    np.testing.assert_array_equal(first.indices(), shares[0])   # seed + epoch decide


def test_sampler_feeds_a_loader_and_checks_its_arguments():
    data = TensorDataset(np.arange(10.0)[:, None], np.arange(10))
    loader = DataLoader(data, batch_size=2, sampler=DistributedSampler(data, 2, 1,
                                                                       shuffle=False))
    assert [b[1].numpy().tolist() for b in loader] == [[1, 3], [5, 7], [9]]
    with pytest.raises(ValueError, match="rank 2 is not below num_replicas 2"):
        DistributedSampler(data, 2, 2)
    with pytest.raises(ValueError, match="num_replicas must be an int >= 1"):
        DistributedSampler(data, 0, 0)


# --- several processes ---------------------------------------------------------------------------

MPIEXEC = shutil.which("mpiexec")
needs_mpi = pytest.mark.skipif(not dist.is_available() or MPIEXEC is None,
                               reason="needs mpi4py and mpiexec: pip install 'minigrad[mpi]'")


def _mpiexec(case, n=2, timeout=120):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OPENBLAS_NUM_THREADS="1")
    start = time.monotonic()
    done = subprocess.run([MPIEXEC, "-n", str(n), sys.executable,
                           os.path.join(HERE, "mpi_worker.py"), case],
                          capture_output=True, text=True, env=env, timeout=timeout)
    return done, time.monotonic() - start


@needs_mpi
@pytest.mark.parametrize("case", ["collectives", "ddp", "fit", "pipeline", "sync_batchnorm"])
def test_under_mpiexec(case):
    done, _ = _mpiexec(case)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rank 0 ok" in done.stdout and "rank 1 ok" in done.stdout, done.stdout


@needs_mpi
@pytest.mark.parametrize("case,n", [("pipeline", 3), ("hybrid", 4)])
def test_pipelines_of_more_ranks(case, n):
    done, _ = _mpiexec(case, n=n)
    assert done.returncode == 0, done.stdout + done.stderr
    assert all(f"rank {r} ok" in done.stdout for r in range(n)), done.stdout


@needs_mpi
def test_an_error_on_one_rank_ends_the_job_with_its_message():
    done, seconds = _mpiexec("fail")
    assert done.returncode != 0
    assert "[rank 1] ValueError: a deliberate error on rank 1" in done.stderr, done.stderr
    assert seconds < 60


@needs_mpi
def test_a_collective_times_out_instead_of_hanging():
    done, seconds = _mpiexec("timeout")
    assert done.returncode != 0
    assert "rank 0 waited more than 3 s" in done.stderr, done.stderr
    assert seconds < 30


# --- the example -------------------------------------------------------------------------------

from test_examples import MNIST_DIR, needs_mnist  # noqa: E402


def _example(*args, mpi=0):
    env = dict(os.environ, MINIGRAD_DATA=MNIST_DIR or "", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    command = [sys.executable, os.path.join(REPO, "examples", "distributed_mnist.py"), "--quick",
               *args]
    if mpi:
        command = [MPIEXEC, "-n", str(mpi)] + command
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@needs_mnist
def test_example_one_process_and_two_agree():
    alone = _example("--quiet")
    assert "data parallel on 1 processes" in alone
    if MPIEXEC is None or not dist.is_available():
        pytest.skip("needs mpi4py and mpiexec for the 2-process run")
    two = _example("--quiet", mpi=2)
    # the two ranks' shares of each global batch are the one process's batch: same result
    accuracy = [line.split()[2] for line in (alone + two).splitlines()
                if line.startswith("test accuracy")]
    assert len(accuracy) == 2 and accuracy[0] == accuracy[1], alone + two


@needs_mnist
@needs_mpi
def test_example_hybrid_on_four_processes():
    assert "2 pipelines x 2 stages trained" in _example("--hybrid", mpi=4)


def test_a_loader_state_between_epochs_loads_into_other_batches():
    """A data-parallel run resumed with another number of processes cuts its batches otherwise:
    between epochs that is allowed; in the middle of one it is refused."""
    data = TensorDataset(np.arange(12.0)[:, None], np.arange(12))
    two = DataLoader(data, batch_size=3, sampler=DistributedSampler(data, 2, 0, shuffle=False))
    list(two)
    one = DataLoader(data, batch_size=6, shuffle=True, seed=0)
    with pytest.raises(ValueError, match="from a different loader"):
        one.load_state_dict(two.state_dict())          # by default the same batches only
    one.load_state_dict(two.state_dict(), allow_rebatch=True)
    assert one.epoch == two.epoch
    it = iter(two)
    next(it)
    with pytest.raises(ValueError, match="from a different loader"):
        DataLoader(data, batch_size=6, shuffle=True, seed=0).load_state_dict(
            two.state_dict(), allow_rebatch=True)


def test_a_checkpoint_of_ddp_holds_the_plain_model(single_group, tmp_path):
    from minigrad.training import load_checkpoint, save_checkpoint
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2))
    ddp = nn.parallel.DistributedDataParallel(model)
    save_checkpoint(tmp_path / "c.npz", ddp, None)
    plain = nn.Sequential(nn.Linear(3, 2))
    load_checkpoint(tmp_path / "c.npz", plain)          # no "module." prefix
    np.testing.assert_array_equal(plain[0].weight.detach().numpy(),
                                  model[0].weight.detach().numpy())


@needs_mpi
def test_the_train_command_under_mpiexec(tmp_path):
    """mpiexec -n 2 python -m minigrad train: one global result printed once, outputs written
    by rank 0 only, and a resume of its checkpoint by one process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    flags = ["--samples", "400", "--epochs", "3", "--batch-size", "32", "--no-progress",
             "--checkpoint", str(tmp_path / "run.ckpt")]
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, "-m", "minigrad", "train",
                           "--out", str(tmp_path / "two"), "--max-steps", "26", *flags],
                          capture_output=True, text=True, env=env, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("test accuracy") == 1, done.stdout
    assert "(2 processes, 16 samples each)" in done.stdout, done.stdout
    assert sorted(os.listdir(tmp_path / "two"))[:2] == ["config.json", "history.csv"]
    again = subprocess.run([sys.executable, "-m", "minigrad", "train", "--out",
                            str(tmp_path / "one"), "--resume", str(tmp_path / "run.ckpt"),
                            *flags], capture_output=True, text=True, env=env, timeout=180)
    assert again.returncode == 0, again.stdout + again.stderr
    history = (tmp_path / "one" / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 3          # the 2 epochs of the 2 processes, then a third
