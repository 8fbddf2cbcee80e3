"""The adding problem (Hochreiter & Schmidhuber, 1997), solved by an LSTM and a GRU.

Each input is a sequence of T steps with two features: a value drawn from U(0, 1) and a
marker that is 1 at exactly two steps (one in the first half, one in the second) and 0
elsewhere. The target is the sum of the two marked values. Predicting the mean, 1, scores
MSE = Var(U + U') = 2/12 ≈ 0.167; a model has to carry the first marked value across up to T
steps to do better. The model: a recurrent layer (hidden 64) and a Linear read-out of its last
state, trained with Adam on fresh batches; the test MSE is on 2,000 held-out sequences.

    python examples/adding_problem.py                    # T = 100, LSTM and GRU, ~5 min
    python examples/adding_problem.py --models lstm --steps 4000 --length 200
    python examples/adding_problem.py --quick            # T = 20, a few hundred steps
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from _common import print_table
import minigrad
from minigrad import nn, optim

BASELINE_MSE = 2.0 / 12.0  # predicting 1 for every sequence


def adding_batch(rng, batch, length):
    """Inputs (batch, length, 2) float32 and targets (batch, 1): the sum of the marked values."""
    values = rng.uniform(0.0, 1.0, (batch, length)).astype(np.float32)
    markers = np.zeros((batch, length), np.float32)
    rows = np.arange(batch)
    first = rng.integers(0, length // 2, batch)
    second = rng.integers(length // 2, length, batch)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = (values[rows, first] + values[rows, second])[:, None]
    return np.stack([values, markers], axis=-1), targets


class Adder(nn.Module):
    """A recurrent layer over the sequence, then Linear(hidden, 1) on its last state."""

    def __init__(self, kind, hidden):
        super().__init__()
        self.rnn = (nn.LSTM if kind == "lstm" else nn.GRU)(2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.head(output[:, -1])


def train(kind, args, test_x, test_y):
    minigrad.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed + 1)
    model = Adder(kind, args.hidden)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()
    start = time.perf_counter()
    steps_done, test_mse = 0, float("nan")
    for step in range(1, args.steps + 1):
        x, y = adding_batch(rng, args.batch_size, args.length)
        optimizer.zero_grad()
        loss = loss_fn(model(minigrad.tensor(x)), minigrad.tensor(y))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        steps_done = step
        if step % args.eval_every == 0 or step == args.steps:
            test_mse = evaluate(model, test_x, test_y)
            elapsed = time.perf_counter() - start
            print(f"  {kind} step {step:5d}  train MSE {loss.item():.4f}  test MSE "
                  f"{test_mse:.4f}  ({elapsed:.0f} s)", flush=True)
            if test_mse <= args.target or elapsed > args.max_seconds:
                break
    return test_mse, steps_done, time.perf_counter() - start


def evaluate(model, x, y):
    model.eval()
    with minigrad.no_grad():
        predictions = np.concatenate([model(minigrad.tensor(x[i:i + 500])).numpy()
                                      for i in range(0, len(x), 500)])
    model.train()
    return float(((predictions - y) ** 2).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--length", type=int, default=100, help="sequence length T (100)")
    parser.add_argument("--models", nargs="+", choices=["lstm", "gru"], default=["lstm", "gru"])
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--steps", type=int, default=6000, help="most training steps")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--target", type=float, default=0.002,
                        help="stop once the test MSE is this low (default 0.002)")
    parser.add_argument("--max-seconds", type=float, default=300.0,
                        help="stop each model after this much training (default 300)")
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="T = 20, at most 300 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.length, args.steps, args.eval_every, args.hidden = 20, 300, 100, 32
        args.target, args.lr = 0.01, 1e-2

    test_x, test_y = adding_batch(np.random.default_rng(12345), 2000, args.length)
    print(f"adding problem, T = {args.length}: baseline MSE (always predict 1) "
          f"{BASELINE_MSE:.3f}; test set of {len(test_x)} sequences\n")
    rows = []
    for kind in args.models:
        mse, steps, seconds = train(kind, args, test_x, test_y)
        rows.append([kind.upper(), args.hidden, steps, mse, seconds])
    print()
    print_table(["model", "hidden", "steps", "test MSE", "seconds"], rows,
                ["", "", "", ".4f", ".0f"])
    print(f"\nbaseline MSE {BASELINE_MSE:.4f}")


if __name__ == "__main__":
    main()
