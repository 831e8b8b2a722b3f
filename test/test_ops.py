"""SPEC "Tensor API": elementwise ops, reductions, movement, indexing, linear algebra and functional ops.

Each op is checked forward against a float64 NumPy reference (the reference sits beside the test) and backward
against central finite differences in float64 (see helpers.check).
"""
import os
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from minigrad import Tensor, dtypes
from helpers import (assert_close, away_from_zero, check, check_gradients, conv2d_ref, gelu_tanh_ref, log_softmax_ref,
                     logsumexp_ref, pool2d_ref, rand, raises_naming, unbroadcast)

X = rand(3, 4)                      # generic input in [-2, 2)
POSITIVE = rand(3, 4, low=0.5, high=3.0, seed=2)
NONZERO = away_from_zero(rand(3, 4, seed=3), margin=0.2)


# ---- binary arithmetic, with broadcasting ----

BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 1, 4), (2, 1)), ((4,), (2, 3, 4)), ((), (2, 3)), ((2, 1), ())]


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_add_broadcasts(device, shapes):
    check(lambda a, b: a + b, np.add, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2), device=device)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_sub_broadcasts(device, shapes):
    check(lambda a, b: a - b, np.subtract, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2), device=device)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_mul_broadcasts(device, shapes):
    check(lambda a, b: a * b, np.multiply, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2), device=device)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_div_is_true_division_and_broadcasts(device, shapes):
    denominator = away_from_zero(rand(*shapes[1], seed=2), margin=0.5)
    check(lambda a, b: a / b, np.divide, rand(*shapes[0], seed=1), denominator, device=device)


def test_int_division_is_true_division(device):
    out = Tensor([1, 2, 3], device=device) / 2
    assert_close(out.numpy(), np.array([0.5, 1.0, 1.5]), 0, 0)
    assert_close((Tensor([1, 4], device=device) / Tensor([2, 8], device=device)).numpy(), np.array([0.5, 0.5]), 0, 0)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_pow_broadcasts(device, shapes):
    check(lambda a, b: a ** b, np.power, rand(*shapes[0], low=0.5, high=2.0, seed=1), rand(*shapes[1], seed=2),
          device=device)


def test_pow_scalar_exponent(device):
    check(lambda t: t ** 2, lambda x: x ** 2, X, device=device)
    check(lambda t: t ** 3, lambda x: x ** 3, X, device=device)
    check(lambda t: t ** 0.5, np.sqrt, POSITIVE, device=device)
    check(lambda t: t ** -1.5, lambda x: x ** -1.5, POSITIVE, device=device)


def test_pow_negative_base_integer_exponent(device):
    check(lambda t: t ** 2, np.square, np.array([-3.0, -0.5, 2.0]), device=device)
    check(lambda t: t ** 3, lambda x: x ** 3, np.array([-3.0, -0.5, 2.0]), device=device)


def test_unary_neg(device):
    check(lambda t: -t, np.negative, X, device=device)


def test_scalar_operands(device):
    check(lambda t: t + 2, lambda x: x + 2, X, device=device)
    check(lambda t: t - 2.5, lambda x: x - 2.5, X, device=device)
    check(lambda t: t * -3, lambda x: x * -3, X, device=device)
    check(lambda t: t / 4, lambda x: x / 4, X, device=device)


def test_reflected_scalar_forms(device):
    check(lambda t: 2 + t, lambda x: 2 + x, X, device=device)
    check(lambda t: 2 - t, lambda x: 2 - x, X, device=device)
    check(lambda t: 3 * t, lambda x: 3 * x, X, device=device)
    check(lambda t: 1 / t, lambda x: 1 / x, NONZERO, device=device)
    check(lambda t: 2 ** t, lambda x: 2 ** x, X, device=device)


def test_numpy_scalars_act_as_python_scalars_on_either_side(device):
    """As in PyTorch: a NumPy scalar (np.float64(2), np.int64(3), np.bool_) meets a Tensor as a Python scalar would, on
    either side, never turning the result into a NumPy array of Tensors, and keeps the Tensor's dtype."""
    x = Tensor(np.array([1.0, 2.0], np.float16), device=device)
    for result, expected in ((np.float64(2) * x, [2, 4]), (x - np.float32(0.5), [0.5, 1.5]), (np.int64(3) - x, [2, 1]), (x ** np.float32(2), [1, 4])):
        assert isinstance(result, Tensor) and result.dtype == dtypes.float16 and result.numpy().tolist() == expected
    ints = Tensor([1, 2], device=device)
    assert (ints * np.int64(3)).dtype == dtypes.int32 and (np.bool_(True) + ints).numpy().tolist() == [2, 3]
    assert ((np.float32(1.5) < ints).numpy().tolist(), (ints / np.int32(2)).numpy().tolist()) == ([False, True], [0.5, 1.0])
    with pytest.raises(TypeError, match="cannot combine a Tensor with ndarray: make it a Tensor first"):
        np.ones(2) + ints


# ---- comparisons ----

COMPARISONS = {"<": (lambda a, b: a < b, np.less), "<=": (lambda a, b: a <= b, np.less_equal),
               ">": (lambda a, b: a > b, np.greater), ">=": (lambda a, b: a >= b, np.greater_equal),
               "==": (lambda a, b: a == b, np.equal), "!=": (lambda a, b: a != b, np.not_equal)}


@pytest.mark.parametrize("op", list(COMPARISONS))
def test_comparisons_give_bool(device, op):
    ours, reference = COMPARISONS[op]
    a = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([2.0, 2.0, 7.0])
    out = ours(Tensor(a, device=device), Tensor(b, device=device))
    assert out.dtype == dtypes.bool and out.shape == (2, 3)
    assert out.numpy().dtype == np.bool_
    np.testing.assert_array_equal(out.numpy(), reference(a, b))
    np.testing.assert_array_equal(ours(Tensor(a, device=device), 3.0).numpy(), reference(a, 3.0))


def test_comparisons_have_no_gradient(device):
    x = Tensor([-1.0, 2.0, 3.0], device=device, requires_grad=True)
    mask = x > 0
    assert mask.requires_grad is False
    (x * mask.float()).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 1.0])


# ---- unary math ----

def test_exp(device):
    check(lambda t: t.exp(), np.exp, X, device=device)


def test_log(device):
    check(lambda t: t.log(), np.log, POSITIVE, device=device)


def test_exp2(device):
    check(lambda t: t.exp2(), np.exp2, X, device=device)


def test_log2(device):
    check(lambda t: t.log2(), np.log2, POSITIVE, device=device)


def test_sqrt(device):
    check(lambda t: t.sqrt(), np.sqrt, POSITIVE, device=device)


def test_rsqrt(device):
    check(lambda t: t.rsqrt(), lambda x: 1 / np.sqrt(x), POSITIVE, device=device)


def test_reciprocal(device):
    check(lambda t: t.reciprocal(), np.reciprocal, NONZERO, device=device)


def test_square(device):
    check(lambda t: t.square(), np.square, X, device=device)


def test_abs(device):
    check(lambda t: t.abs(), np.abs, NONZERO, device=device)


def test_sign(device):
    check(lambda t: t.sign(), np.sign, NONZERO, device=device, allow_none=True)
    assert_close(Tensor([-2.0, 0.0, 3.0], device=device).sign().numpy(), np.array([-1.0, 0.0, 1.0]), 0, 0)


def test_sin(device):
    check(lambda t: t.sin(), np.sin, X * 2, device=device)


def test_sin_of_small_values_beside_huge_ones(device):
    """Whatever its neighbours (a vector kernel computes several at once), each value gets its own sine."""
    x = np.array([1e-30, 1e-3, 0.01, 0.1, 0.2, 1e8, -0.05, 0.3] * 3, np.float32)
    assert_close(Tensor(x, device=device).sin().numpy(), np.sin(x.astype(np.float64)), 1e-6, 1e-7)


def test_cos(device):
    check(lambda t: t.cos(), np.cos, X * 2, device=device)


def test_tanh(device):
    check(lambda t: t.tanh(), np.tanh, X, device=device)
    assert_close(Tensor([-100.0, 100.0], device=device).tanh().numpy(), np.array([-1.0, 1.0]), 1e-6)


def test_sigmoid(device):
    check(lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), X, device=device)
    assert_close(Tensor([-100.0, 100.0], device=device).sigmoid().numpy(), np.array([0.0, 1.0]), 1e-6, 1e-30)


def test_relu(device):
    check(lambda t: t.relu(), lambda x: np.maximum(x, 0), NONZERO, device=device)


def test_leaky_relu(device):
    check(lambda t: t.leaky_relu(), lambda x: np.where(x > 0, x, 0.01 * x), NONZERO, device=device)
    check(lambda t: t.leaky_relu(neg_slope=0.2), lambda x: np.where(x > 0, x, 0.2 * x), NONZERO, device=device)
    at_zero = Tensor([0.0, -0.0], device=device, requires_grad=True)
    at_zero.leaky_relu(0.2).sum().backward()
    assert_close(at_zero.grad.numpy(), np.array([0.2, 0.2]), 1e-7, msg="PyTorch's slope at 0 is neg_slope")


def test_gelu(device):
    check(lambda t: t.gelu(), gelu_tanh_ref, X * 1.5, device=device, rtol=1e-3, atol=1e-3, f32_rtol=1e-3, f32_atol=1e-3)


def test_silu(device):
    check(lambda t: t.silu(), lambda x: x / (1 + np.exp(-x)), X * 2, device=device)


def test_clip(device):
    values = np.array([[-2.0, -0.7, -0.3, 0.0], [0.2, 0.45, 0.9, 3.0]])
    check(lambda t: t.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), values, device=device)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1, 4), (2, 1))], ids=str)
def test_maximum(device, shapes):
    check(lambda a, b: a.maximum(b), np.maximum, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2), device=device)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1, 4), (2, 1))], ids=str)
def test_minimum(device, shapes):
    check(lambda a, b: a.minimum(b), np.minimum, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2), device=device)


def test_maximum_minimum_with_python_scalar(device):
    check(lambda a: a.maximum(0.5), lambda x: np.maximum(x, 0.5), X, device=device)
    check(lambda a: a.minimum(0.5), lambda x: np.minimum(x, 0.5), X, device=device)


def test_maximum_minimum_gradient_splits_ties(device):
    for name, expected_a, expected_b in [("maximum", [0.5, 1.0, 0.5], [0.5, 0.0, 0.5]),
                                         ("minimum", [0.5, 0.0, 0.5], [0.5, 1.0, 0.5])]:
        a = Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
        b = Tensor([1.0, 0.0, 3.0], device=device, requires_grad=True)
        getattr(a, name)(b).sum().backward()
        assert_close(a.grad.numpy(), np.array(expected_a), 1e-6, msg=f"{name} grad of a")
        assert_close(b.grad.numpy(), np.array(expected_b), 1e-6, msg=f"{name} grad of b")


def test_where(device):
    condition = Tensor(np.array([[True, False, True, False]]), device=device)
    check(lambda x, y: condition.where(x, y), lambda x, y: np.where([[True, False, True, False]], x, y),
          rand(3, 4, seed=1), rand(3, 1, seed=2), device=device)


def test_minimum_of_bools(device):
    a, b = Tensor([True, False, True, False], device=device), Tensor([True, True, False, False], device=device)
    assert a.minimum(b).dtype == dtypes.bool and a.minimum(b).numpy().tolist() == [True, False, False, False]
    assert a.minimum(0.5).numpy().tolist() == [0.5, 0.0, 0.5, 0.0] and a.minimum(2).dtype == dtypes.int32


@pytest.mark.parametrize("x,y,dtype,expected", [
    (0.5, Tensor([1, 2]), "float32", [0.5, 2.0]),             # a float scalar with an int tensor is float32, as in PyTorch
    (Tensor([1, 2]), 2.5, "float32", [1.0, 2.5]),
    (3, Tensor([1.0, 2.0]).half(), "float16", [3.0, 2.0]),    # an int scalar takes the float tensor's dtype
    (True, Tensor([1, 2]), "int32", [1, 2]),
    (Tensor([True, True]), False, "bool", [True, False]),
    (1, 2.5, "float32", [1.0, 2.5]), (1, 2, "int32", [1, 2])], ids=str)
def test_where_promotes_python_scalars_as_pytorch(device, x, y, dtype, expected):
    x, y = [v.to(device) if isinstance(v, Tensor) else v for v in (x, y)]
    result = Tensor([True, False], device=device).where(x, y)
    assert result.dtype == dtypes.of(dtype) and result.numpy().tolist() == expected


# ---- reductions ----

REDUCE_AXES = [(None, False), (None, True), (0, False), (1, True), (-1, False), (-2, True), ((0, 2), False),
               ((0, -1), True), ((0, 1, 2), False)]
over_axes = pytest.mark.parametrize("axis,keepdim", REDUCE_AXES, ids=lambda v: repr(v))
R3 = rand(2, 3, 4, seed=5)


@over_axes
def test_sum(device, axis, keepdim):
    check(lambda t: t.sum(axis=axis, keepdim=keepdim), lambda x: x.sum(axis=axis, keepdims=keepdim), R3, device=device)


@over_axes
def test_mean(device, axis, keepdim):
    check(lambda t: t.mean(axis=axis, keepdim=keepdim), lambda x: x.mean(axis=axis, keepdims=keepdim), R3,
          device=device)


@over_axes
def test_max(device, axis, keepdim):
    check(lambda t: t.max(axis=axis, keepdim=keepdim), lambda x: x.max(axis=axis, keepdims=keepdim), R3, device=device)


@over_axes
def test_min(device, axis, keepdim):
    check(lambda t: t.min(axis=axis, keepdim=keepdim), lambda x: x.min(axis=axis, keepdims=keepdim), R3, device=device)


@over_axes
def test_prod(device, axis, keepdim):
    values = away_from_zero(rand(2, 3, 4, low=-1.5, high=1.5, seed=6), margin=0.3)
    check(lambda t: t.prod(axis=axis, keepdim=keepdim), lambda x: x.prod(axis=axis, keepdims=keepdim), values,
          device=device)


def test_prod_beside_an_empty_dim(device):
    for shape, axis in [((0, 3), 1), ((0, 3), 0), ((2, 0, 3), (0, 2))]:
        out = Tensor.ones(*shape, device=device).prod(axis)
        assert out.shape == np.ones(shape).prod(axis).shape and (out.numpy() == 1).all()


def test_reductions_of_a_0d_tensor_along_its_axis(device):
    """PyTorch lets dim 0 (or -1) name the single axis of a 0-d tensor; each reduction gives the value back."""
    for name in ("sum", "mean", "max", "min", "prod", "logsumexp"):
        for dim in (0, -1):
            out = getattr(Tensor(2.0, device=device), name)(dim=dim)
            assert out.shape == () and out.item() == 2.0, (name, dim)


@over_axes
def test_logsumexp(device, axis, keepdim):
    check(lambda t: t.logsumexp(axis=axis, keepdim=keepdim), lambda x: logsumexp_ref(x, axis=axis, keepdims=keepdim),
          R3, device=device)


def test_logsumexp_is_stable_for_large_values(device):
    out = Tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], device=device).logsumexp(axis=1)
    assert_close(out.numpy(), np.array([1000 + np.log(2), -1000 + np.log(2)]), 1e-6)


@pytest.mark.parametrize("correction", [1, 0])
@over_axes
def test_var_with_correction(device, axis, keepdim, correction):
    check(lambda t: t.var(axis=axis, keepdim=keepdim, correction=correction),
          lambda x: x.var(axis=axis, keepdims=keepdim, ddof=correction), R3, device=device)


@pytest.mark.parametrize("correction", [1, 0])
@over_axes
def test_std_with_correction(device, axis, keepdim, correction):
    check(lambda t: t.std(axis=axis, keepdim=keepdim, correction=correction),
          lambda x: x.std(axis=axis, keepdims=keepdim, ddof=correction), R3, device=device)


def test_std_of_a_constant_row_has_zero_gradient_as_pytorch(device):
    x = Tensor([[1.0, 1.0, 1.0], [2.0, 3.0, 7.0]], device=device, requires_grad=True)
    std = x.std(1)
    std.sum().backward()
    row = np.array([2.0, 3.0, 7.0])
    assert_close(std.numpy(), np.array([0.0, row.std(ddof=1)]), 1e-6)  # the constant row's std is 0 itself
    assert_close(x.grad.numpy(), np.stack([np.zeros(3), (row - row.mean()) / (2 * row.std(ddof=1))]), 1e-6)


def test_var_std_default_correction_is_one(device):
    check(lambda t: t.var(), lambda x: x.var(ddof=1), R3, device=device)
    check(lambda t: t.std(axis=1), lambda x: x.std(axis=1, ddof=1), R3, device=device)


@pytest.mark.parametrize("axis, keepdim", [(0, False), (1, True), (None, False), ((0, 1), True)])
def test_int32_sums_come_back_as_int32(device, axis, keepdim):
    """A sum that a kernel stores as its output keeps the tensor's dtype (NumPy alone would sum int32 into int64)."""
    values = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    got = Tensor(values, device=device).sum(axis, keepdim=keepdim).numpy()
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, values.sum(axis, keepdims=keepdim))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_argmin_are_int32(device, name):
    values = rand(3, 5, seed=7)
    t = Tensor(values, device=device, requires_grad=True)
    whole = getattr(t, name)()
    assert whole.dtype == dtypes.int32 and whole.shape == () and whole.requires_grad is False
    assert whole.item() == getattr(np, name)(values)
    for axis in [0, 1, -1]:
        out = getattr(t, name)(axis=axis)
        assert out.dtype == dtypes.int32
        np.testing.assert_array_equal(out.numpy(), getattr(np, name)(values, axis=axis))
    kept = getattr(t, name)(axis=1, keepdim=True)
    np.testing.assert_array_equal(kept.numpy(), getattr(np, name)(values, axis=1, keepdims=True))


def test_max_min_gradient_split_evenly_between_ties(device):
    x = Tensor([1.0, 3.0, 3.0], device=device, requires_grad=True)
    x.max().backward()
    assert_close(x.grad.numpy(), np.array([0.0, 0.5, 0.5]), 1e-6)
    y = Tensor([2.0, 1.0, 1.0, 5.0], device=device, requires_grad=True)
    y.min().backward()
    assert_close(y.grad.numpy(), np.array([0.0, 0.5, 0.5, 0.0]), 1e-6)
    z = Tensor([[1.0, 3.0, 3.0], [4.0, 4.0, 4.0]], device=device, requires_grad=True)
    z.max(axis=1).sum().backward()
    assert_close(z.grad.numpy(), np.array([[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]), 1e-6)


# ---- movement ----

M = rand(2, 3, 4, seed=8)


def test_reshape_with_minus_one(device):
    check(lambda t: t.reshape(6, -1), lambda x: x.reshape(6, -1), M, device=device)
    check(lambda t: t.reshape(-1), lambda x: x.reshape(-1), M, device=device)
    check(lambda t: t.reshape(4, 1, 6), lambda x: x.reshape(4, 1, 6), M, device=device)


def test_permute(device):
    check(lambda t: t.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), M, device=device)


def test_transpose(device):
    check(lambda t: t.transpose(), lambda x: x.swapaxes(-2, -1), M, device=device)
    check(lambda t: t.transpose(0, 2), lambda x: x.swapaxes(0, 2), M, device=device)


def test_flatten(device):
    check(lambda t: t.flatten(), lambda x: x.reshape(-1), M, device=device)
    check(lambda t: t.flatten(1), lambda x: x.reshape(2, 12), M, device=device)
    check(lambda t: t.flatten(0, 1), lambda x: x.reshape(6, 4), M, device=device)


def test_unsqueeze(device):
    check(lambda t: t.unsqueeze(0), lambda x: x[None], M, device=device)
    check(lambda t: t.unsqueeze(-1), lambda x: x[..., None], M, device=device)
    check(lambda t: t.unsqueeze(2), lambda x: x[:, :, None], M, device=device)


def test_squeeze(device):
    values = rand(1, 3, 1, 2, seed=9)
    check(lambda t: t.squeeze(), lambda x: x.reshape(3, 2), values, device=device)
    check(lambda t: t.squeeze(2), lambda x: x.reshape(1, 3, 2), values, device=device)
    check(lambda t: t.squeeze(0), lambda x: x.reshape(3, 1, 2), values, device=device)


def test_expand(device):
    values = rand(3, 1, 4, seed=10)
    check(lambda t: t.expand(3, 2, 4), lambda x: np.broadcast_to(x, (3, 2, 4)), values, device=device)
    check(lambda t: t.expand(2, 3, 5, 4), lambda x: np.broadcast_to(x, (2, 3, 5, 4)), values, device=device)


def test_pad_with_value(device):
    values = rand(2, 3, seed=11)
    check(lambda t: t.pad(((1, 2), (0, 1))), lambda x: np.pad(x, ((1, 2), (0, 1))), values, device=device)
    check(lambda t: t.pad(((0, 0), (2, 1)), value=-1.5),
          lambda x: np.pad(x, ((0, 0), (2, 1)), constant_values=-1.5), values, device=device)


def test_flip(device):
    check(lambda t: t.flip(0), lambda x: np.flip(x, 0), M, device=device)
    check(lambda t: t.flip(-1), lambda x: np.flip(x, -1), M, device=device)


INDEXES = {"int": 1, "negative int": -1, "slice": slice(1, 3), "step": slice(None, None, 2),
           "negative step": slice(None, None, -1), "negative step 2": slice(3, 0, -2),
           "mixed": (1, slice(2, None), slice(None, None, -3)), "none": (None, 1), "ellipsis": (Ellipsis, 2),
           "none in middle": (slice(None), None, -1), "ellipsis none": (1, Ellipsis, None),
           "negative start": (slice(-2, None), slice(None, -1), slice(-1, -4, -1))}


@pytest.mark.parametrize("index", list(INDEXES))
def test_indexing(device, index):
    key = INDEXES[index]
    check(lambda t: t[key], lambda x: x[key], rand(4, 3, 5, seed=12), device=device)


def test_indexing_scalar_result(device):
    values = rand(2, 3, seed=13)
    check(lambda t: t[1, -2], lambda x: np.asarray(x[1, -2]), values, device=device)


def test_index_with_int_tensor_gathers(device):
    table = rand(5, 3, seed=14)
    index = np.array([3, 0, 4, 0])
    check(lambda t: t[Tensor(index, device=device)], lambda x: x[index], table, device=device)
    check(lambda t: t[Tensor(index, device=device)], lambda x: x[index], rand(6, seed=15), device=device)


def test_index_with_repeated_indices_accumulates_gradient(device):
    x = Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x[Tensor([0, 0, 2, 0], device=device)].sum().backward()
    assert_close(x.grad.numpy(), np.array([3.0, 0.0, 1.0]), 1e-6)


def test_cat(device):
    a, b, c = rand(2, 3, seed=1), rand(1, 3, seed=2), rand(3, 3, seed=3)
    check(lambda x, y, z: Tensor.cat(x, y, z), lambda x, y, z: np.concatenate([x, y, z]), a, b, c, device=device)
    check(lambda x, y: Tensor.cat(x, y), lambda x, y: np.concatenate([x, y]), a, b, device=device)


def test_cat_as_method_with_dim(device):
    a, b = rand(2, 3, seed=1), rand(2, 2, seed=2)
    check(lambda x, y: x.cat(y, dim=1), lambda x, y: np.concatenate([x, y], axis=1), a, b, device=device)
    check(lambda x, y: x.cat(y, y, dim=-1), lambda x, y: np.concatenate([x, y, y], axis=-1), a, b, device=device)


def test_stack(device):
    a, b = rand(2, 3, seed=1), rand(2, 3, seed=2)
    check(lambda x, y: Tensor.stack(x, y), lambda x, y: np.stack([x, y]), a, b, device=device)
    check(lambda x, y: x.stack(y, dim=1), lambda x, y: np.stack([x, y], axis=1), a, b, device=device)
    check(lambda x, y: x.stack(y, x, dim=-1), lambda x, y: np.stack([x, y, x], axis=-1), a, b, device=device)


def test_split(device):
    values = rand(5, 4, seed=16)
    pieces = Tensor(values, device=device).split(2)
    assert [p.shape for p in pieces] == [(2, 4), (2, 4), (1, 4)]
    for i, start in enumerate([0, 2, 4]):
        check(lambda t: t.split(2)[i], lambda x: x[start:start + 2], values, device=device)
    check(lambda t: t.split(3, dim=1)[1], lambda x: x[:, 3:], values, device=device)


def test_chunk(device):
    values = rand(6, 2, seed=17)
    pieces = Tensor(values, device=device).chunk(3)
    assert [p.shape for p in pieces] == [(2, 2)] * 3
    for i in range(3):
        check(lambda t: t.chunk(3)[i], lambda x: x[2 * i:2 * i + 2], values, device=device)
    check(lambda t: t.chunk(2, dim=1)[1], lambda x: x[:, 1:], values, device=device)


def test_chunk_uneven_like_torch(device):
    pieces = Tensor(np.arange(7.0), device=device).chunk(3)
    assert [p.tolist() for p in pieces] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0]]
    assert [p.shape for p in Tensor.zeros(0, 3, device=device).chunk(2)] == [(0, 3), (0, 3)]  # as PyTorch: n empty pieces
    assert [p.shape for p in Tensor.zeros(3, 0, device=device).chunk(3, dim=1)] == [(3, 0)] * 3


def test_repeat(device):
    values = rand(2, 3, seed=18)
    check(lambda t: t.repeat(2, 3), lambda x: np.tile(x, (2, 3)), values, device=device)
    check(lambda t: t.repeat(2, 1, 2), lambda x: np.tile(x, (2, 1, 2)), values, device=device)


def test_index_out_of_range_raises(device):
    t = Tensor([1.0, 2.0, 3.0], device=device)
    with raises_naming("3", "size 3"):
        t[3].numpy()


def test_tensor_index_out_of_range_raises_no_later_than_realize(device):
    t = Tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device)
    with raises_naming("7", "size 3"):
        t[Tensor([0, 7], device=device)].numpy()


# ---- linear algebra ----

@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)),
                                    ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4,)),
                                    ((4,), (2, 4, 3))], ids=str)
def test_matmul_like_numpy(device, shapes):
    check(lambda a, b: a @ b, np.matmul, rand(*shapes[0], seed=1), rand(*shapes[1], seed=2), device=device)
    check(lambda a, b: a.matmul(b), np.matmul, rand(*shapes[0], seed=3), rand(*shapes[1], seed=4), device=device)


def test_dot(device):
    check(lambda a, b: a.dot(b), np.dot, rand(3, 4, seed=1), rand(4, 2, seed=2), device=device)
    check(lambda a, b: a.dot(b), np.dot, rand(4, seed=1), rand(4, seed=2), device=device)


def test_linear_weight_is_out_by_in(device):
    x, weight, bias = rand(2, 3, seed=1), rand(4, 3, seed=2), rand(4, seed=3)
    check(lambda t, w, b: t.linear(w, b), lambda t, w, b: t @ w.T + b, x, weight, bias, device=device)
    check(lambda t, w: t.linear(w), lambda t, w: t @ w.T, x, weight, device=device)
    check(lambda t, w: t.linear(w), lambda t, w: t @ w.T, rand(2, 5, 3, seed=4), weight, device=device)


# ---- functional ----

def softmax_ref(x, axis=-1):
    return np.exp(log_softmax_ref(x, axis))


def test_softmax(device):
    check(lambda t: t.softmax(), softmax_ref, R3, device=device)
    check(lambda t: t.softmax(axis=0), lambda x: softmax_ref(x, 0), R3, device=device)
    big = np.array([[1000.0, 999.0, -1000.0]])
    assert_close(Tensor(big, device=device).softmax().numpy(), softmax_ref(big), 1e-6, 1e-7)


def test_log_softmax(device):
    check(lambda t: t.log_softmax(), log_softmax_ref, R3, device=device)
    check(lambda t: t.log_softmax(axis=1), lambda x: log_softmax_ref(x, 1), R3, device=device)
    big = np.array([[1000.0, 999.0, -1000.0]])
    assert_close(Tensor(big, device=device).log_softmax().numpy(), log_softmax_ref(big), 1e-6)


def test_dropout_is_identity_when_not_training(device):
    saved, Tensor.training = Tensor.training, False
    try:
        x = Tensor(rand(4, 5), device=device)
        assert_close(x.dropout(0.5).numpy(), x.numpy(), 0, 0)
    finally:
        Tensor.training = saved


@pytest.mark.parametrize("p", [0.5, 0.25])
def test_dropout_zeroes_about_p_and_scales_survivors_when_training(device, training, p):
    x = Tensor.ones(100, 100, device=device, requires_grad=True)
    y = x.dropout(p)
    out = y.numpy()
    zeroed = np.mean(out == 0)
    assert abs(zeroed - p) < 0.03, f"fraction zeroed {zeroed}, expected about {p}"
    assert_close(out[out != 0], np.full(np.sum(out != 0), 1 / (1 - p)), 1e-6)
    y.sum().backward()
    assert_close(x.grad.numpy(), out, 1e-6, msg="gradient must use the same mask as the forward")


def test_layernorm(device):
    def reference(x, axis=-1):
        return (x - x.mean(axis, keepdims=True)) / np.sqrt(x.var(axis, keepdims=True) + 1e-5)
    check(lambda t: t.layernorm(), reference, R3, device=device)
    check(lambda t: t.layernorm(axis=1), lambda x: reference(x, 1), R3, device=device)
    check(lambda t: t.layernorm(eps=0.5),
          lambda x: (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 0.5), R3, device=device)


def test_one_hot(device):
    out = Tensor([0, 2, 1, 0], device=device).one_hot(3)
    assert out.shape == (4, 3)
    np.testing.assert_array_equal(out.numpy().astype(np.float64), np.eye(3)[[0, 2, 1, 0]])
    nested = Tensor([[1], [3]], device=device).one_hot(4)
    np.testing.assert_array_equal(nested.numpy().astype(np.float64), np.eye(4)[[[1], [3]]])


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 0), (1, 1), (2, 1)])
def test_conv2d(device, stride, padding):
    x, weight, bias = rand(2, 3, 6, 5, seed=1), rand(4, 3, 3, 3, seed=2), rand(4, seed=3)
    check(lambda t, w, b: t.conv2d(w, b, stride=stride, padding=padding),
          lambda t, w, b: conv2d_ref(t, w, b, stride, padding), x, weight, bias, device=device, grad=False)
    check(lambda t, w: t.conv2d(w, stride=stride, padding=padding),
          lambda t, w: conv2d_ref(t, w, None, stride, padding), x, weight, device=device, grad=False)
    small_x, small_w, small_b = rand(1, 2, 5, 4, seed=4), rand(2, 2, 3, 2, seed=5), rand(2, seed=6)
    check_gradients(lambda t, w, b: t.conv2d(w, b, stride=stride, padding=padding), small_x, small_w, small_b,
                    device=device)


@pytest.mark.parametrize("name,reduce", [("max_pool2d", np.max), ("avg_pool2d", np.mean)])
def test_pool2d(device, name, reduce):
    values = rand(2, 2, 4, 6, seed=19)
    check(lambda t: getattr(t, name)(), lambda x: pool2d_ref(x, 2, 2, reduce), values, device=device)
    check(lambda t: getattr(t, name)(kernel_size=3, stride=2), lambda x: pool2d_ref(x, 3, 2, reduce),
          rand(1, 1, 7, 7, seed=20), device=device)
    check(lambda t: getattr(t, name)(kernel_size=2, stride=1), lambda x: pool2d_ref(x, 2, 1, reduce),
          rand(1, 2, 3, 4, seed=21), device=device)


@pytest.mark.parametrize("name,reduce", [("max_pool2d", np.max), ("avg_pool2d", np.mean)])
def test_pool2d_drops_incomplete_windows(device, name, reduce):
    check(lambda t: getattr(t, name)(), lambda x: pool2d_ref(x, 2, 2, reduce), rand(1, 2, 5, 5, seed=22), device=device)


# ---- bad inputs name the offending shapes ----

def test_broadcast_mismatch_names_both_shapes(device):
    with raises_naming("(2, 3)", "(4,)"):
        (Tensor.ones(2, 3, device=device) + Tensor.ones(4, device=device)).numpy()


def test_matmul_mismatch_names_both_shapes(device):
    with raises_naming("(2, 3)", "(4, 5)"):
        (Tensor.ones(2, 3, device=device) @ Tensor.ones(4, 5, device=device)).numpy()


def test_matmul_with_a_python_scalar_is_refused_as_numpy_does(device):
    square = Tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    with raises_naming("1-D", "()"):  # it was once read as a constant matrix of 2s: [[6, 6], [14, 14]]
        square @ 2
    with pytest.raises(TypeError):
        2 @ square
    assert (square @ [1.0, 1.0]).tolist() == [3.0, 7.0]  # a list is an operand, as in NumPy


def test_reshape_mismatch_names_shapes(device):
    with raises_naming("(2, 3)", "(4, 2)"):
        Tensor.ones(2, 3, device=device).reshape(4, 2).numpy()


def test_cat_mismatch_names_shapes(device):
    with raises_naming("(2, 3)", "(2, 4)"):
        Tensor.cat(Tensor.ones(2, 3, device=device), Tensor.ones(2, 4, device=device)).numpy()


# ---- property tests: random shapes against NumPy ----

# CL builds a new program for every new shape (about half a second each on PoCL), so it gets fewer examples;
# MINIGRAD_LONG=1 runs ten times as many on both devices
PROPERTY_EXAMPLES = {"NUMPY": 30, "CL": 10}


def run_property(device, check, **strategies):
    """check(device, **drawn) for PROPERTY_EXAMPLES[device] draws of the strategies."""
    count = PROPERTY_EXAMPLES[device] * (10 if os.environ.get("MINIGRAD_LONG") == "1" else 1)
    settings(max_examples=count, deadline=None, database=None)(given(**strategies)(lambda **drawn: check(device, **drawn)))()

@st.composite
def broadcastable_shapes(draw):
    full = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4))
    def derive():
        shape = list(full[draw(st.integers(0, len(full))):])
        return tuple(1 if draw(st.booleans()) else size for size in shape)
    return tuple(full), derive(), derive()


BINARY = {"+": (lambda a, b: a + b, np.add), "-": (lambda a, b: a - b, np.subtract),
          "*": (lambda a, b: a * b, np.multiply), "/": (lambda a, b: a / b, np.divide),
          "maximum": (lambda a, b: a.maximum(b), np.maximum)}


def test_property_broadcasting_binary_ops_match_numpy(device):
    run_property(device, check_broadcast, shapes=broadcastable_shapes(), op=st.sampled_from(list(BINARY)), seed=st.integers(0, 2**16),
                 swap=st.booleans())


def check_broadcast(device, shapes, op, seed, swap):
    _, shape_a, shape_b = shapes
    if swap:
        shape_a, shape_b = shape_b, shape_a
    rng = np.random.default_rng(seed)
    a = rng.uniform(-2, 2, shape_a).astype(np.float32)
    b = away_from_zero(rng.uniform(-2, 2, shape_b), 0.25).astype(np.float32)
    ours, reference = BINARY[op]
    ta, tb = Tensor(a, device=device, requires_grad=True), Tensor(b, device=device, requires_grad=True)
    out = ours(ta, tb)
    expected = reference(a.astype(np.float64), b.astype(np.float64))
    assert out.shape == expected.shape
    assert_close(out.numpy(), expected, 1e-5, 1e-6)
    if op in ("+", "*"):
        weights = rng.standard_normal(expected.shape).astype(np.float32)
        (out * Tensor(weights, device=device)).sum().backward()
        grad_a = weights if op == "+" else weights * b
        grad_b = weights if op == "+" else weights * a
        assert_close(ta.grad.numpy(), unbroadcast(np.broadcast_to(grad_a, expected.shape), a.shape), 1e-4, 1e-5)
        assert_close(tb.grad.numpy(), unbroadcast(np.broadcast_to(grad_b, expected.shape), b.shape), 1e-4, 1e-5)


@st.composite
def movement_chains(draw):
    """A shape and a list of movement steps, each applicable to both a NumPy array and a Tensor."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    steps, current = [], shape
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["permute", "flip", "slice", "reshape", "pad", "expand"]))
        if kind == "permute" and current:
            order = tuple(draw(st.permutations(range(len(current)))))
            steps.append((kind, order))
            current = tuple(current[i] for i in order)
        elif kind == "flip" and current:
            steps.append((kind, draw(st.integers(-len(current), len(current) - 1))))
        elif kind == "slice" and current:
            key = []
            for size in current:
                start, stop = draw(st.integers(-size, size)), draw(st.integers(-size - 1, size))
                step = draw(st.sampled_from([1, 2, 3, -1, -2]))
                key.append(slice(start, stop, step))
            lengths = [len(range(*s.indices(size))) for s, size in zip(key, current)]
            if min(lengths) > 0:
                steps.append((kind, tuple(key)))
                current = tuple(lengths)
        elif kind == "reshape":
            new_shape = [1] * draw(st.integers(1, 4))
            for factor in prime_factors(int(np.prod(current))):
                new_shape[draw(st.integers(0, len(new_shape) - 1))] *= factor
            steps.append((kind, tuple(new_shape)))
            current = tuple(new_shape)
        elif kind == "pad" and current:
            pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in current)
            steps.append((kind, pads))
            current = tuple(size + before + after for size, (before, after) in zip(current, pads))
        elif kind == "expand":
            new_shape = (draw(st.integers(1, 3)),) + tuple(draw(st.integers(1, 3)) if s == 1 else s for s in current)
            steps.append((kind, new_shape))
            current = new_shape
    return shape, steps


def prime_factors(n):
    factors, candidate = [], 2
    while n > 1:
        while n % candidate == 0:
            factors.append(candidate)
            n //= candidate
        candidate += 1
    return factors


def apply_numpy(array, step, fill):
    kind, arg = step
    if kind == "permute":
        return np.transpose(array, arg)
    if kind == "flip":
        return np.flip(array, arg)
    if kind == "slice":
        return array[arg]
    if kind == "reshape":
        return array.reshape(arg)
    if kind == "pad":
        return np.pad(array, arg, constant_values=fill)
    return np.broadcast_to(array, arg)


def apply_tensor(t, step):
    kind, arg = step
    if kind == "permute":
        return t.permute(*arg)
    if kind == "flip":
        return t.flip(arg)
    if kind == "slice":
        return t[arg]
    if kind == "reshape":
        return t.reshape(*arg)
    if kind == "pad":
        return t.pad(arg)
    return t.expand(*arg)


def test_property_movement_ops_match_numpy(device):
    run_property(device, check_movement_chain, chain=movement_chains(), seed=st.integers(0, 2**16))


def check_movement_chain(device, chain, seed):
    shape, steps = chain
    rng = np.random.default_rng(seed)
    values = rng.uniform(-2, 2, shape).astype(np.float32)
    sources = np.arange(values.size).reshape(shape)   # which input element each output element came from
    t = Tensor(values, device=device, requires_grad=True)
    out, expected = t, values
    for step in steps:
        out, expected = apply_tensor(out, step), apply_numpy(expected, step, 0.0)
        sources = apply_numpy(sources, step, -1)
    assert out.shape == expected.shape, f"steps {steps}"
    assert_close(out.numpy(), expected, 0, 0, msg=f"steps {steps}")
    weights = rng.standard_normal(expected.shape).astype(np.float32)
    (out * Tensor(weights, device=device)).sum().backward()
    kept = sources >= 0
    expected_grad = np.bincount(sources[kept].ravel(), weights[kept].ravel(), minlength=values.size).reshape(shape)
    assert_close(t.grad.numpy(), expected_grad, 1e-5, 1e-5, msg=f"gradient, steps {steps}")


@st.composite
def reductions(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    if not shape or draw(st.booleans()):
        axis = None
    else:
        axes = draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
        axes = [a - len(shape) if draw(st.booleans()) else a for a in axes]
        axis = axes[0] if len(axes) == 1 and draw(st.booleans()) else tuple(axes)
    return shape, axis, draw(st.booleans())


REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "prod": np.prod}


def test_property_reductions_match_numpy(device):
    run_property(device, check_reduction, case=reductions(), op=st.sampled_from(list(REDUCE)), seed=st.integers(0, 2**16))


def check_reduction(device, case, op, seed):
    shape, axis, keepdim = case
    rng = np.random.default_rng(seed)
    values = rng.uniform(0.8, 1.2, shape).astype(np.float32)
    t = Tensor(values, device=device, requires_grad=True)
    out = getattr(t, op)(axis=axis, keepdim=keepdim)
    expected = REDUCE[op](values.astype(np.float64), axis=axis, keepdims=keepdim)
    rtol = 1e-4 if op == "prod" else 1e-5
    assert_close(out.numpy(), expected, rtol, 1e-6, msg=f"{op} axis={axis} keepdim={keepdim}")
    if op in ("sum", "mean", "max"):
        weights = rng.standard_normal(out.shape).astype(np.float32)
        (out * Tensor(weights, device=device)).sum().backward()
        kept = REDUCE[op](values, axis=axis, keepdims=True)
        spread = np.broadcast_to(weights.reshape(kept.shape), shape)
        if op == "mean":
            spread = spread * kept.size / values.size
        if op == "max":
            spread = spread * (values == kept)
        assert_close(t.grad.numpy(), spread, 1e-5, 1e-6, msg=f"gradient of {op} axis={axis} keepdim={keepdim}")
