"""No silent wrong answer at the Tensor level (SPEC "Tensor API", issue 8 sections 3-6): NaN and infinity as in PyTorch
on every device, float16 that accumulates in float32, values and arguments refused with errors that name them, dtypes
given by name, PyTorch's `dim=`, random numbers drawn through one funnel, and the autograd edges (`.to`, `x ** 0`).

The references are float64 NumPy with PyTorch's semantics written out beside each table; the tables run every op on
the same special values (NaN, +-inf, -0.0, 0-d, empty) on NUMPY and CL, so a sibling of a fixed bug shows up here.
"""
import math
import numpy as np
import pytest
from minigrad import Tensor, dtypes
from minigrad.nn import optim
from helpers import assert_close, check_gradients, raises_naming, require_dtype

NAN, INF = math.nan, math.inf
SPECIAL = np.array([1.0, NAN, 3.0, -INF, INF, -0.0, 0.0, -2.5, 0.5])
# rows: a NaN among finite values, both infinities, all -inf, signed zeros
MATRIX = np.array([[1.0, NAN, 3.0], [-INF, 2.0, INF], [-INF, -INF, -INF], [0.0, -0.0, 5.0]])


def logsumexp_torch(x, axis=None, keepdims=False):
    """PyTorch's logsumexp: shifted by the max only where the max is finite, so all -inf gives -inf and +inf gives +inf."""
    peak = np.max(x, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else (np.squeeze(out, axis=axis) if axis is not None else out.reshape(()))


# ---- NaN and infinity: one table per kind of op, on NUMPY and CL

UNARY = {  # name: (minigrad, float64 reference with PyTorch's semantics)
    "relu": (lambda t: t.relu(), lambda x: np.where(x < 0, 0.0, x)),  # NaN stays NaN
    "abs": (lambda t: t.abs(), np.abs),
    "leaky_relu": (lambda t: t.leaky_relu(0.1), lambda x: np.where(x < 0, x * 0.1, x)),
    "sign": (lambda t: t.sign(), lambda x: np.where(np.isnan(x), 0.0, np.sign(x))),  # PyTorch: sign(NaN) is 0
    "neg": (lambda t: -t, np.negative),
    "exp": (lambda t: t.exp(), np.exp),
    "log": (lambda t: t.log(), np.log),
    "sqrt": (lambda t: t.sqrt(), np.sqrt),
    "reciprocal": (lambda t: t.reciprocal(), np.reciprocal),
    "square": (lambda t: t.square(), np.square),
    "sigmoid": (lambda t: t.sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "tanh": (lambda t: t.tanh(), np.tanh),
    "sin": (lambda t: t.sin(), np.sin),
    "exp2": (lambda t: t.exp2(), np.exp2),
    "clip": (lambda t: t.clip(-1.0, 2.0), lambda x: np.clip(x, -1.0, 2.0)),  # NaN stays NaN
    "pow 0": (lambda t: t ** 0, lambda x: np.ones_like(x)),  # NaN ** 0 and inf ** 0 are 1
    "pow 3": (lambda t: t ** 3, lambda x: x ** 3),
    "pow -1": (lambda t: t ** -1, lambda x: 1 / x),
    "pow 1.5": (lambda t: t ** 1.5, lambda x: np.power(x, 1.5)),  # (-inf) ** 1.5 is inf, as C's pow
    "rpow -2": (lambda t: (-2.0) ** t, lambda x: np.power(-2.0, x)),
    "rpow 0": (lambda t: 0.0 ** t, lambda x: np.power(0.0, x)),  # 0 ** 0 is 1
    "rpow 1": (lambda t: 1.0 ** t, lambda x: np.power(1.0, x)),  # 1 ** NaN is 1
}


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_follow_pytorch_on_nan_and_infinity(device, name):
    op, reference = UNARY[name]
    with np.errstate(all="ignore"):
        expected = reference(SPECIAL)
    assert_close(op(Tensor(SPECIAL.astype(np.float32), device=device)).numpy(), expected, 2e-6, 1e-7, msg=name)
    assert_close(op(Tensor(np.float32(NAN), device=device)).numpy(), reference(np.float64(NAN)), msg=f"{name} of 0-d NaN")


def test_sign_of_negative_zero_is_positive_zero_as_pytorch(device):
    assert not np.signbit(Tensor([-0.0, 0.0], device=device).sign().numpy()).any()  # was -0.0


@pytest.mark.parametrize("name,op,reference", [("maximum", Tensor.maximum, np.maximum), ("minimum", Tensor.minimum, np.minimum)])
def test_maximum_and_minimum_propagate_nan(device, name, op, reference):
    x, y = SPECIAL, SPECIAL[::-1].copy()
    got = op(Tensor(x.astype(np.float32), device=device), Tensor(y.astype(np.float32), device=device)).numpy()
    assert_close(got, reference(x, y), msg=name)
    assert_close(op(Tensor([1.0, NAN], device=device), 0.0).numpy(), reference([1.0, NAN], 0.0), msg=f"{name} with a scalar")


def test_pow_with_tensor_exponents_follows_pytorch_on_every_pair(device):
    """Bases and exponents crossed: negative bases with integer exponents keep their sign, 0 ** 0 == 1, 1 ** NaN == 1,
    (-1) ** inf == 1, negative bases with non-integer exponents are NaN (NumPy's float64 pow is C's, as PyTorch's)."""
    bases = np.array([-2, -1, -0.5, 0, 0.5, 1, 2, -INF, INF, NAN])[:, None]
    exponents = np.array([-3, -2, -1.5, -1, 0, 0.5, 1, 2, 3, INF, -INF, NAN])[None, :]
    got = Tensor(bases.astype(np.float32), device=device) ** Tensor(exponents.astype(np.float32), device=device)
    with np.errstate(all="ignore"):
        assert_close(got.numpy(), np.power(bases, exponents), 1e-5)
    assert (Tensor([-2.0], device=device) ** Tensor([3.0], device=device)).tolist() == [-8.0]
    assert (Tensor([0.0], device=device) ** Tensor([0.0], device=device)).tolist() == [1.0]


def test_pow_gradients_with_negative_bases_and_zero_exponents(device):
    x = Tensor([-2.0, 1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = Tensor([3.0, 2.0, 0.0, 0.5], device=device, requires_grad=True)
    (x ** y).sum().backward()
    assert_close(x.grad.numpy(), [12.0, 2.0, 0.0, 0.5 / math.sqrt(3)], 1e-5)  # y * x ** (y - 1)
    assert_close(y.grad.numpy(), [-8 * math.log(2), 0.0, math.log(2), math.sqrt(3) * math.log(3)], 1e-5)  # x ** y * log|x|
    check_gradients(lambda a, b: a ** b, [[0.5, 0.7], [1.3, 2.0]], [[3.0, -2.0], [0.0, 1.5]], device=device)
    integers = [[3.0, 2.0], [-1.0, 5.0]]  # fixed: a negative base has no derivative in a non-integer exponent
    check_gradients(lambda a: a ** Tensor(integers, dtype=a.dtype, device=device), [[-1.5, -0.7], [-1.3, 2.0]], device=device)


def test_an_integer_tensor_to_a_float_power_is_float_and_exact(device):
    squared = Tensor([3, -2], device=device) ** 2.0  # was int32, as if the power were the int 2
    assert squared.dtype == dtypes.float32 and squared.tolist() == [9.0, 4.0]
    assert (Tensor([3, -2], device=device) ** 2).dtype == dtypes.int32


def test_x_to_the_zero_has_a_zero_gradient(device):
    x = Tensor([2.0, -3.0, 0.0], device=device, requires_grad=True)
    out = x ** 0
    assert out.tolist() == [1.0, 1.0, 1.0] and out.requires_grad
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]



def test_pow_gradients_where_an_intermediate_power_overflows_or_the_base_is_zero(device):
    """A negative integer power is (1 / x) ** n: through 1 / x ** n its gradient passed -1 / (x ** n) ** 2, which
    overflows float32 where the result's gradient (-n x ** (-n - 1)) does not. The exponent's gradient, out * log|x|, is 0
    where x is 0, as PyTorch's (it was 0 * -inf = NaN)."""
    x = Tensor([1e-3, 2.0, -0.5], device=device, requires_grad=True)
    (x ** -8.0).sum().backward()
    assert_close(x.grad.numpy(), -8 * np.array([1e-3, 2.0, -0.5]) ** -9, 1e-5)  # -8e27 at 1e-3 (was -inf)
    x = Tensor([1e-12, 0.0], device=device, requires_grad=True)
    out = x ** -2
    out.sum().backward()
    assert out.numpy()[1] == INF and x.grad.numpy()[1] == -INF and abs(x.grad.numpy()[0] / -2e36 - 1) < 1e-5
    y = Tensor([0.0, 1.0, 2.0, 0.5], device=device, requires_grad=True)
    (Tensor.zeros(4, device=device) ** y).sum().backward()
    assert y.grad.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_the_gradient_of_a_nan_max_goes_to_the_nan(device):
    """max's gradient goes to the elements equal to the max, and where the max is NaN, to the NaN (as torch.max): it
    divided by a count of 0 equal elements, so every element of the slice got NaN, max_pool2d's windows too."""
    x = Tensor([[1.0, NAN, 3.0], [1.0, 2.0, 2.0]], device=device, requires_grad=True)
    x.max(1).sum().backward()
    assert_close(x.grad.numpy(), [[0.0, 1.0, 0.0], [0.0, 0.5, 0.5]])
    x = Tensor([1.0, NAN, -3.0], device=device, requires_grad=True)
    x.min().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    x = Tensor([[[[1.0, NAN, 0.0, 2.0], [3.0, 0.0, 1.0, 1.0]]]], device=device, requires_grad=True)
    x.max_pool2d(2).sum().backward()
    assert_close(x.grad.numpy(), [[[[0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]]])


REDUCTIONS = {  # name: (minigrad, NumPy reference: np.max/argmax propagate and point at the first NaN, as PyTorch)
    "max": (Tensor.max, np.max),
    "min": (Tensor.min, np.min),
    "argmax": (Tensor.argmax, np.argmax),
    "argmin": (Tensor.argmin, np.argmin),
    "logsumexp": (Tensor.logsumexp, logsumexp_torch),
    "sum": (Tensor.sum, np.sum),
    "mean": (Tensor.mean, np.mean),
    "prod": (Tensor.prod, np.prod),
}


@pytest.mark.parametrize("axis", [None, 0, 1])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_follow_pytorch_on_nan_and_infinity(device, name, axis):
    op, reference = REDUCTIONS[name]
    with np.errstate(all="ignore"):
        expected = reference(MATRIX, axis=axis)
    got = op(Tensor(MATRIX.astype(np.float32), device=device), axis)
    if name.startswith("arg"):
        assert got.dtype == dtypes.int32
    assert_close(got.numpy(), expected, 1e-6, msg=f"{name} along {axis}")


def test_argmax_points_at_the_nan_as_pytorch(device):
    assert Tensor([1.0, NAN, 3.0], device=device).argmax().item() == 1  # was 3: an index out of range
    assert Tensor([1.0, NAN, 3.0], device=device).argmin().item() == 1
    assert Tensor([INF, NAN], device=device).argmax().item() == 1
    assert Tensor([[2.0, NAN], [5.0, 1.0]], device=device).argmax(axis=0).tolist() == [1, 0]


def test_logsumexp_of_infinities(device):
    assert Tensor([-INF, -INF], device=device).logsumexp().item() == -INF
    assert Tensor([1.0, INF], device=device).logsumexp().item() == INF
    assert Tensor([-INF, INF], device=device).logsumexp().item() == INF
    assert Tensor.zeros(0, device=device).logsumexp().item() == -INF


def test_empty_reductions(device):
    """The mean of nothing is NaN, its sum 0 and its product 1; its max has no value and says so, as in PyTorch."""
    empty = Tensor.zeros(0, 3, device=device)
    assert math.isnan(Tensor.zeros(0, device=device).mean().item())
    assert np.isnan(empty.mean(axis=0).numpy()).all() and empty.mean(axis=0).shape == (3,)
    assert empty.sum(axis=0).tolist() == [0.0] * 3 and empty.prod(axis=0).tolist() == [1.0] * 3
    assert Tensor.zeros(3, 0, device=device).max(axis=0).shape == (0,)
    for op in (Tensor.max, Tensor.min, Tensor.argmax, Tensor.argmin):
        with raises_naming("zero elements"):
            op(empty, 0).numpy()


@pytest.mark.parametrize("shape,axis", [((2, 0), -1), ((0, 3), -1), ((2, 0), 0)])
def test_softmax_family_of_empty_tensors_keeps_the_shapes(device, shape, axis):
    """Nothing to take the max of: the shift is a sum of nothing, kept as a dim so that it broadcasts against the input."""
    x = Tensor.zeros(*shape, device=device)
    assert x.softmax(axis).numpy().shape == x.log_softmax(axis).numpy().shape == shape
    assert x.logsumexp(axis).numpy().shape == tuple(s for i, s in enumerate(shape) if i != axis % 2)
    assert (x.logsumexp(axis).numpy() == -INF).all()


def test_var_with_too_few_elements_follows_pytorch(device):
    assert math.isnan(Tensor([1.0], device=device).var().item())  # 0 / 0
    assert Tensor([1.0, 2.0], device=device).var(correction=2).item() == INF
    assert Tensor([1.0], device=device).var(correction=0).item() == 0.0


# ---- float16 accumulates in float32 and rounds once

def test_float16_mean_var_std_accumulate_and_divide_in_float32(device):
    require_dtype(dtypes.float16, device)
    many = Tensor(np.full(100_000, 0.1, np.float16), device=device)
    assert many.mean().dtype == dtypes.float16
    assert_close(many.mean().numpy(), np.float16(0.1), 1e-3)  # was 0: the count overflowed in half
    assert_close(Tensor(np.full((3, 100_000), 0.1, np.float16), device=device).mean(axis=1).numpy(), [0.1] * 3, 1e-3)
    assert Tensor([6e4, 6e4], dtype=dtypes.float16, device=device).mean().item() == 60000.0  # was inf
    assert_close(Tensor([300.0, -300.0], dtype="float16", device=device).std().numpy(), 300 * math.sqrt(2), 1e-3)
    assert_close(Tensor([300.0, -300.0], dtype="float16", device=device).var(correction=0).numpy(), np.float16(np.inf), 0)


def test_float16_sums_reduce_in_float32_along_every_axis(device):
    require_dtype(dtypes.float16, device)
    tall, wide = np.full((20_000, 2), 0.1, np.float16), np.full((2, 20_000), 0.1, np.float16)
    expected = 20_000 * np.float64(np.float16(0.1))  # a half accumulator would stop at 256
    assert_close(Tensor(tall, device=device).sum(axis=0).numpy(), [expected] * 2, 1e-3)
    assert_close(Tensor(wide, device=device).sum(axis=1).numpy(), [expected] * 2, 1e-3)


def test_float16_softmax_log_softmax_logsumexp_in_float32(device):
    require_dtype(dtypes.float16, device)
    x = np.array([6e4, 6e4, 0.0], np.float16)
    t = Tensor(x, device=device)
    assert t.softmax().dtype == t.log_softmax().dtype == t.logsumexp().dtype == dtypes.float16
    assert_close(t.softmax().numpy(), [0.5, 0.5, 0.0], 1e-3)
    assert_close(t.log_softmax().numpy(), [-math.log(2), -math.log(2), -6e4], 1e-3)
    assert_close(t.logsumexp().numpy(), 6e4, 1e-3)


HALF_COMPOSITES = {"tanh": np.tanh, "cos": np.cos, "tan": np.tan, "softplus": lambda x: np.log1p(np.exp(x)),
                   "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
                   "gelu": lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))}


@pytest.mark.parametrize("name", HALF_COMPOSITES)
def test_float16_composites_compute_in_float32_and_round_once(device, name):
    require_dtype(dtypes.float16, device)  # half at every step: tanh(0.03) was 2.4% off, cos(-1.57) 0, tan(-1.57) -inf
    x = np.concatenate([np.linspace(-3, 3, 61), [1e-3, -2e-3, 0.03, -1.57, 1.57]]).astype(np.float16)
    got = getattr(Tensor(x, device=device), name)()
    assert got.dtype == dtypes.float16
    assert_close(got.numpy(), HALF_COMPOSITES[name](x.astype(np.float64)).astype(np.float16), rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name,x,expected", [("sigmoid", -12.0, 6.1442e-06), ("silu", -12.0, -7.3730e-05), ("exp2", 10.0, 1024.0),
                                             ("log2", 1024.0, 10.0), ("rsqrt", 3.0, 0.57735)])
def test_float16_functions_that_overflow_or_round_twice_in_half_compute_in_float32(device, name, x, expected):
    require_dtype(dtypes.float16, device)  # in half: sigmoid(-12) took exp(12) = inf and gave 0, exp2(10) gave 1026
    t = Tensor(np.float16([x]), device=device, requires_grad=True)
    got = getattr(t, name)()
    got.sum().backward()
    assert got.dtype == t.grad.dtype == dtypes.float16
    assert_close(got.numpy(), [expected], rtol=1e-3)
    assert np.isfinite(t.grad.numpy()).all() and t.grad.numpy()[0] != 0  # sigmoid's was 0 too


# ---- int32: refused, never wrapped

@pytest.mark.parametrize("make", [lambda d: Tensor([2**40], device=d), lambda d: Tensor(np.array([2**33 + 5]), device=d),
                                  lambda d: Tensor([-2**31 - 1], device=d), lambda d: Tensor([1e10], dtype=dtypes.int32, device=d),
                                  lambda d: Tensor.full((2,), 2**40, device=d), lambda d: Tensor.arange(2**31, 2**31 + 2, device=d)],
                         ids=["list", "int64 array", "below", "float data", "full", "arange"])
def test_int_data_outside_int32_is_refused_naming_the_value(device, make):
    with raises_naming(("2147483648", "2147483649", "8589934597", "1099511627776", "10000000000", "-2147483649")):
        make(device)


def test_int32_limits_are_kept(device):
    assert Tensor([2**31 - 1, -2**31], device=device).tolist() == [2**31 - 1, -2**31]


def test_int32_min_and_minimum_see_the_most_negative_value(device):
    """-(-2**31) wraps to -2**31 in int32, so the smallest int can't be found by negating: min, minimum, argmin."""
    a = Tensor(np.array([[-2**31, 5], [4, 2**31 - 1]], np.int32), device=device)
    b = Tensor(np.array([[7, 3], [-2**31, 0]], np.int32), device=device)
    assert a.minimum(b).tolist() == [[-2**31, 3], [-2**31, 0]]
    assert a.min().item() == -2**31 and a.min(1).tolist() == [-2**31, 4] and a.argmin().item() == 0
    assert a.max().item() == 2**31 - 1 and a.maximum(b).tolist() == [[7, 5], [4, 2**31 - 1]]


def test_int32_sums_are_exact_up_to_the_int32_range(device):
    """Past it an int32 sum wraps, as documented on Tensor.sum (no int64 to widen into)."""
    assert Tensor([2**30, 2**30 - 1], device=device).sum().item() == 2**31 - 1
    assert Tensor([-2**31, 5, -5], device=device).sum().item() == -2**31
    assert Tensor([True] * 5, device=device).sum().item() == 5


# ---- dtypes by name, requires_grad only on floats

@pytest.mark.parametrize("spec,dtype", [("float32", dtypes.float32), (np.float32, dtypes.float32), (np.dtype("float16"), dtypes.float16),
                                        ("half", dtypes.float16), ("float", dtypes.float32), ("int32", dtypes.int32),
                                        (np.int64, dtypes.int32), ("bool", dtypes.bool), (dtypes.float32, dtypes.float32)], ids=str)
def test_dtype_given_as_numpy_type_or_name(device, spec, dtype):
    require_dtype(dtype, device)
    made = [Tensor([1, 0], dtype=spec, device=device), Tensor.zeros(2, dtype=spec, device=device),
            Tensor.full((2,), 1, dtype=spec, device=device), Tensor.arange(2, dtype=spec, device=device),
            Tensor.ones(2, device=device).cast(spec), Tensor.eye(2, dtype=spec, device=device)]
    for t in made:
        assert t.dtype == dtype and t.numpy().dtype == dtype.np
    if dtype.is_float:
        assert Tensor.rand(2, dtype=spec, device=device).dtype == dtype


@pytest.mark.parametrize("spec", ["float8", "complex64", np.complex64, 3, "f4x"])
def test_unknown_dtype_error_lists_what_is_accepted(spec):
    with raises_naming("dtype", "float32", "half"):
        Tensor([1.0], dtype=spec)
    with raises_naming("dtype", "float32"):
        Tensor([1.0]).cast(spec)


def test_only_floating_tensors_can_require_grad(device):
    for make in (lambda: Tensor([1, 2], device=device, requires_grad=True), lambda: Tensor.arange(3, device=device, requires_grad=True),
                 lambda: Tensor.zeros(2, dtype=dtypes.int32, device=device, requires_grad=True),
                 lambda: Tensor([True], device=device, requires_grad=True)):
        with raises_naming("floating", "grad"):
            make()
    assert Tensor([1, 2], dtype="float32", device=device, requires_grad=True).requires_grad


# ---- arguments are checked

@pytest.mark.parametrize("call", [lambda: Tensor.zeros(-1), lambda: Tensor.ones(2, -3), lambda: Tensor.zeros(2.0),
                                  lambda: Tensor.rand(-2), lambda: Tensor.randn(1.5), lambda: Tensor.full((2, -1), 1.0),
                                  lambda: Tensor.ones(6).reshape(2.0, 3), lambda: Tensor.ones(6).reshape(-2, -3),
                                  lambda: Tensor.ones(2).expand(2.0, 2)],
                         ids=["zeros(-1)", "ones(2,-3)", "zeros(2.0)", "rand(-2)", "randn(1.5)", "full", "reshape float", "reshape -2",
                              "expand float"])
def test_bad_shapes_are_refused(call):
    with raises_naming("shape"):
        call()


def test_permute_out_of_range_and_other_bad_dims_are_refused():
    t = Tensor.ones(2, 3)
    with raises_naming("5"):
        t.permute(0, 5)  # was read as (0, 1)
    with raises_naming("axis"):
        t.sum(axis=1.0)
    with raises_naming("shrink"):
        t.shrink(((0, 2), (1, 4)))
    with raises_naming("pad"):
        t.pad(((0, 1.5), (0, 0)))


@pytest.mark.parametrize("name", ["sum", "max", "min", "mean", "var", "std", "logsumexp", "prod", "flip"])
def test_an_axis_given_twice_is_refused_not_read_past_its_row(device, name):
    t = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device=device)  # CL read outside the buffer for (1, -1)
    for axes in ((1, -1), (0, 0)):
        with raises_naming(str(axes), "more than once"):
            getattr(t, name)(axes).numpy()


def test_a_0d_tensor_flips_to_itself_as_in_pytorch(device):
    assert Tensor(3.0, device=device).flip(0).item() == 3.0


def test_arange_with_zero_step_is_refused():
    with raises_naming("step"):
        Tensor.arange(0, 5, 0)


def test_negating_a_bool_tensor_is_refused_as_in_pytorch(device):
    with raises_naming("bool"):
        -Tensor([True, False], device=device)
    assert Tensor([True, False], device=device).min().item() is False


# ---- PyTorch's dim= wherever axis= is taken

@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "var", "std", "logsumexp", "prod", "argmax", "argmin", "softmax", "log_softmax"])
def test_dim_is_accepted_wherever_axis_is(device, name):
    t = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4) % 5, device=device)
    method = getattr(Tensor, name)
    assert_close(method(t, dim=1).numpy(), method(t, axis=1).numpy(), msg=name)
    if name not in ("softmax", "log_softmax"):
        assert method(t, dim=0, keepdim=True).shape == method(t, 0, True).shape
    with raises_naming("axis", "dim"):
        method(t, 1, dim=1)


# ---- creation: *_like, 0-d constants

def test_zeros_ones_full_like_keep_shape_dtype_and_device(device):
    t = Tensor([[1, 2, 3]], device=device)
    for made, value in ((t.zeros_like(), 0), (t.ones_like(), 1), (t.full_like(7), 7)):
        assert made.shape == (1, 3) and made.dtype == dtypes.int32 and made.device == t.device and made.tolist() == [[value] * 3]
    halves = t.full_like(2.5, dtype=dtypes.float32, requires_grad=True)
    assert halves.dtype == dtypes.float32 and halves.requires_grad and halves.tolist() == [[2.5] * 3]


@pytest.mark.parametrize("make,expected", [
    (lambda d: Tensor.zeros((), device=d), np.zeros((), np.float32)), (lambda d: Tensor.full((), 2.0, device=d), np.full((), 2.0, np.float32)),
    (lambda d: Tensor.ones(1, device=d), np.ones(1, np.float32)), (lambda d: Tensor.ones(1, 1, dtype=dtypes.int32, device=d), np.ones((1, 1), np.int32))],
    ids=["zeros 0-d", "full 0-d", "ones (1,)", "ones (1, 1)"])
def test_constants_without_a_kernel_can_be_read(device, make, expected):
    t = make(device)
    for got in (t.numpy(), t.to("NUMPY").numpy(), (t + 0).numpy()):
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)
    assert t.item() == expected.item()


# ---- random numbers: one funnel

def test_every_random_creator_draws_through_one_funnel(monkeypatch, training):
    draws = []
    original = Tensor._random

    def counting(draw, *args, **kwargs):
        draws.append(draw)
        return original(draw, *args, **kwargs)

    monkeypatch.setattr(Tensor, "_random", staticmethod(counting))
    makers = [lambda: Tensor.rand(3), lambda: Tensor.randn(3), lambda: Tensor.uniform(3), lambda: Tensor.normal(3),
              lambda: Tensor.randint(5, size=(3,)), lambda: Tensor([0.2, 0.8]).multinomial(2),
              lambda: Tensor.ones(4).dropout(0.5)]
    for i, make in enumerate(makers):
        make()
        assert len(draws) == i + 1, f"creator {i} did not draw through Tensor._random"


def test_normal_has_its_mean_and_std(device):
    values = Tensor.normal(400, 100, mean=3.0, std=0.5, device=device).numpy()
    assert values.shape == (400, 100) and values.dtype == np.float32
    assert abs(values.mean() - 3.0) < 0.01 and abs(values.std() - 0.5) < 0.01


def test_randint_range_dtype_and_pytorch_forms(device):
    values = Tensor.randint(-3, 4, size=(50, 40), device=device).numpy()
    assert values.dtype == np.int32 and values.shape == (50, 40) and set(np.unique(values)) == set(range(-3, 4))
    assert set(np.unique(Tensor.randint(3, size=(500,), device=device).numpy())) == {0, 1, 2}
    assert Tensor.randint(10, (2, 3), device=device).shape == (2, 3)  # torch.randint(high, size)
    with raises_naming("high"):
        Tensor.randint(3, 3, size=(2,))
    for seed in range(8):  # bounds past int32 are refused before any draw (it raised or not as the draw fell)
        Tensor.manual_seed(seed)
        with raises_naming("high", "int32"):
            Tensor.randint(0, 2**32, size=(1,), device=device)
        with raises_naming("low", "int32"):
            Tensor.randint(-2**31 - 1, 0, size=(1,), device=device)


def test_multinomial_draws_from_the_weights(device):
    weights = Tensor([[0.0, 1.0, 3.0], [5.0, 0.0, 0.0]], device=device)
    draws = weights.multinomial(4000, replacement=True).numpy()
    assert draws.shape == (2, 4000) and draws.dtype == np.int32
    assert set(np.unique(draws[0])) == {1, 2} and abs((draws[0] == 2).mean() - 0.75) < 0.03 and (draws[1] == 0).all()
    distinct = Tensor([1.0, 1.0, 1.0, 0.0], device=device).multinomial(3).numpy()
    assert sorted(distinct.tolist()) == [0, 1, 2]
    for bad in ([-1.0, 2.0], [0.0, 0.0], [NAN, 1.0], [[[1.0]]]):
        with raises_naming("multinomial"):
            Tensor(bad, device=device).multinomial(1)


def test_manual_seed_repeats_every_random_creator_on_every_device(device):
    def draw_all():
        return [Tensor.normal(5, device=device).numpy(), Tensor.randint(0, 100, size=(5,), device=device).numpy(),
                Tensor([0.1, 0.2, 0.7], device=device).multinomial(2).numpy()]
    Tensor.manual_seed(7)
    first = draw_all()
    Tensor.manual_seed(7)
    for a, b in zip(first, draw_all()):
        np.testing.assert_array_equal(a, b)


# ---- autograd edges

def test_to_keeps_the_graph_and_moves_the_gradient_back(device):
    x = Tensor([1.0, -2.0, 3.0], device="NUMPY", requires_grad=True)
    moved = x.to(device)
    assert moved.device == Tensor([0.0], device=device).device and moved.requires_grad
    (moved * moved).sum().backward()
    assert x.grad is not None and x.grad.device == "NUMPY"
    assert_close(x.grad.numpy(), [2.0, -4.0, 6.0])


# ---- optimisers refuse what could never train

def test_optimisers_refuse_non_leaf_tensors_and_tensors_without_grad():
    leaf = Tensor.randn(3, requires_grad=True)
    with raises_naming("can't optimize a non-leaf Tensor"):
        optim.SGD([leaf * 0.02], lr=0.1)  # the natural init that used to be skipped silently
    with raises_naming("requires_grad", "non-leaf"):
        optim.Adam([Tensor.randn(3, requires_grad=True) * 2])
    with raises_naming("grad"):
        optim.AdamW([Tensor.randn(3)])
    assert optim.SGD([Tensor.normal(3, std=0.02, requires_grad=True)], lr=0.1).params


def test_optimisers_refuse_a_single_tensor_and_an_empty_list_as_pytorch():
    with raises_naming("iterable of Tensors", "single Tensor"):
        optim.SGD(Tensor.randn(3, requires_grad=True), lr=0.1)  # it would iterate the tensor's elements
    with raises_naming("empty parameter list"):
        optim.Adam([])


@pytest.mark.parametrize("make,named", [
    (lambda p: optim.SGD(p, lr=-0.1), "lr"), (lambda p: optim.SGD(p, lr=0.1, momentum=-0.9), "momentum"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1e-4), "weight_decay"), (lambda p: optim.Adam(p, lr=NAN), "lr"),
    (lambda p: optim.Adam(p, eps=-1e-8), "eps"), (lambda p: optim.Adam(p, b1=1.0), "betas"), (lambda p: optim.Adam(p, b2=-0.1), "betas"),
    (lambda p: optim.AdamW(p, betas=(0.9, 1.5)), "betas"), (lambda p: optim.AdamW(p, weight_decay=-0.01), "weight_decay")],
    ids=["lr", "momentum", "sgd weight_decay", "nan lr", "eps", "b1=1", "b2<0", "betas", "adamw weight_decay"])
def test_optimisers_refuse_out_of_range_hyperparameters(make, named):
    with raises_naming(named):
        make([Tensor([1.0], requires_grad=True)])


def test_betas_is_the_same_as_b1_b2():
    def one_step(make):
        param = Tensor([1.0, -2.0], requires_grad=True)
        optimizer = make([param])
        for _ in range(3):
            (param * param * param).sum().backward()
            optimizer.step()
            optimizer.zero_grad()
        return param.numpy()
    np.testing.assert_array_equal(one_step(lambda p: optim.AdamW(p, lr=0.1, betas=(0.5, 0.8))),
                                  one_step(lambda p: optim.AdamW(p, lr=0.1, b1=0.5, b2=0.8)))
    assert not np.array_equal(one_step(lambda p: optim.Adam(p, lr=0.1, betas=(0.5, 0.8))), one_step(lambda p: optim.Adam(p, lr=0.1)))


def test_layernorm_takes_dim_as_pytorch_spells_it(device):
    x = Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3), device=device)
    np.testing.assert_array_equal(x.layernorm(dim=0).numpy(), x.layernorm(axis=0).numpy())


def test_bool_addition_is_a_logical_or_on_every_device(device):
    """bool + bool is a bool (PyTorch's or): on CL a bool computes as an int, and 1 + 1 once stored 2 in a bool, which
    read as True but counted 2 in a sum and was not == True."""
    rng = np.random.default_rng(3)
    a_np, b_np = rng.random(67) < 0.5, rng.random(67) < 0.5  # past a vector width: vector and scalar code both run
    a, b = Tensor(a_np, device=device), Tensor(b_np, device=device)
    assert (a + b).dtype == dtypes.bool
    assert_close((a + b).cast(dtypes.int32).numpy(), (a_np | b_np).astype(np.int32), 0, 0)
    assert (a + a + b).sum().item() == (a_np | b_np).sum()
    assert_close(((a + b) == True).numpy(), a_np | b_np, 0, 0)  # noqa: E712 - the comparison is the point
    assert_close(((a + True) * 3).numpy(), np.full(67, 3), 0, 0)
