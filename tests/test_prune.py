"""minigrad.nn.utils.prune: masks drawn by hypothesis (exact count zeroed, smallest magnitudes
chosen, whole channels along the right dim by the L_n norm, global pruning picks the globally
smallest), amounts (fraction rounding, counts), composition of repeated pruning, the
reparametrization (weight_orig, weight_mask, the forward pre-hook, state_dict), gradients only
on kept entries, training that keeps pruned entries at zero, remove, is_pruned, the sparsity
report, Zhu and Gupta's gradual schedule and the GradualPruner, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn
from minigrad.nn.utils import prune

try:
    from minigrad import optim
except ImportError:  # the optimizers may land after this file: fall back to a hand-written SGD
    optim = None


def _cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


class Holder(nn.Module):
    """A module with one parameter ``weight`` of any shape (and a forward using it)."""

    def __init__(self, array, device="cpu"):
        super().__init__()
        self.weight = nn.Parameter(mg.tensor(array, device=device))

    def forward(self, x):
        return x * self.weight


def _distinct(rng, shape):
    """Values with distinct magnitudes (so "the k smallest" is one set), random signs."""
    n = int(np.prod(shape))
    magnitudes = rng.permutation(n).astype(np.float32) + 1.0
    return (magnitudes * rng.choice([-1.0, 1.0], n)).astype(np.float32).reshape(shape)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


def _amount(data, n):
    if data.draw(st.booleans()):
        k = data.draw(st.integers(0, n))
        return k, k
    fraction = data.draw(st.floats(0.0, 1.0))
    return fraction, round(fraction * n)


# ---------------------------------------------------------------------------------------------
# l1_unstructured


@given(data=st.data())
def test_l1_unstructured_mask_properties(data, device):
    rng = _rng(data)
    shape = data.draw(shapes)
    w = rng.standard_normal(shape).astype(np.float32)  # ties possible: checked by magnitude
    n = w.size
    amount, k = _amount(data, n)
    m = Holder(w, device)
    prune.l1_unstructured(m, "weight", amount)
    mask = _cpu(m.weight_mask)
    assert mask.shape == shape and mask.dtype == np.float32
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert int((mask == 0).sum()) == k                                  # exactly k zeroed
    if 0 < k < n:                                                       # the smallest |w|
        assert np.abs(w[mask == 0]).max() <= np.abs(w[mask == 1]).min()
    np.testing.assert_array_equal(_cpu(m.weight_orig), w)              # originals untouched
    np.testing.assert_array_equal(_cpu(m.weight), w * mask)


def test_fraction_rounds_half_to_even_like_python_round():
    for n, amount, k in [(5, 0.5, 2), (7, 0.5, 4), (10, 0.3, 3), (10, 0.25, 2), (3, 1.0, 3),
                         (4, 0.0, 0), (10, 0.35, 4)]:
        m = Holder(np.arange(1, n + 1, dtype=np.float32))
        prune.l1_unstructured(m, "weight", amount)
        assert int((_cpu(m.weight_mask) == 0).sum()) == k == round(amount * n)
        # the k smallest of 1..n are 1..k
        np.testing.assert_array_equal(_cpu(m.weight_mask), (np.arange(1, n + 1) > k) * 1.0)


def test_int_amount_is_a_count_and_float_one_is_everything():
    m = Holder(np.arange(1, 11, dtype=np.float32))
    prune.l1_unstructured(m, "weight", 1)       # one entry
    assert int((_cpu(m.weight_mask) == 0).sum()) == 1
    m = Holder(np.arange(1, 11, dtype=np.float32))
    prune.l1_unstructured(m, "weight", 1.0)     # all of them
    assert int((_cpu(m.weight_mask) == 0).sum()) == 10


@given(data=st.data())
def test_repeated_pruning_composes_on_the_remaining_entries(data, device):
    rng = _rng(data)
    shape = data.draw(shapes)
    w = _distinct(rng, shape)
    n = w.size
    m = Holder(w, device)
    first, k1 = _amount(data, n)
    prune.l1_unstructured(m, "weight", first)
    mask1 = _cpu(m.weight_mask).copy()
    second, k2 = _amount(data, n - k1)
    prune.l1_unstructured(m, "weight", second)
    mask2 = _cpu(m.weight_mask)
    assert np.all(mask2 <= mask1)                               # old zeros stay zero
    assert int((mask2 == 0).sum()) == k1 + k2                   # k2 of the n − k1 remaining
    order = np.argsort(np.abs(w), axis=None)                    # distinct magnitudes
    expected = np.ones(n, np.float32)
    expected[order[:k1 + k2]] = 0                               # L1 twice = the k1+k2 smallest
    np.testing.assert_array_equal(mask2.ravel(), expected)


def test_fifty_then_fifty_percent_leaves_seventy_five_percent_zeros():
    rng = np.random.default_rng(0)
    m = nn.Linear(10, 10)
    with mg.no_grad():
        m.weight.copy_(_distinct(rng, (10, 10)))
    prune.l1_unstructured(m, "weight", 0.5)
    assert prune.sparsity(m.weight) == 0.5
    prune.l1_unstructured(m, "weight", 0.5)
    assert prune.sparsity(m.weight) == 0.75
    prune.random_unstructured(m, "weight", 0.5)
    # half of the 25 left: round(12.5) = 12 (half to even), so 87 zeros
    assert int((_cpu(m.weight_mask) == 0).sum()) == 87 and prune.sparsity(m.weight) == 0.87
    hook = [h for h in m._forward_pre_hooks.values()]
    assert len(hook) == 1 and isinstance(hook[0], prune.PruningContainer)
    assert [type(x).__name__ for x in hook[0]] == ["L1Unstructured", "L1Unstructured",
                                                   "RandomUnstructured"]


def test_amount_larger_than_remaining_is_an_error_and_changes_nothing():
    m = Holder(np.arange(1, 11, dtype=np.float32))
    prune.l1_unstructured(m, "weight", 8)
    before = _cpu(m.weight_mask).copy()
    with pytest.raises(ValueError, match=r"amount=3 .*\(2\)"):
        prune.l1_unstructured(m, "weight", 3)
    np.testing.assert_array_equal(_cpu(m.weight_mask), before)
    with pytest.raises(ValueError, match="amount=11"):
        prune.l1_unstructured(Holder(np.ones(10, np.float32)), "weight", 11)


def test_importance_scores_rank_instead_of_the_weights():
    m = Holder(np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    prune.l1_unstructured(m, "weight", 2, importance_scores=np.array([9.0, 0.1, 8.0, 0.2]))
    np.testing.assert_array_equal(_cpu(m.weight_mask), [1.0, 0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="importance_scores has shape"):
        prune.l1_unstructured(Holder(np.ones(4, np.float32)), "weight", 1,
                              importance_scores=np.ones(3))


# ---------------------------------------------------------------------------------------------
# random_unstructured


@given(data=st.data())
def test_random_unstructured_count_and_composition(data, device):
    rng = _rng(data)
    shape = data.draw(shapes)
    m = Holder(rng.standard_normal(shape).astype(np.float32), device)
    n = int(np.prod(shape))
    first, k1 = _amount(data, n)
    prune.random_unstructured(m, "weight", first)
    mask1 = _cpu(m.weight_mask).copy()
    assert int((mask1 == 0).sum()) == k1
    second, k2 = _amount(data, n - k1)
    prune.random_unstructured(m, "weight", second)
    mask2 = _cpu(m.weight_mask)
    assert np.all(mask2 <= mask1) and int((mask2 == 0).sum()) == k1 + k2


def test_random_unstructured_follows_the_seed_and_is_spread_out():
    def draw(seed):
        mg.manual_seed(seed)
        m = Holder(np.ones(1000, np.float32))
        prune.random_unstructured(m, "weight", 0.5)
        return _cpu(m.weight_mask).copy()

    a, b, c = draw(1), draw(1), draw(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # each half of the entries gets about half of the zeros (L1 on equal values could not
    # tell this from a block of zeros; a uniform draw gives 250 ± 16 per half)
    assert 200 < int((a[:500] == 0).sum()) < 300


# ---------------------------------------------------------------------------------------------
# ln_structured


def _np_channel_norms(w, n, dim):
    moved = np.moveaxis(np.abs(w.astype(np.float64)), dim, 0).reshape(w.shape[dim], -1)
    if n == math.inf:
        return moved.max(axis=1)
    return (moved ** n).sum(axis=1) ** (1 / n)


@given(data=st.data())
def test_ln_structured_prunes_whole_channels_with_the_smallest_norm(data, device):
    rng = _rng(data)
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=4)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = data.draw(st.sampled_from([1, 2, 3.0, math.inf, "fro"]))
    n_num = 2 if n == "fro" else n
    w = rng.standard_normal(shape).astype(np.float32)
    channels = shape[dim]
    amount, k = _amount(data, channels)
    m = Holder(w, device)
    prune.ln_structured(m, "weight", amount, n=n, dim=dim)
    mask = np.moveaxis(_cpu(m.weight_mask), dim, 0).reshape(channels, -1)
    per_channel = mask[:, 0]
    assert np.all(mask == per_channel[:, None])              # whole channels along dim
    assert int((per_channel == 0).sum()) == k
    norms = _np_channel_norms(w, n_num, dim)
    if 0 < k < channels:
        assert norms[per_channel == 0].max() <= norms[per_channel == 1].min() * (1 + 1e-6)


def test_ln_structured_on_linear_rows_and_columns_and_composition():
    w = np.array([[1.0, 1.0, 1.0],      # row L2 norms: √3, 5, √0.02, 3
                  [3.0, 4.0, 0.0],
                  [0.1, 0.1, 0.0],
                  [0.0, 0.0, 3.0]], np.float32)
    m = nn.Linear(3, 4)
    with mg.no_grad():
        m.weight.copy_(w)
    prune.ln_structured(m, "weight", 0.5, n=2, dim=0)        # 2 of 4 rows
    np.testing.assert_array_equal(_cpu(m.weight_mask)[:, 0], [0, 1, 0, 1])
    prune.ln_structured(m, "weight", 1, n=2, dim=0)          # 1 of the 2 rows left
    np.testing.assert_array_equal(_cpu(m.weight_mask)[:, 0], [0, 1, 0, 0])
    with pytest.raises(ValueError, match="amount=2 .*channels"):
        prune.ln_structured(m, "weight", 2, n=2, dim=0)      # 1 row left
    m = nn.Linear(3, 4)
    with mg.no_grad():
        m.weight.copy_(w)
    prune.ln_structured(m, "weight", 1, n=1, dim=1)          # column L1 norms 4.1, 5.1, 4
    np.testing.assert_array_equal(_cpu(m.weight_mask)[0], [1, 1, 0])
    assert prune.sparsity(m.weight_mask) == 4 / 12


def test_ln_structured_bad_input():
    with pytest.raises(ValueError, match="at least 2 dims"):
        prune.ln_structured(Holder(np.ones(4, np.float32)), "weight", 1, n=2, dim=0)
    with pytest.raises(IndexError, match="dim 2"):
        prune.ln_structured(Holder(np.ones((2, 2), np.float32)), "weight", 1, n=2, dim=2)
    for bad in (0, -1, "nuc", float("nan")):
        with pytest.raises(ValueError, match="n must be"):
            prune.ln_structured(Holder(np.ones((2, 2), np.float32)), "weight", 1, n=bad, dim=0)


# ---------------------------------------------------------------------------------------------
# global_unstructured


@given(data=st.data())
def test_global_unstructured_picks_the_globally_smallest(data, device):
    rng = _rng(data)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).to(device)
    scale = data.draw(st.sampled_from([0.01, 1.0, 100.0]))  # layers of different magnitude
    values = _distinct(rng, (20 + 15,))
    with mg.no_grad():
        model[0].weight.copy_(values[:20].reshape(5, 4) * scale)
        model[2].weight.copy_(values[20:].reshape(3, 5))
    pairs = [(model[0], "weight"), (model[2], "weight")]
    everything = np.concatenate([_cpu(m.weight).ravel() for m, _ in pairs])
    amount, k = _amount(data, everything.size)
    prune.global_unstructured(pairs, prune.L1Unstructured, amount=amount)
    masks = np.concatenate([_cpu(m.weight_mask).ravel() for m, _ in pairs])
    assert int((masks == 0).sum()) == k
    expected = np.ones_like(masks)
    expected[np.argsort(np.abs(everything))[:k]] = 0
    np.testing.assert_array_equal(masks, expected)
    assert "bias_orig" not in dict(model.named_parameters()) and not hasattr(
        model[0], "bias_mask")


def test_global_unstructured_composes_with_earlier_masks():
    a = Holder(np.array([1.0, 2.0, 3.0, 4.0], np.float32))
    b = Holder(np.array([0.5, 5.0, 6.0], np.float32))
    prune.l1_unstructured(b, "weight", 1)                       # 0.5 gone already
    prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured, amount=0.5)
    # 6 entries remain; half of them, the 3 smallest: 1, 2, 3
    np.testing.assert_array_equal(_cpu(a.weight_mask), [0, 0, 0, 1])
    np.testing.assert_array_equal(_cpu(b.weight_mask), [0, 1, 1])
    prune.global_unstructured([(a, "weight"), (b, "weight")], prune.RandomUnstructured,
                              amount=2)
    assert int((_cpu(a.weight_mask) == 0).sum() + (_cpu(b.weight_mask) == 0).sum()) == 6


def test_global_unstructured_bad_input():
    a = Holder(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="only unstructured"):
        prune.global_unstructured([(a, "weight")], prune.LnStructured, amount=1, n=2, dim=0)
    with pytest.raises(TypeError, match="pruning-method class"):
        prune.global_unstructured([(a, "weight")], prune.l1_unstructured, amount=1)
    with pytest.raises(ValueError, match="listed twice"):
        prune.global_unstructured([(a, "weight"), (a, "weight")], prune.L1Unstructured,
                                  amount=1)
    with pytest.raises(TypeError, match="pair"):
        prune.global_unstructured([a], prune.L1Unstructured, amount=1)
    with pytest.raises(ValueError, match="amount=4"):
        prune.global_unstructured([(a, "weight")], prune.L1Unstructured, amount=4)


# ---------------------------------------------------------------------------------------------
# The reparametrization: forward, backward, training, state_dict, remove, is_pruned


def _pruned_linear(device, amount=0.5, seed=0):
    mg.manual_seed(seed)
    m = nn.Linear(6, 4, device=device)
    prune.l1_unstructured(m, "weight", amount)
    return m


def test_reparametrization_names_and_state_dict(device):
    m = nn.Linear(3, 2, device=device)
    weight = m.weight
    prune.l1_unstructured(m, "weight", 0.5)
    assert m.weight_orig is weight                           # the same Parameter object
    assert isinstance(m.weight_orig, nn.Parameter)
    assert not isinstance(m.weight, nn.Parameter) and "weight" not in m._parameters
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert [name for name, _ in m.named_parameters()] == ["bias", "weight_orig"]
    assert [name for name, _ in m.named_buffers()] == ["weight_mask"]
    assert m.weight_mask.requires_grad is False

    # a fresh model reparametrized with identity() loads the checkpoint
    fresh = prune.identity(nn.Linear(3, 2, device=device), "weight")
    fresh.load_state_dict(m.state_dict())
    x = mg.randn(5, 3, device=device)
    np.testing.assert_array_equal(_cpu(fresh(x)), _cpu(m(x)))


def test_forward_uses_the_masked_weight_recomputed_before_each_forward(device):
    m = _pruned_linear(device)
    x = mg.randn(7, 6, device=device)
    w, mask, b = _cpu(m.weight_orig), _cpu(m.weight_mask), _cpu(m.bias)
    np.testing.assert_allclose(_cpu(m(x)), _cpu(x) @ (w * mask).T + b, rtol=1e-5, atol=1e-6)
    with mg.no_grad():                                       # change the original values ...
        m.weight_orig.fill_(2.0)
    np.testing.assert_allclose(_cpu(m(x)), _cpu(x) @ (2.0 * mask).T + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(_cpu(m.weight), 2.0 * mask)  # ... seen by the next forward


def test_gradient_only_on_kept_entries(device):
    m = _pruned_linear(device, amount=0.4)
    x = mg.randn(5, 6, device=device)
    upstream = mg.randn(5, 4, device=device)
    (m(x) * upstream).sum().backward()
    mask = _cpu(m.weight_mask)
    dense = _cpu(upstream).T @ _cpu(x)                       # ∂L/∂W of a dense Linear
    grad = _cpu(m.weight_orig.grad)
    np.testing.assert_allclose(grad, dense * mask, rtol=1e-5, atol=1e-6)
    assert np.all(grad[mask == 0] == 0) and np.any(grad[mask == 1] != 0)


def _sgd(params, lr):
    if optim is not None:
        return optim.SGD(params, lr=lr, momentum=0.9, weight_decay=0.01)

    class HandSGD:  # θ ← θ − lr · g
        def __init__(self):
            self.params = list(params)

        def zero_grad(self):
            for p in self.params:
                p.grad = None

        def step(self):
            with mg.no_grad():
                for p in self.params:
                    if p.grad is not None:
                        p.sub_(p.grad, alpha=lr)
    return HandSGD()


def test_training_keeps_pruned_entries_at_zero(device):
    rng = np.random.default_rng(1)
    mg.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2)).to(device)
    opt = _sgd(model.parameters(), lr=0.1)                   # built before pruning
    prune.l1_unstructured(model[0], "weight", 0.5)
    prune.ln_structured(model[2], "weight", 1, n=2, dim=1)
    masks = [_cpu(model[0].weight_mask).copy(), _cpu(model[2].weight_mask).copy()]
    start = [_cpu(model[0].weight_orig).copy(), _cpu(model[2].weight_orig).copy()]
    x = mg.tensor(rng.standard_normal((32, 6)).astype(np.float32), device=device)
    y = mg.tensor(rng.standard_normal((32, 2)).astype(np.float32), device=device)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    model(x)  # the hook recomputes the weights from the trained originals
    for layer, mask, w0 in zip((model[0], model[2]), masks, start):
        weight = _cpu(layer.weight)
        assert np.all(weight[mask == 0] == 0)                   # pruned entries stay zero
        assert not np.allclose(weight[mask == 1], w0[mask == 1])  # kept ones trained
        np.testing.assert_array_equal(_cpu(layer.weight_mask), mask)
    assert losses[-1] < losses[0]


def test_remove_makes_pruning_permanent(device):
    m = _pruned_linear(device)
    orig = m.weight_orig
    masked = _cpu(m.weight_orig) * _cpu(m.weight_mask)
    assert prune.is_pruned(m)
    assert prune.remove(m, "weight") is m
    assert m.weight is orig and isinstance(m.weight, nn.Parameter)  # same object, now "weight"
    np.testing.assert_array_equal(_cpu(m.weight), masked)
    assert not hasattr(m, "weight_orig") and not hasattr(m, "weight_mask")
    assert list(m.state_dict()) == ["bias", "weight"]
    assert not m._forward_pre_hooks and not prune.is_pruned(m)
    with pytest.raises(ValueError, match="not pruned"):
        prune.remove(m, "weight")                                  # already removed
    with pytest.raises(ValueError, match="not pruned"):
        prune.remove(m, "bias")                                    # never pruned
    # the parameter can be pruned afresh; the zeros it holds are the smallest magnitudes
    prune.l1_unstructured(m, "weight", 0.75)
    assert int((_cpu(m.weight_mask) == 0).sum()) == 18
    assert np.all(_cpu(m.weight_mask)[masked == 0] == 0)


def test_remove_after_repeated_pruning_and_after_training():
    m = _pruned_linear("cpu")
    prune.random_unstructured(m, "weight", 0.5)
    mask = _cpu(m.weight_mask).copy()
    with mg.no_grad():
        m.weight_orig.add_(1.0)
    prune.remove(m, "weight")
    np.testing.assert_array_equal(_cpu(m.weight) == 0, mask == 0)


def test_is_pruned_looks_inside_containers():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1)))
    assert not prune.is_pruned(model)
    prune.l1_unstructured(model[2][0], "bias", 1)
    assert prune.is_pruned(model) and prune.is_pruned(model[2]) and not prune.is_pruned(
        model[0])
    prune.remove(model[2][0], "bias")
    assert not prune.is_pruned(model)
    with pytest.raises(TypeError, match="Module"):
        prune.is_pruned(model[0].weight)


def test_custom_from_mask_and_pruning_two_tensors_of_one_module():
    m = nn.Linear(2, 2)
    prune.custom_from_mask(m, "weight", np.array([[1, 0], [0, 1]]))
    prune.custom_from_mask(m, "bias", np.array([False, True]))
    prune.custom_from_mask(m, "weight", mg.tensor([[0.0, 1.0], [1.0, 1.0]]))
    np.testing.assert_array_equal(_cpu(m.weight_mask), [[0, 0], [0, 1]])
    np.testing.assert_array_equal(_cpu(m.bias_mask), [0, 1])
    assert len(m._forward_pre_hooks) == 2
    prune.remove(m, "weight")
    assert "bias_orig" in m._parameters and len(m._forward_pre_hooks) == 1
    with pytest.raises(ValueError, match="only 0s and 1s"):
        prune.custom_from_mask(m, "weight", np.array([[0.5, 1], [1, 1]]))
    with pytest.raises(ValueError, match="shape"):
        prune.custom_from_mask(m, "weight", np.ones(3))


def test_pruning_bad_input():
    m = nn.Linear(2, 2, bias=False)
    with pytest.raises(AttributeError, match="no parameter 'wieght'"):
        prune.l1_unstructured(m, "wieght", 0.5)
    with pytest.raises(ValueError, match="'bias' .* is None"):
        prune.l1_unstructured(m, "bias", 0.5)
    for bad in (-1, 1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="amount"):
            prune.l1_unstructured(m, "weight", bad)
    for bad in ("half", None, True):
        with pytest.raises(TypeError, match="amount"):
            prune.random_unstructured(m, "weight", bad)
    with pytest.raises(TypeError, match="Module"):
        prune.l1_unstructured(m.weight, "weight", 0.5)
    assert "weight" in m._parameters and not m._forward_pre_hooks   # nothing changed
    clash = nn.Linear(2, 2)
    clash.weight_mask = mg.ones(2)   # a plain attribute pruning would overwrite
    with pytest.raises(KeyError, match="weight_mask"):
        prune.l1_unstructured(clash, "weight", 1)


def test_mask_follows_the_parameter_dtype():
    m = nn.Linear(3, 2, dtype=mg.float64)
    prune.l1_unstructured(m, "weight", 2)
    assert m.weight_mask.dtype == np.float64 and m.weight.dtype == np.float64
    m = nn.Linear(3, 2)
    prune.ln_structured(m, "weight", 1, n=1, dim=0)
    assert m.weight_mask.dtype == np.float32 and m.weight.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# Sparsity report


def test_sparsity_report_per_layer_and_global(device):
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2)).to(device)
    prune.l1_unstructured(model[0], "weight", 10)
    prune.l1_unstructured(model[2], "weight", 0.5)
    with mg.no_grad():
        model[2].bias.copy_(np.array([0.0, 1.0], np.float32))
    report = prune.sparsity_report(model)
    layers = report.layers
    assert set(layers) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert layers["0.weight"] == {"zeros": 10, "total": 20, "sparsity": 0.5}
    assert layers["2.weight"]["zeros"] == 5 and layers["2.bias"]["zeros"] == 1
    assert report.zeros == 10 + 5 + 1 and report.total == 20 + 5 + 10 + 2
    assert report.sparsity == pytest.approx(16 / 37)
    as_dict = report.as_dict()
    assert as_dict["global"] == {"zeros": 16, "total": 37, "sparsity": pytest.approx(16 / 37)}
    assert as_dict["layers"]["0.weight"]["sparsity"] == 0.5
    table = str(report)
    assert "0.weight" in table and "50.00%" in table and table.splitlines()[-1].startswith(
        "global")

    only = prune.sparsity_report(model, [(model[0], "weight"), (model[2], "bias")])
    assert list(only.layers) == ["0.weight", "2.bias"] and only.sparsity == 11 / 22
    with pytest.raises(ValueError, match="not inside the model"):
        prune.sparsity_report(model, [(nn.Linear(1, 1), "weight")])
    assert prune.sparsity(mg.tensor([0.0, 1.0, 0.0, 2.0])) == 0.5
    assert prune.sparsity(model) == report.sparsity


# ---------------------------------------------------------------------------------------------
# Gradual pruning


@given(s_i=st.sampled_from([0.0, 0.1, 0.3]), s_f=st.sampled_from([0.5, 0.8, 0.95]),
       begin=st.integers(0, 20), n=st.integers(1, 10), freq=st.integers(1, 7))
def test_polynomial_sparsity_against_the_formula(s_i, s_f, begin, n, freq):
    end = begin + n * freq
    values = [prune.polynomial_sparsity(t, s_i, s_f, begin, end, freq)
              for t in range(end + 2 * freq)]
    for t, value in enumerate(values):
        if t < begin:
            assert value == 0.0
            continue
        last = begin + (min(t, end) - begin) // freq * freq      # last pruning step ≤ t
        k = (last - begin) // freq                               # pruning steps so far
        assert value == pytest.approx(s_f + (s_i - s_f) * (1 - k / n) ** 3, abs=1e-12)
    assert values[begin] == pytest.approx(s_i) and values[end] == pytest.approx(s_f)
    assert all(a <= b + 1e-12 for a, b in zip(values[begin:], values[begin + 1:]))


def test_polynomial_sparsity_bad_input():
    with pytest.raises(ValueError, match="multiple of frequency"):
        prune.polynomial_sparsity(0, 0.0, 0.9, 0, 10, 3)
    with pytest.raises(ValueError, match="end_step"):
        prune.polynomial_sparsity(0, 0.0, 0.9, 5, 5, 1)
    with pytest.raises(ValueError, match="s_initial"):
        prune.polynomial_sparsity(0, 0.5, 0.4, 0, 10, 1)
    with pytest.raises(ValueError, match="s_final"):
        prune.polynomial_sparsity(0, 0.0, 1.5, 0, 10, 1)
    with pytest.raises(ValueError, match="frequency"):
        prune.polynomial_sparsity(0, 0.0, 0.5, 0, 10, 0)
    with pytest.raises(ValueError, match="step"):
        prune.polynomial_sparsity(-1, 0.0, 0.5, 0, 10, 1)
    with pytest.raises(TypeError, match="step"):
        prune.polynomial_sparsity(1.5, 0.0, 0.5, 0, 10, 1)


@pytest.mark.parametrize("global_pruning", [False, True])
def test_gradual_pruner_follows_the_schedule_while_training(global_pruning, device):
    rng = np.random.default_rng(2)
    mg.manual_seed(4)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)
    opt = _sgd(model.parameters(), lr=0.05)
    pairs = [(model[0], "weight"), (model[2], "weight")]
    pruner = prune.GradualPruner(pairs, s_final=0.9, s_initial=0.1, begin_step=4,
                                 end_step=24, frequency=5, global_pruning=global_pruning)
    keys = list(model.state_dict())                 # reparametrized from the start
    assert "0.weight_mask" in keys and "2.weight_orig" in keys
    assert prune.sparsity_report(model, pairs).zeros == 0
    x = mg.tensor(rng.standard_normal((16, 8)).astype(np.float32), device=device)
    y = mg.tensor(rng.standard_normal((16, 3)).astype(np.float32), device=device)
    previous = [_cpu(m.weight_mask).copy() for m, _ in pairs]
    for t in range(1, 31):
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        scheduled = pruner.step()
        assert pruner.last_step == t
        assert scheduled == prune.polynomial_sparsity(t, 0.1, 0.9, 4, 24, 5)
        masks = [_cpu(m.weight_mask).copy() for m, _ in pairs]
        for old, new in zip(previous, masks):
            assert np.all(new <= old)                       # zeros are never revived
        previous = masks
        report = prune.sparsity_report(model, pairs)
        if t >= 4:
            if global_pruning:
                assert report.zeros == round(scheduled * report.total)
            else:
                for row in report.layers.values():
                    assert row["zeros"] == round(scheduled * row["total"])
        assert list(model.state_dict()) == keys
    model(x)
    assert prune.sparsity_report(model, pairs).sparsity == pytest.approx(0.9, abs=0.01)
    for m, _ in pairs:                                       # pruned entries stayed zero
        assert np.all(_cpu(m.weight)[_cpu(m.weight_mask) == 0] == 0)


def test_gradual_pruner_prunes_only_on_pruning_steps_and_resumes():
    m = Holder(np.arange(1, 101, dtype=np.float32))
    pruner = prune.GradualPruner([(m, "weight")], s_final=0.5, begin_step=2, end_step=6,
                                 frequency=2)
    zeros = [int((_cpu(m.weight_mask) == 0).sum())]
    for _ in range(8):
        pruner.step()
        zeros.append(int((_cpu(m.weight_mask) == 0).sum()))
    # s at t = 2, 4, 6: 0, 0.5 − 0.5·(1/2)³ = 0.4375 → 44, 0.5 → 50; constant in between
    assert zeros == [0, 0, 0, 0, 44, 44, 50, 50, 50]
    np.testing.assert_array_equal(_cpu(m.weight_mask), (np.arange(1, 101) > 50) * 1.0)
    state = pruner.state_dict()
    assert state["last_step"] == 8
    other = prune.GradualPruner([(Holder(np.ones(4, np.float32)), "weight")], s_final=0.1,
                                end_step=1)
    other.load_state_dict(state)
    assert other.last_step == 8 and other.s_final == 0.5 and other.frequency == 2
    with pytest.raises(KeyError, match="unexpected"):
        other.load_state_dict({"steps": 1})
    with pytest.raises(TypeError, match="step"):
        pruner.step(2.5)


def test_method_classes_apply_and_prune_a_bare_tensor():
    m = Holder(np.array([3.0, -1.0, 2.0, -4.0], np.float32))
    hook = prune.L1Unstructured.apply(m, "weight", amount=0.5)
    assert isinstance(hook, prune.L1Unstructured) and hook in m._forward_pre_hooks.values()
    np.testing.assert_array_equal(_cpu(m.weight_mask), [1, 0, 0, 1])
    container = prune.LnStructured.apply(Holder(np.ones((2, 2), np.float32)), "weight",
                                         1, 2, 0)
    assert isinstance(container, prune.LnStructured) and container.dim == 0
    t = mg.tensor([[0.5, -3.0], [2.0, 0.1]], requires_grad=True)
    pruned = prune.L1Unstructured(2).prune(t)
    np.testing.assert_array_equal(_cpu(pruned.detach()), [[0.0, -3.0], [2.0, 0.0]])
    pruned.sum().backward()
    np.testing.assert_array_equal(_cpu(t.grad), [[0.0, 1.0], [1.0, 0.0]])


def test_a_pruned_module_converted_to_float64_keeps_working():
    m = _pruned_linear("cpu")
    m.double()
    assert m.weight_orig.dtype == np.float64 and m.weight_mask.dtype == np.float64
    out = m(mg.randn(3, 6, dtype=mg.float64))
    assert out.dtype == np.float64 and m.weight.dtype == np.float64
    prune.l1_unstructured(m, "weight", 0.5)
    assert m.weight_mask.dtype == np.float64 and prune.sparsity(m.weight_mask) == 0.75
