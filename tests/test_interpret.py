"""minigrad.interpret: Saliency, NoiseTunnel (SmoothGrad), IntegratedGradients, Occlusion,
FeaturePermutation and permutation_importance, against closed forms and NumPy."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.interpret import (
    FeaturePermutation,
    IntegratedGradients,
    NoiseTunnel,
    Occlusion,
    Saliency,
    SmoothGrad,
    approximation_parameters,
    permutation_importance,
)

METHODS = ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle",
           "riemann_trapezoid"]
MNIST = os.environ.get("MINIGRAD_DATA") or os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "mnist")


def _linear(device, dtype=mg.float64):
    mg.manual_seed(0)
    layer = nn.Linear(4, 3, dtype=dtype).to(device)
    return layer, layer.weight.detach().cpu().numpy()


@pytest.mark.parametrize("method", METHODS)
def test_ig_of_a_linear_model_is_exact(device, method):
    model, w = _linear(device)
    x = mg.randn(5, 4, dtype=mg.float64, device=device)
    baseline = mg.randn(1, 4, dtype=mg.float64, device=device)
    targets = [0, 1, 2, 0, 1]
    a, delta = IntegratedGradients(model).attribute(x, baselines=baseline, target=targets,
                                                    n_steps=7, method=method,
                                                    return_convergence_delta=True)
    expected = (x.cpu().numpy() - baseline.cpu().numpy()) * w[targets]
    np.testing.assert_allclose(a.cpu().numpy(), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta.cpu().numpy(), 0.0, atol=1e-10)


@pytest.mark.parametrize("method, factor", [("riemann_left", lambda n: (n - 1) / n),
                                            ("riemann_right", lambda n: (n + 1) / n),
                                            ("riemann_middle", lambda n: 1.0),
                                            ("gausslegendre", lambda n: 1.0)])
def test_ig_quadrature_on_a_quadratic(method, factor):
    # f(x) = Σ x², baseline 0: ∂f/∂x(αx) = 2αx, so IG = x² exactly; Riemann sums of ∫ 2α dα
    # give (n − 1)/n (left) and (n + 1)/n (right), the midpoint and Gauss-Legendre rules 1.
    x = mg.tensor([[1.0, -2.0, 0.5]], dtype=mg.float64)
    a = IntegratedGradients(lambda t: (t * t).sum(1)).attribute(x, n_steps=8, method=method)
    np.testing.assert_allclose(a.numpy(), x.numpy() ** 2 * factor(8), rtol=1e-12)


def test_approximation_parameters_integrate_polynomials():
    for method in METHODS:
        steps, alphas = approximation_parameters(method, 20)
        assert sum(steps) == pytest.approx(1.0)
        assert all(0 <= a <= 1 for a in alphas)
    steps, alphas = approximation_parameters("gausslegendre", 5)
    # 5 Gauss-Legendre nodes integrate polynomials up to degree 9 exactly: ∫₀¹ α⁹ dα = 1/10
    assert sum(s * a ** 9 for s, a in zip(steps, alphas)) == pytest.approx(0.1, rel=1e-12)


def test_ig_completeness_gap_on_a_nonlinear_net(device):
    mg.manual_seed(1)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4)).double().to(device)
    x = mg.randn(3, 6, dtype=mg.float64, device=device)
    ig = IntegratedGradients(model)
    a, delta = ig.attribute(x, target=2, n_steps=32, return_convergence_delta=True)
    with mg.no_grad():
        f = model(x).cpu().numpy()[:, 2] - model(x * 0.0).cpu().numpy()[:, 2]
    gap = a.cpu().numpy().sum(1) - f
    np.testing.assert_allclose(delta.cpu().numpy(), gap, atol=1e-12)
    assert np.abs(gap).max() < 1e-8 * max(1.0, np.abs(f).max())
    chunked = ig.attribute(x, target=2, n_steps=32, internal_batch_size=7)
    np.testing.assert_allclose(chunked.cpu().numpy(), a.cpu().numpy(), rtol=1e-12)


def test_saliency_is_the_input_gradient(device):
    model, w = _linear(device)
    x = mg.randn(2, 4, dtype=mg.float64, device=device)
    np.testing.assert_allclose(Saliency(model).attribute(x, target=[1, 2]).cpu().numpy(),
                               np.abs(w[[1, 2]]))
    signed = Saliency(model).attribute(x, target=0, abs=False).cpu().numpy()
    np.testing.assert_allclose(signed, np.stack([w[0], w[0]]))


def test_noise_tunnel_forms(device):
    mg.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double().to(device)
    x = mg.randn(3, 4, dtype=mg.float64, device=device)
    plain = Saliency(model).attribute(x, target=1).cpu().numpy()
    tunnel = NoiseTunnel(Saliency(model))
    still = tunnel.attribute(x, nt_samples=3, stdevs=0.0, target=1).cpu().numpy()
    np.testing.assert_allclose(still, plain, rtol=1e-12)
    var = tunnel.attribute(x, nt_type="vargrad", nt_samples=3, stdevs=0.0, target=1)
    np.testing.assert_allclose(var.cpu().numpy(), 0.0, atol=1e-12)
    mg.manual_seed(5)
    noisy = SmoothGrad(model, x, target=1, nt_samples=4, stdevs=0.5).cpu().numpy()
    mg.manual_seed(5)
    samples = [Saliency(model).attribute(
        x + 0.5 * mg.randn(3, 4, dtype=mg.float64, device=device), target=1,
        abs=False).cpu().numpy() for _ in range(4)]
    np.testing.assert_allclose(noisy, np.mean(samples, axis=0), rtol=1e-10)


def test_occlusion_of_a_linear_model(device):
    model, w = _linear(device)
    x = mg.randn(3, 4, dtype=mg.float64, device=device)
    single = Occlusion(model).attribute(x, sliding_window_shapes=(1,), target=[0, 1, 2])
    np.testing.assert_allclose(single.cpu().numpy(), x.cpu().numpy() * w[[0, 1, 2]])
    # windows of 2 with stride 1: element i gets the mean drop of the windows covering it
    pairs = Occlusion(model).attribute(x, sliding_window_shapes=(2,), strides=1, target=0)
    contrib = x.cpu().numpy() * w[0]
    window = contrib[:, :-1] + contrib[:, 1:]                 # drops of windows 0..2
    expected = np.stack([window[:, 0], (window[:, 0] + window[:, 1]) / 2,
                         (window[:, 1] + window[:, 2]) / 2, window[:, 2]], axis=1)
    np.testing.assert_allclose(pairs.cpu().numpy(), expected)


def test_occlusion_of_images_covers_the_border():
    mg.manual_seed(0)
    x = mg.randn(2, 1, 5, 5, dtype=mg.float64)
    a = Occlusion(lambda t: t.reshape(2, -1).sum(1)).attribute(x, (1, 2, 2), strides=(1, 2, 2))
    # the sum model: every window's drop is its sum; a 5-wide axis with windows at 0, 2, 3
    assert a.shape == (2, 1, 5, 5) and np.isfinite(a.numpy()).all()
    assert a.numpy()[0, 0, 0, 0] == pytest.approx(x.numpy()[0, 0, :2, :2].sum())


def test_feature_permutation(device):
    model, _ = _linear(device)
    with mg.no_grad():
        model.weight.data[:, 3] = 0.0                         # feature 3 is unused
    x = mg.randn(6, 4, dtype=mg.float64, device=device)
    a = FeaturePermutation(model).attribute(x, target=1, seed=3).cpu().numpy()
    assert np.all(a[:, 3] == 0) and np.abs(a[:, :3]).sum() > 0
    grouped = FeaturePermutation(model).attribute(
        x, target=1, feature_mask=mg.tensor([0, 0, 1, 1]), seed=3).cpu().numpy()
    assert np.all(grouped[:, 0] == grouped[:, 1]) and np.all(grouped[:, 2] == grouped[:, 3])


def test_permutation_importance_of_a_tabular_model():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)

    def predict(features):                        # uses column 0 only
        return (features[:, 0] > 0).astype(int)

    result = permutation_importance(predict, X, y, lambda t, p: float(np.mean(t == p)),
                                    n_repeats=4)
    assert result["importances"].shape == (3, 4)
    assert result["importances_mean"][0] > 0.3
    np.testing.assert_array_equal(result["importances_mean"][1:], 0.0)


def test_bad_arguments_name_the_problem():
    model, _ = _linear("cpu")
    x = mg.randn(2, 4, dtype=mg.float64)
    with pytest.raises(ValueError, match="give target"):
        Saliency(model).attribute(x)
    with pytest.raises(ValueError, match="unknown method 'simpson'"):
        IntegratedGradients(model).attribute(x, target=0, method="simpson")
    with pytest.raises(ValueError, match="nt_type must be one of"):
        NoiseTunnel(Saliency(model)).attribute(x, nt_type="nope", target=0)
    with pytest.raises(ValueError, match=r"sliding_window_shapes \(5,\) do not fit"):
        Occlusion(model).attribute(x, sliding_window_shapes=(5,), target=0)
    with pytest.raises(ValueError, match="got 3 targets for 2 examples"):
        Saliency(model).attribute(x, target=[0, 1, 2])
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        Saliency(model).attribute(np.zeros((2, 4)), target=0)


@pytest.mark.skipif(not os.path.isdir(MNIST), reason="MNIST IDX files not found")
def test_ig_completeness_on_a_trained_mnist_mlp():
    """The issue's target: 64 Gauss-Legendre steps, gap < 1% of |f(x) − f(baseline)|."""
    from minigrad.data import load_mnist
    from minigrad.models import mlp

    images, labels = load_mnist(MNIST, train=True, normalize=True)
    x, y = mg.tensor(images[:3000].reshape(-1, 784)), mg.tensor(labels[:3000])
    mg.manual_seed(0)
    model = mlp(784, (64,), 10)
    optimizer = mg.optim.Adam(model.parameters(), lr=2e-3)
    for epoch in range(2):
        for start in range(0, 3000, 100):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[start:start + 100]), y[start:start + 100]
                                        ).backward()
            optimizer.step()
    model.eval()
    test_images, _ = load_mnist(MNIST, train=False, normalize=True)
    inputs = mg.tensor(test_images[:16].reshape(-1, 784))
    with mg.no_grad():
        predicted = model(inputs).argmax(1).tolist()
    _, delta = IntegratedGradients(model).attribute(inputs, target=predicted, n_steps=64,
                                                    return_convergence_delta=True)
    with mg.no_grad():
        logits, zero = model(inputs).numpy(), model(inputs * 0.0).numpy()
    change = np.abs(logits[range(16), predicted] - zero[range(16), predicted])
    assert np.all(np.abs(delta.numpy()) < 0.01 * change)


@pytest.mark.skipif(not os.path.isdir(MNIST), reason="MNIST IDX files not found")
def test_interpret_mnist_example_meets_the_completeness_target():
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root, OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, os.path.join(root, "examples", "interpret_mnist.py"),
                           "--quick", "--data-dir", MNIST], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if line.startswith("gausslegendre"))
    steps, max_gap = int(row.split()[1]), float(row.split()[2])
    assert steps == 64 and max_gap < 0.01
    assert "occlusion" in proc.stdout
