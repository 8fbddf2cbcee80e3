"""Data-parallel MNIST training on Spark barrier tasks, with ``minigrad.spark.SparkDistributor``
(the manner of PyTorch's ``TorchDistributor``): the training function is the one an
``mpiexec`` run would use (DistributedDataParallel, a DistributedSampler, ``fit`` with a
checkpoint written by rank 0), and ``minigrad.distributed`` runs on the 'spark' backend, its
collectives through Spark's ``BarrierTaskContext``.

    python examples/spark_distributed_mnist.py --data-dir DIR          # 2 tasks on local[2]
    python examples/spark_distributed_mnist.py --quick                 # for the tests

Each rank trains the MLP 784-128-10 on its half of every global batch; DDP averages the
gradients after each backward (one all-reduce per step), so both ranks take the same SGD step,
the one a single process takes on the whole batch. The driver prints rank 0's history (the
global loss and accuracy, over both ranks' samples), the test accuracy and where rank 0 wrote
the checkpoint.

What it costs: every collective of the spark backend waits about a second in Spark's barrier
coordination (benchmarks/spark_bench.py: ~1.0 s per gradient averaging, against ~1.4 ms with
MPI on this machine), so an epoch costs about a second per step plus its compute. Large global
batches keep the steps few; for short steps ``mpiexec -n 2 python
examples/distributed_mnist.py`` is the faster way on a machine (or cluster) with MPI.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from _common import add_data_dir_argument, mnist_available, print_table   # noqa: I001


def train(data_dir, samples, epochs, global_batch, folder):
    """Runs on every rank (a Spark barrier task); returns the history, the test accuracy and
    the checkpoint's path (rank 0's are what the driver gets)."""
    import minigrad as mg
    from minigrad import distributed, models, nn, optim
    from minigrad.data import DataLoader, DistributedSampler, TensorDataset, load_mnist
    from minigrad.training import ModelCheckpoint, evaluate, fit

    group = distributed.default_group()
    x, y = load_mnist(data_dir, train=True, normalize=True)
    x_test, y_test = load_mnist(data_dir, train=False, normalize=True)
    train_set = TensorDataset(x[:samples].reshape(samples, -1), y[:samples])
    mg.manual_seed(0)
    model = nn.parallel.DistributedDataParallel(models.mlp(784, [128], 10))
    loader = DataLoader(train_set, batch_size=global_batch // group.world_size,
                        sampler=DistributedSampler(train_set, shuffle=True, seed=0))
    checkpoint = os.path.join(folder, "mnist-ddp.npz")
    history = fit(model, loader, nn.CrossEntropyLoss(),
                  optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs,
                  metrics=["accuracy"], callbacks=[ModelCheckpoint(checkpoint)], progress=False)
    test = evaluate(model.module, DataLoader(TensorDataset(x_test.reshape(len(x_test), -1),
                                                           y_test), batch_size=1000),
                    nn.CrossEntropyLoss(), metrics=["accuracy"])
    return history.history, test, checkpoint


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_dir_argument(parser)
    parser.add_argument("--processes", type=int, default=2, help="barrier tasks (2)")
    parser.add_argument("--samples", type=int, default=16384, help="training images (16384)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs (2)")
    parser.add_argument("--batch-size", type=int, default=512, help="global batch (512)")
    parser.add_argument("--quick", action="store_true", help="2,048 images, 1 epoch")
    args = parser.parse_args(argv)
    if not mnist_available(args.data_dir):
        raise SystemExit("error: no MNIST folder: pass --data-dir DIR or set MINIGRAD_DATA "
                         "(minigrad never downloads data)")
    if args.quick:
        args.samples, args.epochs = 2048, 1
    from minigrad.spark import SparkDistributor, local_session

    spark = local_session(args.processes, "minigrad MNIST on Spark")
    folder = tempfile.mkdtemp(prefix="spark-ddp-")
    start = time.perf_counter()
    history, test, checkpoint = SparkDistributor(args.processes, spark=spark).run(
        train, os.path.abspath(args.data_dir), args.samples, args.epochs, args.batch_size,
        folder)
    seconds = time.perf_counter() - start
    spark.stop()
    steps = -(-args.samples // args.batch_size)
    print(f"MLP 784-128-10 on {args.samples:,} MNIST images, {args.processes} barrier tasks on "
          f"local[{args.processes}], global batch {args.batch_size} ({steps} steps an epoch)")
    print_table(["epoch", "loss", "accuracy"],
                [[e + 1, loss, acc] for e, (loss, acc) in enumerate(zip(history["loss"],
                                                                         history["accuracy"]))],
                ["d", ".4f", ".4f"])
    print(f"test accuracy {test['accuracy']:.4f}; {seconds:.1f} s; rank 0's checkpoint: "
          f"{checkpoint} ({'written' if os.path.exists(checkpoint) else 'missing'})")


if __name__ == "__main__":
    main()
