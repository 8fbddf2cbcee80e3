r"""Linear regression, the training documents' first example, with the training loop written out.

Data: ``y = 3x + noise`` with ``x ~ U[0, 1)`` (:func:`minigrad.data.make_regression`). Model: one
``Linear(1, 1)``, ``ŷ = w x + b``. Loss: the mean squared error

    L(w, b) = (1/n) Σ_i (w x_i + b − y_i)²

whose gradient is

    ∂L/∂w = (2/n) Σ_i (ŷ_i − y_i) x_i        ∂L/∂b = (2/n) Σ_i (ŷ_i − y_i).

Every training step is the same five lines, for any optimizer:

    prediction = model(x)                 # forward
    loss = loss_fn(prediction, y)         # loss
    loss.backward()                       # backward: fills w.grad and b.grad
    optimizer.step()                      # update, e.g. θ ← θ − γ ∇L(θ) for gradient descent
    optimizer.zero_grad()                 # gradients accumulate: clear them for the next step

The script runs that loop with plain gradient descent (``SGD`` without momentum, the whole
data set each step), SGD with momentum, RMSprop and Adam, and compares the recovered slope and
intercept with the closed-form least-squares solution ``θ* = argmin ‖Aθ − y‖²`` with
``A = [x, 1]`` (``numpy.linalg.lstsq``), which is where every optimizer should end up.

Run:

    python examples/linear_regression.py                 # 100 points, 1000 steps
    python examples/linear_regression.py --quick         # 400 steps (for the tests)
    python examples/linear_regression.py --steps 2000 --noise 0.5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import make_regression


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The exact minimizer of the MSE: solve min ‖A θ − y‖² with A = [x, 1], θ = (w, b)."""
    A = np.hstack([x, np.ones_like(x)]).astype(np.float64)
    (w, b), *_ = np.linalg.lstsq(A, y.astype(np.float64).ravel(), rcond=None)
    return float(w), float(b)


def train(make_optimizer, x, y, steps: int, seed: int):
    """Fit ``Linear(1, 1)`` to (x, y) with ``steps`` full-batch steps; returns the model, the
    loss before each step (losses[k]: after k updates) and the final MSE. The loop is spelled out on purpose: this is what
    ``minigrad.training.fit`` hides."""
    minigrad.manual_seed(seed)          # every optimizer starts from the same (w, b)
    model = nn.Linear(1, 1)
    loss_fn = nn.MSELoss()
    optimizer = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        prediction = model(x)           # forward: ŷ = x wᵀ + b, shape (n, 1)
        loss = loss_fn(prediction, y)   # L = mean((ŷ − y)²)
        losses.append(loss.item())
        loss.backward()                 # w.grad = ∂L/∂w, b.grad = ∂L/∂b
        optimizer.step()                # the optimizer's update rule, in place
        optimizer.zero_grad()           # .grad would otherwise add up across steps
    with minigrad.no_grad():            # evaluation only: record no graph
        final = loss_fn(model(x), y).item()
    return model, losses, final


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100, help="number of points (default 100)")
    parser.add_argument("--noise", type=float, default=0.1,
                        help="standard deviation of the noise on y (default 0.1)")
    parser.add_argument("--steps", type=int, default=1000,
                        help="full-batch training steps per optimizer (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a short run for the test suite (400 steps)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps = min(args.steps, 400)
    if args.steps < 101:
        parser.error("--steps must be at least 101 (the table shows the MSE after 100)")

    data = make_regression(n=args.n, noise=args.noise, seed=args.seed)
    x, y = minigrad.tensor(data.x), minigrad.tensor(data.y)     # (n, 1) float32 each
    w_ls, b_ls = least_squares(data.x, data.y)
    mse_ls = float(np.mean((w_ls * data.x + b_ls - data.y) ** 2))

    # Learning rates: for this data the MSE's Hessian has eigenvalues of about 2.5 and 0.13,
    # so gradient descent is stable for γ < 2 / 2.5 = 0.8; 0.5 converges in a few hundred
    # steps. Adam and RMSprop move each weight by about γ per step whatever the gradient's
    # size, so they need a smaller γ to settle close to the minimum.
    optimizers = {
        "gradient descent (SGD, lr=0.5)": lambda p: optim.SGD(p, lr=0.5),
        "SGD momentum 0.9 (lr=0.1)": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        "RMSprop (lr=0.01)": lambda p: optim.RMSprop(p, lr=0.01),
        "Adam (lr=0.05)": lambda p: optim.Adam(p, lr=0.05),
    }

    print(f"data: y = {data.slope:g}x + {data.intercept:g} + noise (std {args.noise:g}), "
          f"{args.n} points, x in [0, 1); {args.steps} full-batch steps each\n")
    rows = [["least squares (closed form)", w_ls, b_ls, mse_ls, mse_ls, mse_ls, "-"]]
    for name, make in optimizers.items():
        start = time.perf_counter()
        model, losses, mse = train(make, x, y, args.steps, args.seed)
        seconds = time.perf_counter() - start
        rows.append([name, model.weight.item(), model.bias.item(), losses[10], losses[100],
                     mse, f"{seconds:.2f}s"])
    print_table(["method", "slope", "intercept", "MSE after 10", "MSE after 100", "final MSE",
                 "time"], rows, ["", ".4f", ".4f", ".4f", ".4f", ".6f", ""])
    print(f"\ntrue line: slope {data.slope:g}, intercept {data.intercept:g} (the least-squares "
          f"fit differs from it only by the noise)")


if __name__ == "__main__":
    main()
