"""An ensemble of MNIST MLPs: how much combining five models gains over a single one.

Five MLPs (784 -> 128 -> 64 -> 10, ``minigrad.models.mlp``) are trained with Adam, each from
its own initialisation and data order (or, with ``--bagging``, each on its own bootstrap
resample through ``minigrad.ensemble.Bagging``, which also reports the out-of-bag accuracy).
``minigrad.ensemble.Ensemble`` then combines them three ways (see its docstring):

    mean logits  ô = (1/M) Σ o_m           soft vote  p̂ = (1/M) Σ softmax(o_m)
    hard vote    ŷ = the class most members predict

and the script prints each member's test accuracy, their mean, each combination's accuracy and
its gain over the mean member (in accuracy points).

    python examples/ensemble_mnist.py --data-dir /path/to/mnist     # or set MINIGRAD_DATA
    python examples/ensemble_mnist.py --bagging --members 7
    python examples/ensemble_mnist.py --quick      # 3,000 training images, 1 epoch (tests)
"""

from __future__ import annotations

import argparse
import time

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table

import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.ensemble import Bagging, Ensemble
from minigrad.models import mlp
from minigrad.training import evaluate, fit


def accuracy(model, x, y) -> float:
    """Test accuracy of a classifier's logits, or of class indices (hard vote)."""
    with minigrad.no_grad():
        model.eval()
        out = model(x)
    predicted = out.numpy() if out.ndim == 1 else out.numpy().argmax(axis=1)
    return float((predicted == y.numpy()).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--members", type=int, default=5, help="models in the ensemble (5)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per member (default 2)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on the first N images only (default: all 60,000)")
    parser.add_argument("--bagging", action="store_true",
                        help="bootstrap resamples (with an out-of-bag score) instead of "
                             "different seeds on the same data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training and 1,000 test images, 1 epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_size = 1, 3000

    minigrad.manual_seed(args.seed)
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    train_set = TensorDataset(x_train, y_train)
    x_test_t, y_test_t = minigrad.tensor(x_test), minigrad.tensor(y_test)
    loss_fn = nn.CrossEntropyLoss()

    def make_model():
        return mlp(28 * 28, args.hidden, 10)

    def train(model, loader):
        fit(model, loader, loss_fn, optim.Adam(model.parameters(), lr=args.lr), args.epochs,
            progress=False)

    print(f"{args.members} MLPs 784-{'-'.join(map(str, args.hidden))}-10, {len(x_train):,} "
          f"training / {len(x_test):,} test images, {args.epochs} epoch(s) each, "
          f"{'bootstrap resamples' if args.bagging else 'different seeds'}\n")
    start = time.perf_counter()
    if args.bagging:
        bag = Bagging(make_model, n_estimators=args.members, seed=args.seed)
        bag.fit(train_set, train, batch_size=args.batch_size)
        members = list(bag.members)
    else:
        members = []
        for m in range(args.members):
            minigrad.manual_seed(args.seed + m)  # its own initialisation and data order
            model = make_model()
            train(model, DataLoader(train_set, batch_size=args.batch_size, shuffle=True,
                                    seed=args.seed + m))
            members.append(model)
    seconds = time.perf_counter() - start

    member_acc = [accuracy(model, x_test_t, y_test_t) for model in members]
    mean_member = sum(member_acc) / len(member_acc)
    rows = [[f"member {m + 1}", acc, ""] for m, acc in enumerate(member_acc)]
    rows.append(["mean member", mean_member, ""])
    rows.append(["best member", max(member_acc), f"{100 * (max(member_acc) - mean_member):+.2f}"])
    for combine, label in (("mean", "ensemble: mean logits"), ("soft", "ensemble: soft vote"),
                           ("vote", "ensemble: hard vote")):
        acc = accuracy(Ensemble(members, combine), x_test_t, y_test_t)
        rows.append([label, acc, f"{100 * (acc - mean_member):+.2f}"])
    print_table(["model", "test accuracy", "gain over mean member (points)"], rows,
                ["", ".4f", ""])
    if args.bagging:
        print(f"\nout-of-bag accuracy (each image judged by the members that never saw it): "
              f"{bag.oob_score_:.4f}")
    test = evaluate(Ensemble(members, "mean"), DataLoader(TensorDataset(x_test, y_test),
                                                          batch_size=1000), loss_fn)
    print(f"\nensemble (mean logits) test loss {test['loss']:.4f}; training took "
          f"{seconds:.1f} s")


if __name__ == "__main__":
    main()
