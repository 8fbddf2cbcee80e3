"""Loss landscapes along random filter-normalized directions (Li, Xu, Taylor, Studer and
Goldstein, "Visualizing the Loss Landscape of Neural Nets", 2018).

A direction d has one random array per parameter, d ~ N(0, 1), rescaled filter by filter so
that each filter of d has the norm of the same filter of θ::

    d_{p,i} ← d_{p,i} / ‖d_{p,i}‖ · ‖θ_{p,i}‖       (i: a row of a Linear weight, an output
                                                      channel of a Conv2d weight)

and, as in the paper, zero for 1-D parameters (biases, batch-norm scales and shifts). Then::

    landscape_1d:  L(α)    = loss(θ + α d)            for α in [−distance, distance]
    landscape_2d:  L(α, β) = loss(θ + α d₁ + β d₂)

evaluated by the real model and loss in eval mode without gradients; the parameters are put
back afterwards. Filter normalization removes the scale invariance of ReLU nets, so the
curvature of two trained nets can be compared on one plot.
"""

from __future__ import annotations

from . import backend
from .autograd import no_grad
from .tensor import Tensor

__all__ = ["filter_normalized_direction", "landscape_1d", "landscape_2d", "plot_landscape"]


def filter_normalized_direction(model, seed=None, ignore_bias_bn=True) -> list:
    """One random filter-normalized direction: a list of arrays shaped like
    ``model.parameters()`` (on their devices), drawn from minigrad's generator (``seed``:
    ``manual_seed`` first)."""
    import minigrad as mg

    if seed is not None:
        mg.manual_seed(seed)
    direction = []
    for p in model.parameters():
        theta = p.data
        xp = backend.array_module(theta)
        if theta.ndim <= 1:
            with backend.on_device(p.device):
                d = xp.zeros_like(theta) if ignore_bias_bn else _normalized(
                    mg.randn(*theta.shape, dtype=p.dtype, device=p.device).data, theta)
            direction.append(d)
            continue
        d = mg.randn(*theta.shape, dtype=p.dtype, device=p.device).data
        direction.append(_normalized(d, theta))
    return direction


def _normalized(d, theta):
    """d rescaled filter by filter (along the first axis) to the norms of θ's filters."""
    xp = backend.array_module(theta)
    axes = tuple(range(1, theta.ndim))
    if not axes:                                  # one filter: the whole vector
        return d * (xp.linalg.norm(theta) / (xp.linalg.norm(d) + 1e-10))
    d_norm = xp.sqrt((d * d).sum(axis=axes, keepdims=True))
    theta_norm = xp.sqrt((theta * theta).sum(axis=axes, keepdims=True))
    return d * (theta_norm / (d_norm + 1e-10))


def _check_direction(owner, params, direction):
    direction = [d.data if isinstance(d, Tensor) else d for d in direction]
    if len(direction) != len(params) or any(tuple(d.shape) != tuple(p.shape)
                                            for d, p in zip(direction, params)):
        raise ValueError(f"{owner}: a direction needs one array per parameter with its shape; "
                         f"got shapes {[tuple(d.shape) for d in direction]} for parameters "
                         f"{[tuple(p.shape) for p in params]}")
    # on each parameter's device and dtype (a direction built on the host, e.g. θ_b − θ_a)
    return [backend.to_device(d, p.device).astype(p.dtype, copy=False)
            for d, p in zip(direction, params)]


def _mean_loss(model, loss_fn, data) -> float:
    """The sample-weighted mean loss over ``data``: an (inputs, targets) pair or an iterable
    of such batches (a DataLoader)."""
    batches = [data] if isinstance(data, tuple) else data
    total = count = 0.0
    for inputs, targets in batches:
        n = inputs.shape[0]
        total += float(loss_fn(model(inputs), targets).item()) * n
        count += n
    if count == 0:
        raise ValueError("landscape: the data holds no samples")
    return total / count


def _evaluate_grid(owner, model, loss_fn, data, directions, coordinates):
    """loss(θ + Σ_k c_k d_k) for every tuple c in ``coordinates``, θ restored afterwards."""
    params = list(model.parameters())
    directions = [_check_direction(owner, params, d) for d in directions]
    start = [p.data.copy() for p in params]
    was_training = model.training
    model.eval()
    losses = []
    try:
        with no_grad():
            for c in coordinates:
                for i, p in enumerate(params):
                    moved = start[i].copy()
                    for weight, d in zip(c, directions):
                        moved += float(weight) * d[i]
                    p.data[...] = moved
                losses.append(_mean_loss(model, loss_fn, data))
    finally:
        for p, theta in zip(params, start):
            p.data[...] = theta
            p._bump_version()
        model.train(was_training)
    return losses


def _grid(steps, distance):
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"landscape: steps must be an integer >= 2, got {steps!r}")
    if not distance > 0:
        raise ValueError(f"landscape: distance must be > 0, got {distance!r}")
    return [-distance + 2 * distance * k / (steps - 1) for k in range(steps)]


def landscape_1d(model, loss_fn, data, steps=21, distance=1.0, direction=None, seed=0) -> dict:
    """L(α) = loss(θ + α d) for ``steps`` values of α in [−distance, distance]; d is
    ``direction`` (e.g. θ_final − θ_init for a linear interpolation) or a random
    filter-normalized one. Returns ``{"alphas", "losses", "direction"}``."""
    if direction is None:
        direction = filter_normalized_direction(model, seed)
    alphas = _grid(steps, distance)
    losses = _evaluate_grid("landscape_1d", model, loss_fn, data, [direction],
                            [(a,) for a in alphas])
    return {"alphas": alphas, "losses": losses, "direction": direction}


def landscape_2d(model, loss_fn, data, steps=11, distance=1.0, directions=None,
                 seed=0) -> dict:
    """L(α, β) = loss(θ + α d₁ + β d₂) on a ``steps`` × ``steps`` grid over
    [−distance, distance]²; ``losses[i][j]`` is at (alphas[i], betas[j])."""
    if directions is None:
        first = filter_normalized_direction(model, seed)
        directions = (first, filter_normalized_direction(model, None))
    grid = _grid(steps, distance)
    flat = _evaluate_grid("landscape_2d", model, loss_fn, data, list(directions),
                          [(a, b) for a in grid for b in grid])
    losses = [flat[i * steps:(i + 1) * steps] for i in range(steps)]
    return {"alphas": grid, "betas": list(grid), "losses": losses,
            "directions": list(directions)}


def plot_landscape(result, path, title="loss landscape") -> str:
    """Save a 1-D curve or a 2-D contour plot of a landscape to ``path`` (needs matplotlib)."""
    from .viz import pyplot

    plt = pyplot("plot_landscape")
    figure, axis = plt.subplots(figsize=(5, 4))
    if "betas" in result:
        contour = axis.contour(result["betas"], result["alphas"], result["losses"], levels=20)
        axis.clabel(contour, fontsize=6)
        axis.set(xlabel="β", ylabel="α")
    else:
        axis.plot(result["alphas"], result["losses"])
        axis.set(xlabel="α", ylabel="loss")
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
