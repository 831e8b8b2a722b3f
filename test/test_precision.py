"""SPEC "Dtypes" and "Reductions" on precision: float16 reduces (sums, means, variances, softmax, cross-entropy) in
float32 along every axis; a float32 sum or mean of n same-sign values is within 1e-6 relative of float64 up to
n = 10**7, along every axis, and so are the dot, cross-entropy, logsumexp and KL built from them. Each input is
chosen so that a narrower accumulator fails: a float16 accumulator of 0.1 stops growing at 256, and a float32 one
summing a column sequentially drifts by ~1e-5 after 10**6 steps."""
import numpy as np
import pytest
from minigrad import Tensor, dtypes
from minigrad.ops import ReduceOps
from minigrad.schedule import create_schedule
from helpers import assert_close, logsumexp_ref

HALF_RTOL = 2e-3  # one float16 rounding of the result (2**-11), with margin


def half_columns(length, axis, ndim=2, seed=0):
    """float16 values 0.1 and 0.3 (alternating) laid out `length` long along `axis`, 2 wide along the other axes."""
    shape = [2] * ndim
    shape[axis] = length
    values = np.where(np.arange(np.prod(shape)).reshape(shape) % 4 < 2, 0.1, 0.3)
    return np.random.default_rng(seed).permutation(values.reshape(-1)).reshape(shape).astype(np.float16)


def relative_error(got, expected):
    return np.max(np.abs(np.asarray(got, np.float64) / np.asarray(expected, np.float64) - 1))


# ---- float16 accumulates in float32

@pytest.mark.parametrize("ndim, axis", [(2, 0), (2, 1), (3, 0), (3, 1), (3, 2)])
def test_half_sum_accumulates_in_float32_along_every_axis(device, ndim, axis):
    a = half_columns(20000, axis, ndim)
    got = Tensor(a, device=device).sum(axis)
    assert got.dtype == dtypes.float16
    assert_close(got.numpy(), a.astype(np.float64).sum(axis), HALF_RTOL)


def test_half_sum_of_a_constant_column_does_not_stop_at_256(device):
    a = np.full((20000, 2), 0.1, np.float16)
    column = 20000 * np.float64(a[0, 0])
    assert_close(Tensor(a, device=device).sum(0).numpy(), [column, column], HALF_RTOL)
    assert_close(Tensor(a.T, device=device).sum(1).numpy(), [column, column], HALF_RTOL)
    assert_close(Tensor(a, device=device).sum().numpy(), 2 * column, HALF_RTOL)


@pytest.mark.parametrize("ndim, axis", [(2, 0), (2, 1), (3, 1)])
@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_half_mean_var_std_accumulate_in_float32_along_every_axis(device, name, ndim, axis):
    a = half_columns(20000, axis, ndim)
    got = getattr(Tensor(a, device=device), name)(axis)
    expected = getattr(np, name)(a.astype(np.float64), axis=axis, **({} if name == "mean" else {"ddof": 1}))
    assert got.dtype == dtypes.float16
    assert_close(got.numpy(), expected, HALF_RTOL)


def test_half_mean_of_values_whose_sum_overflows_half(device):
    """6e4 + 6e4 is above float16's largest value (65504): the sum must stay in float32 until divided."""
    got = Tensor([6e4, 6e4], dtype=dtypes.float16, device=device).mean()
    assert got.dtype == dtypes.float16
    assert got.item() == 6e4  # a float16 value: the float32 mean rounds to it exactly


@pytest.mark.parametrize("name", ["mean", "var", "std"])
def test_half_reductions_over_more_than_65504_elements(device, name):
    """100,000 elements: the count itself is not a float16 value, so dividing by it in half gives inf."""
    a = np.random.default_rng(3).uniform(0, 1, 100000).astype(np.float16)
    got = getattr(Tensor(a, device=device), name)()
    expected = getattr(np, name)(a.astype(np.float64), **({} if name == "mean" else {"ddof": 1}))
    assert got.dtype == dtypes.float16
    assert_close(got.numpy(), expected, HALF_RTOL)


def test_half_logsumexp_softmax_and_cross_entropy_along_a_long_axis(device):
    a = (np.random.default_rng(4).standard_normal((20000, 2)) * 3).astype(np.float16)
    x = Tensor(a, device=device)
    reference = a.astype(np.float64)
    assert_close(x.logsumexp(0).numpy(), logsumexp_ref(reference, axis=0), HALF_RTOL)
    softmax = np.exp(reference - logsumexp_ref(reference, axis=0, keepdims=True))
    assert_close(x.softmax(0).numpy().astype(np.float64).sum(0), softmax.sum(0), HALF_RTOL)
    assert_close(x.softmax(0).numpy(), softmax, HALF_RTOL, 1e-7)
    targets = np.array([7, 19999], np.int32)
    expected = np.mean(logsumexp_ref(reference, axis=0) - reference[targets, [0, 1]])
    assert_close(x.cross_entropy(Tensor(targets, device=device), axis=0).numpy(), expected, HALF_RTOL)


HALF_GRAPHS = {
    "sum": lambda x: x.sum(0), "sum_all": lambda x: x.sum(), "mean": lambda x: x.mean(0), "var": lambda x: x.var(1),
    "logsumexp": lambda x: x.logsumexp(0), "softmax": lambda x: x.softmax(0), "log_softmax": lambda x: x.log_softmax(1),
    "cross_entropy": lambda x: x.cross_entropy(Tensor([1, 0, 1], device=x.device)),
}


@pytest.mark.parametrize("graph", HALF_GRAPHS)
def test_half_graphs_schedule_every_sum_in_float32(device, graph):
    """Whatever the backend does with a float16 sum, none is asked for: each accumulates in float32 (or wider)."""
    out = HALF_GRAPHS[graph](Tensor(half_columns(3, 0), device=device))
    ops = [op for item in create_schedule([out.lazydata.base]) for op in item.kernel.ops]
    float_sums = [op for op in ops if op.op is ReduceOps.SUM and op.dtype.is_float]  # (an int32 sum counts samples)
    assert float_sums, "no float sum scheduled"
    assert all(op.dtype in (dtypes.float32, dtypes.float64) for op in float_sums), [op.dtype for op in float_sums]


def test_gradient_below_a_half_cast_runs_in_the_inputs_dtype(device):
    """As in PyTorch: the gradient reaching a cast is cast back to its input's dtype before the ops below use it, so
    x.grad = float32(3.3) * half(1.7), not that product rounded to half."""
    x = Tensor(np.ones(4, np.float32), device=device, requires_grad=True)
    ((x * 3.3).half() * 1.7).sum().backward()
    assert x.grad.dtype == dtypes.float32
    assert_close(x.grad.numpy(), np.full(4, np.float32(3.3) * np.float32(np.float16(1.7))), 1e-6)


def test_half_prod_multiplies_in_float32(device):
    """Half products whose partial products leave half's range (1e-8 is 0 and 1e6 inf in half, and 0 * inf is NaN) but
    whose results fit: multiplied in float32, rounded once."""
    x = Tensor(np.array([[1e-4, 1e3], [1e-4, 1e3], [1e3, 1e-3], [1e3, 1e-3]], np.float16), device=device)
    assert x.prod().dtype == dtypes.float16
    assert_close(x.prod(0).numpy(), [0.01, 1.0], 2e-3)
    assert_close(x.prod().numpy(), 0.01, 2e-3)


# ---- long float32 sums: within 1e-6 relative of float64

@pytest.mark.parametrize("shape, axis", [((10**6, 2), 0), ((2, 10**6), 1), ((1000, 1000), 0), ((1000, 1000), 1),
                                         ((1000, 1000), None), ((3, 10**5, 3), 1)], ids=str)
@pytest.mark.parametrize("name", ["sum", "mean"])
def test_float32_sum_and_mean_along_every_axis_within_1e6_of_float64(device, name, shape, axis):
    a = np.random.default_rng(5).uniform(0, 1, shape).astype(np.float32)
    got = getattr(Tensor(a, device=device), name)(axis)
    assert got.dtype == dtypes.float32
    assert relative_error(got.numpy(), getattr(np, name)(a.astype(np.float64), axis=axis)) < 1e-6


def test_float32_sum_and_mean_of_ten_million_values(device):
    a = np.random.default_rng(6).uniform(0, 1, 10**7).astype(np.float32)
    x = Tensor(a, device=device)
    assert relative_error(x.sum().numpy(), a.astype(np.float64).sum()) < 1e-6
    assert relative_error(x.mean().numpy(), a.astype(np.float64).mean()) < 1e-6
    negative = -x.reshape(10**4, 10**3)
    assert relative_error(negative.sum(0).numpy(), -a.astype(np.float64).reshape(10**4, 10**3).sum(0)) < 1e-6


def test_float32_sum_of_a_product_of_ten_million_values(device):
    """(x * y).sum() and dot are contractions, never a float32 BLAS dot (2e-5 off at this length)."""
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0, 1, 10**7).astype(np.float32), rng.uniform(0, 1, 10**7).astype(np.float32)
    x, y = Tensor(a, device=device), Tensor(b, device=device)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    assert relative_error((x * y).sum().numpy(), expected) < 1e-6
    assert relative_error(x.dot(y).numpy(), expected) < 1e-6


def test_float32_column_sums_of_a_product(device):
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0, 1, (10**6, 2)).astype(np.float32), rng.uniform(0, 1, (10**6, 2)).astype(np.float32)
    got = (Tensor(a, device=device) * Tensor(b, device=device)).sum(0)
    assert relative_error(got.numpy(), (a.astype(np.float64) * b).sum(0)) < 1e-6


def test_float32_matrix_vector_products_along_a_long_row(device):
    """A matrix times a vector (either side) is a contraction with rows or columns only: not a float32 BLAS gemv, which
    is 5e-6 off for a vector times a (10**6, 2) matrix."""
    rng = np.random.default_rng(9)
    m, v = rng.uniform(0, 1, (2, 10**6)).astype(np.float32), rng.uniform(0, 1, 10**6).astype(np.float32)
    expected = m.astype(np.float64) @ v.astype(np.float64)
    x, y = Tensor(m, device=device), Tensor(v, device=device)
    assert relative_error((x @ y).numpy(), expected) < 1e-6
    assert relative_error((y @ Tensor(np.ascontiguousarray(m.T), device=device)).numpy(), expected) < 1e-6


# ---- cross-entropy, logsumexp and KL over a 100,000-class vocabulary

VOCAB = 100_000


def vocab_logits(seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal((2, VOCAB)) * scale).astype(np.float32)


def test_logsumexp_over_a_large_vocabulary_within_1e6(device):
    a = vocab_logits(9) + 3
    got = Tensor(a, device=device).logsumexp(-1)
    assert relative_error(got.numpy(), logsumexp_ref(a.astype(np.float64), axis=-1)) < 1e-6


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cross_entropy_over_a_large_vocabulary_within_1e6(device, reduction):
    a, targets = vocab_logits(10), np.array([5, VOCAB - 1], np.int32)
    reference = logsumexp_ref(a.astype(np.float64), axis=-1) - a.astype(np.float64)[[0, 1], targets]
    got = Tensor(a, device=device).cross_entropy(Tensor(targets, device=device), reduction=reduction)
    assert relative_error(got.numpy(), reference if reduction == "none" else reference.mean()) < 1e-6


def test_kl_as_a_difference_of_cross_entropies_over_a_large_vocabulary(device):
    """KL(P||Q) = CE(Q; P) - CE(P; P), with P a float32 probability vector."""
    p_logits, q_logits = vocab_logits(11), vocab_logits(12, scale=2.0)
    log_p = p_logits.astype(np.float64) - logsumexp_ref(p_logits.astype(np.float64), axis=-1, keepdims=True)
    probs = np.exp(log_p).astype(np.float32)
    log_q = q_logits.astype(np.float64) - logsumexp_ref(q_logits.astype(np.float64), axis=-1, keepdims=True)
    expected = np.mean((probs * (np.where(probs > 0, log_p, 0) - log_q)).sum(-1))
    target = Tensor(probs, device=device)
    kl = Tensor(q_logits, device=device).cross_entropy(target) - Tensor(p_logits, device=device).cross_entropy(target)
    # each cross-entropy (about 13) is rounded to float32 once: 8e-7 absolute, 3e-7 of this KL (about 2.6)
    assert relative_error(kl.numpy(), expected) < 1e-6


@pytest.mark.parametrize("scale", [1e4, 1e8])
def test_cross_entropy_of_equal_huge_logits_is_ln_2(device, scale):
    got = Tensor([[scale, scale]], device=device).cross_entropy(Tensor([1], device=device))
    assert abs(got.item() - np.log(2)) < 1e-6


def test_cos_of_large_float32_inputs_within_1e6_of_float64(device):
    """cos(x) as 1 - 2 sin(x / 2)**2: halving is exact, where pi / 2 - x rounds a large x (an error of 3e-5 near 1000)."""
    x = np.concatenate([np.linspace(-1000, 1000, 20001), np.linspace(-4, 4, 801)]).astype(np.float32)
    t = Tensor(x, device=device, requires_grad=True)
    out = t.cos()
    out.sum().backward()
    assert np.abs(out.numpy() - np.cos(x.astype(np.float64))).max() < 1e-6
    assert np.abs(t.grad.numpy() + np.sin(x.astype(np.float64))).max() < 1e-4  # sin's derivative is still sin(pi/2 - x)


def test_tanh_is_accurate_relative_to_its_value_near_zero(device):
    """tanh runs as its own op: 2 * sigmoid(2x) - 1 cancels near 0 (tanh(1e-7) gave 0, and 1e-3 was 1e-4 off relative)."""
    x = np.concatenate([np.geomspace(1e-30, 1, 300), -np.geomspace(1e-8, 20, 300)]).astype(np.float32)
    t = Tensor(x, device=device, requires_grad=True)
    out = t.tanh()
    out.sum().backward()
    assert relative_error(out.numpy(), np.tanh(x.astype(np.float64))) < 1e-6
    assert np.abs(t.grad.numpy() - (1 - np.tanh(x.astype(np.float64)) ** 2)).max() < 1e-6
    saturated = Tensor([-np.inf, -20.0, 20.0, np.inf, np.nan], device=device).tanh().numpy()  # (PoCL's tanh(inf) is 1 - 2**-24)
    assert saturated[:4].tolist() == [-1, -1, 1, 1] and np.isnan(saturated[4])
