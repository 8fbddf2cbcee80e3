"""The integer kernels of the converted layers: int8 operands, int32 accumulation, one
requantization.

    acc[n, o]  = Σ_k (q_x[n, k] − z_x) · q_w[o, k]  +  q_b[o]        (int32)
    q_b[o]     = round(b[o] / (s_x · s_w[o]))                         (the bias in the same units)
    q_y[n, o]  = clamp(round(M[o] · acc[n, o]) + z_y, q_min, q_max),   M[o] = s_x · s_w[o] / s_y

(weights symmetric, z_w = 0; a fused ReLU raises q_min to z_y, the quantized 0.)

How the int32 sum is computed: NumPy's integer matmul has no BLAS behind it (a plain triple
loop, ~50-100x slower than float32 BLAS). ``integer_matmul`` therefore has two exact methods
and picks the fast one: ``'int32'`` (np.matmul on int32 operands, the reference) and
``'float'``: the same integers in float32 through BLAS. float32 holds every integer below
2^24 = 16,777,216 exactly, and every partial sum of a dot product over k terms is at most
k · max|a| · max|b| in size, so a dot product over a chunk of K_c terms with
K_c · max|a| · max|b| < 2^24 is exact whatever order BLAS adds in. The K axis is cut into
such chunks (two for 784 inputs of 8-bit codes), each chunk's product turned into int32 and
the chunks summed in int32; where more than 8 chunks would be needed, float64 (exact below
2^53) does it in one product. Both methods give identical int32 results (the tests compare
them): an exact way to run integer arithmetic on float hardware.
"""

from __future__ import annotations

from ..backend import array_module
from ..functions.conv import Window, im2col

__all__ = ["integer_matmul", "exact_float_matmul", "requantize", "quantized_linear",
           "quantized_conv2d", "quantized_max_pool2d", "quantize_bias"]

_FLOAT32_EXACT = 2 ** 24
_MAX_CHUNKS = 8


def integer_matmul(a, b, method: str = "auto", a_bound=None, b_bound=None):
    """a @ b, exactly, as int32, for integer arrays a (..., K) and b (K, N) (or batched like
    np.matmul). ``method``: 'int32', 'float' or 'auto' (= 'float'). ``a_bound``/``b_bound``:
    known bounds on |a| and |b| (else found by a pass over the array)."""
    xp = array_module(a)
    if method == "int32":
        return xp.matmul(a.astype(xp.int32), b.astype(xp.int32))
    if method not in ("float", "auto"):
        raise ValueError(f"integer_matmul: method must be 'auto', 'int32' or 'float', "
                         f"got {method!r}")
    a_bound = _largest_magnitude(a) if a_bound is None else int(a_bound)
    b_bound = _largest_magnitude(b) if b_bound is None else int(b_bound)
    return exact_float_matmul(a, b, a_bound * b_bound)


def exact_float_matmul(a, b, largest_product: int):
    """a @ b as int32 for integer-valued arrays (int, or float holding integers) whose
    products are at most ``largest_product`` in size: float32 BLAS on chunks of K exact below
    2^24 (see the module docstring), float64 beyond 8 chunks."""
    xp = array_module(a)
    k = int(a.shape[-1])
    chunk = (_FLOAT32_EXACT - 1) // max(1, int(largest_product))   # terms per exact chunk
    if chunk < 1 or -(-k // chunk) > _MAX_CHUNKS:
        return xp.matmul(a.astype(xp.float64), b.astype(xp.float64)).astype(xp.int32)
    a32, b32 = a.astype(xp.float32, copy=False), b.astype(xp.float32, copy=False)
    if chunk >= k:
        return xp.matmul(a32, b32).astype(xp.int32)
    total = None
    for start in range(0, k, chunk):
        part = xp.matmul(a32[..., start:start + chunk], b32[..., start:start + chunk, :])
        part = part.astype(xp.int32)
        total = part if total is None else total + part
    return total


def _largest_magnitude(a) -> int:
    """max |a| as a Python int (|−128| does not fit int8, so from min and max)."""
    return max(-int(a.min(initial=0)), int(a.max(initial=0))) if a.size else 0


def _shifted_bound(q_x, zero_point: int) -> int:
    """max |q − z| over the whole 8-bit code range (no pass over the data needed)."""
    info_min, info_max = (0, 255) if q_x.dtype.kind == "u" else (-128, 127)
    return max(abs(info_min - int(zero_point)), abs(info_max - int(zero_point)))


def quantize_bias(bias, input_scale: float, weight_scale):
    """q_b = round(b / (s_x · s_w)) as int32 (None stays None)."""
    if bias is None:
        return None
    xp = array_module(bias)
    return xp.rint(bias / (xp.float32(input_scale) * weight_scale)).astype(xp.int32)


def requantize(acc, multiplier, zero_point: int, quant_min: int, quant_max: int, out_dtype):
    """q = clamp(round(M · acc) + z, q_min, q_max): the one step from int32 back to 8 bits;
    ``multiplier`` broadcasts against ``acc`` (one per output channel)."""
    xp = array_module(acc)
    q = xp.rint(acc.astype(xp.float32) * multiplier) + xp.float32(zero_point)
    return xp.clip(q, quant_min, quant_max).astype(out_dtype)


def quantized_linear(q_x, x_zero_point: int, q_w, q_b, method: str = "auto"):
    """acc = (q_x − z_x) q_wᵀ + q_b, int32, for q_x (N, K) and q_w (O, K)."""
    xp = array_module(q_x)
    acc = integer_matmul(q_x.astype(xp.int16) - xp.int16(x_zero_point), q_w.T, method,
                         _shifted_bound(q_x, x_zero_point), 128)
    return acc if q_b is None else acc + q_b


def quantized_conv2d(q_x, x_zero_point: int, q_w, q_b, stride, padding, dilation,
                     method: str = "auto"):
    """acc[n, o] = Σ_{c,i,j} (q_x − z_x)_pad[n, c, ...] · q_w[o, c, i, j] + q_b[o], int32, by
    im2col on the zero-point-shifted input (padding with 0 = the real 0.0) and one matmul."""
    xp = array_module(q_x)
    window = Window(tuple(q_w.shape[2:]), stride, padding, dilation)
    out_h, out_w = window.output_size(*q_x.shape[2:])
    w2 = q_w.reshape(q_w.shape[0], -1)
    if method == "int32":
        shifted = q_x.astype(xp.int16) - xp.int16(x_zero_point)
        acc = integer_matmul(w2, im2col(shifted, window, (out_h, out_w)), "int32")
    else:   # the same integers (q − z) in float32 before im2col: no conversion of the columns
        shifted = q_x.astype(xp.float32) - xp.float32(x_zero_point)
        cols = im2col(shifted, window, (out_h, out_w))       # (N, C·kh·kw, OH·OW)
        acc = exact_float_matmul(w2, cols, 128 * _shifted_bound(q_x, x_zero_point))
    if q_b is not None:
        acc += q_b[:, None]
    return acc.reshape(q_x.shape[0], q_w.shape[0], out_h, out_w)


def quantized_max_pool2d(q_x, kernel, stride, padding, quant_min: int):
    """Max pooling straight on the integers (x ↦ s(q − z) is increasing, so the max of the
    codes is the code of the max); padding takes the lowest code."""
    xp = array_module(q_x)
    window = Window(kernel, stride, padding)
    out_size = window.output_size(*q_x.shape[2:])
    windows = window.view(window.pad(q_x, quant_min), out_size)   # (N, C, kh, kw, OH, OW)
    out = windows[:, :, 0, 0].copy()
    for i, j in window.taps()[1:]:            # one elementwise max per tap (fast in NumPy)
        xp.maximum(out, windows[:, :, i, j], out=out)
    return out
