"""MNIST on several processes with MPI: data parallelism (DistributedDataParallel), and with
``--hybrid`` pipelines of model stages that are also data-parallel replicas.

    mpiexec -n 2 python examples/distributed_mnist.py --data-dir /path/to/mnist
    mpiexec -n 4 python examples/distributed_mnist.py --hybrid     # 2 pipelines x 2 stages
    python examples/distributed_mnist.py --quick                  # one process works too

Data parallel: every rank holds the whole MLP (784-512-256-10), the DistributedSampler gives
each rank its share of every epoch (the global batch is --batch-size, split over the ranks),
DDP averages the gradients after each backward, and every rank takes the same Adam step; the
epoch's loss and accuracy printed by rank 0 are those of all ranks' samples.

Hybrid (4 ranks): ranks 0-1 and 2-3 each run the MLP as a 2-stage pipeline (``Pipeline``,
4 micro-batches, GPipe schedule); stage s of the two pipelines (ranks s and s + 2) average their
gradients (an all-reduce on a sub-group), so both pipelines stay equal.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import add_data_dir_argument, load_mnist_or_exit   # noqa: I001 (sys.path first)
import minigrad
from minigrad import distributed as dist
from minigrad import nn, optim
from minigrad.data import DataLoader, DistributedSampler, TensorDataset
from minigrad.models import mlp
from minigrad.training import evaluate, fit


def data(args):
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:4096], y_train[:4096], x_test[:1000], \
            y_test[:1000]
    mean, std = x_train.mean(), x_train.std()
    return ((x_train - mean) / std, y_train), ((x_test - mean) / std, y_test)


def data_parallel(args, group, train, test):
    say = print if group.rank == 0 else (lambda *a, **k: None)
    minigrad.manual_seed(args.seed)
    model = nn.parallel.DistributedDataParallel(mlp(784, [512, 256], 10))
    per_rank = args.batch_size // group.world_size
    train_set, test_set = TensorDataset(*train), TensorDataset(*test)
    train_loader = DataLoader(train_set, batch_size=per_rank,
                              sampler=DistributedSampler(train_set, seed=args.seed))
    test_loader = DataLoader(test_set, batch_size=1000,
                             sampler=DistributedSampler(test_set, shuffle=False))
    say(f"data parallel on {group.world_size} processes: global batch {args.batch_size} = "
        f"{group.world_size} x {per_rank}")
    start = time.perf_counter()
    fit(model, train_loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
        args.epochs, metrics=["accuracy"], progress=not args.quiet)
    result = evaluate(model, test_loader, nn.CrossEntropyLoss(), ["accuracy"])
    say(f"test accuracy {result['accuracy']:.2%} (all ranks' test samples), "
        f"{time.perf_counter() - start:.1f} s")


def hybrid(args, group, train, test):
    if group.world_size != 4:
        raise SystemExit("--hybrid needs 4 processes: mpiexec -n 4 ...")
    r = group.rank
    pipelines = [dist.new_group([0, 1]), dist.new_group([2, 3])]
    replicas = [dist.new_group([0, 2]), dist.new_group([1, 3])]
    pipe_group, replica_group = pipelines[r // 2], replicas[r % 2]
    minigrad.manual_seed(args.seed)
    pipe = nn.parallel.Pipeline(mlp(784, [512, 256], 10), chunks=4, group=pipe_group)
    opt = optim.Adam(pipe.parameters(), lr=1e-3)
    x, y = train
    rng = np.random.default_rng(args.seed)
    loss_fn = nn.CrossEntropyLoss()
    half = args.batch_size // 2
    for epoch in range(args.epochs):
        order = rng.permutation(len(y))            # the same on every rank: same seed
        losses = []
        for start in range(0, len(y) - args.batch_size + 1, args.batch_size):
            idx = order[start + (r // 2) * half:start + (r // 2 + 1) * half]  # this pipeline's
            opt.zero_grad()
            loss = pipe.step(minigrad.tensor(x[idx]), minigrad.tensor(y[idx]), loss_fn)
            for p in pipe.stage.parameters():
                dist.all_reduce(p.grad, dist.ReduceOp.AVG, group=replica_group)
            opt.step()
            if loss is not None:
                losses.append(loss)
        if r == 1:                                  # the last stage of the first pipeline
            print(f"hybrid epoch {epoch + 1}: mean training loss {np.mean(losses):.4f}")
    if r == 1:
        print("hybrid: 2 pipelines x 2 stages trained; stage gradients averaged across them")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128, help="global batch (default 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hybrid", action="store_true", help="pipelines x data parallel (4 ranks)")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    parser.add_argument("--quick", action="store_true", help="4,096 training images, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs = 1
    group = dist.init_process_group()
    train, test = data(args)
    (hybrid if args.hybrid else data_parallel)(args, group, train, test)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
