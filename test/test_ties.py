"""SPEC "Reductions" on ties, as PyTorch does them: argmax/argmin return the first of equal extremes; the gradient of
max/min (like torch.amax/amin and the full max()) splits evenly between tied elements; maximum/minimum send half of
the gradient to each side of a tie. Random floats never tie, so every input here is built from a few small integers."""
import numpy as np
import pytest
from minigrad import Tensor, dtypes
from helpers import assert_close, unbroadcast

SHAPE = (3, 4, 5)
AXES = [None, 0, 1, 2, -1, (0, 2), (1, 2)]


def tied(shape=SHAPE, values=3, seed=0):
    """float32 data drawn from `values` integers, so most rows hold several equal extremes."""
    return np.random.default_rng(seed).integers(0, values, size=shape).astype(np.float32)


def weights(shape, seed=1):
    """A distinct upstream gradient per output, so a gradient sent to the wrong slice shows."""
    return np.random.default_rng(seed).integers(1, 9, size=shape).astype(np.float32)


def split_gradient(a, upstream, axis, reduce):
    """float64 reference: each output's gradient shared evenly by the elements equal to the extreme."""
    extreme = reduce(a, axis=axis, keepdims=True)
    is_extreme = (a == extreme).astype(np.float64)
    count = is_extreme.sum(axis=axis, keepdims=True)
    return is_extreme / count * np.reshape(upstream, extreme.shape)


# ---- argmax / argmin: the first of equal extremes

@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -3])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_extremes_return_the_first_tie_on_every_axis(device, name, axis, keepdim):
    a = tied()
    got = getattr(Tensor(a, device=device), name)(axis=axis, keepdim=keepdim)
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdim)  # NumPy, like PyTorch, returns the first
    assert got.dtype == dtypes.int32
    assert got.shape == expected.shape
    assert np.array_equal(got.numpy(), expected)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_extremes_of_a_constant_tensor_are_zero(device, name):
    a = np.full((4, 6), 2.5, np.float32)
    t = Tensor(a, device=device)
    assert getattr(t, name)().item() == 0
    assert np.array_equal(getattr(t, name)(axis=0).numpy(), np.zeros(6))
    assert np.array_equal(getattr(t, name)(axis=1, keepdim=True).numpy(), np.zeros((4, 1)))


@pytest.mark.parametrize("values, argmax, argmin", [
    ([3.0, 1.0, 3.0], 0, 1), ([1.0, 3.0, 3.0], 1, 0), ([2.0, 0.0, 2.0, 0.0], 0, 1),
    ([-np.inf, -np.inf, -5.0], 2, 0), ([np.inf, 1.0, np.inf], 0, 1), ([0.0, -0.0, 1.0, -1.0], 2, 3)])
def test_arg_extremes_of_hand_picked_ties(device, values, argmax, argmin):
    t = Tensor(np.array(values, np.float32), device=device)
    assert t.argmax().item() == argmax
    assert t.argmin().item() == argmin
    assert t.argmax(axis=0).item() == argmax
    assert t.argmin(axis=0, keepdim=True).tolist() == [argmin]


def test_arg_extremes_of_integer_ties(device):
    a = tied(values=2).astype(np.int32)
    t = Tensor(a, device=device)
    for axis in (None, 0, 1, 2):
        assert np.array_equal(t.argmax(axis).numpy(), np.argmax(a, axis))
        assert np.array_equal(t.argmin(axis).numpy(), np.argmin(a, axis))


# ---- max / min: the gradient splits evenly between tied elements

@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_gradients_split_evenly_between_ties_on_every_axis(device, name, axis, keepdim):
    a = tied()
    x = Tensor(a, device=device, requires_grad=True)
    out = getattr(x, name)(axis=axis, keepdim=keepdim)
    expected = getattr(np, name)(a, axis=axis, keepdims=keepdim)
    assert_close(out.numpy(), expected)
    upstream = weights(expected.shape)
    (out * Tensor(upstream, device=device)).sum().backward()
    assert_close(x.grad.numpy(), split_gradient(a.astype(np.float64), upstream, axis, getattr(np, name)), 1e-6, 1e-7)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_gradient_of_all_equal_values_is_one_over_n(device, name):
    x = Tensor(np.full((4, 5), 7.0, np.float32), device=device, requires_grad=True)
    getattr(x, name)().backward()
    assert_close(x.grad.numpy(), np.full((4, 5), 1 / 20), 1e-6)


def test_max_gradient_of_hand_picked_ties_matches_pytorch(device):
    """The values PyTorch 2 gives for torch.amax(x, dim=1).sum() and x.max() on this input."""
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], device=device, requires_grad=True)
    x.max(axis=1).sum().backward()
    assert_close(x.grad.numpy(), [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]])
    y = Tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], device=device, requires_grad=True)
    y.max().backward()
    assert_close(y.grad.numpy(), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])


# ---- maximum / minimum: half the gradient to each side of a tie, with broadcasting

def pairwise_gradients(a, b, upstream, name):
    """float64 reference (PyTorch's rule): the larger (smaller for minimum) side gets the gradient, a tie halves it."""
    wins = a > b if name == "maximum" else a < b
    share_a = np.where(a == b, 0.5, np.where(wins, 1.0, 0.0))
    return unbroadcast(upstream * share_a, a.shape), unbroadcast(upstream * (1 - share_a), b.shape)


@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((1, 4), (3, 1)), ((2, 3, 4), (3, 1))],
                         ids=str)
@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_split_the_gradient_in_half_on_ties(device, name, shapes):
    a, b = tied(shapes[0], seed=2), tied(shapes[1], seed=3)
    x, y = Tensor(a, device=device, requires_grad=True), Tensor(b, device=device, requires_grad=True)
    out = getattr(x, name)(y)
    expected = getattr(np, name)(a, b)
    assert_close(out.numpy(), expected)
    upstream = weights(expected.shape)
    (out * Tensor(upstream, device=device)).sum().backward()
    grad_a, grad_b = pairwise_gradients(a.astype(np.float64), b.astype(np.float64), upstream, name)
    assert_close(x.grad.numpy(), grad_a, 1e-6)
    assert_close(y.grad.numpy(), grad_b, 1e-6)


def test_maximum_and_minimum_of_hand_picked_ties_match_pytorch(device):
    """The gradients torch.maximum / torch.minimum give on this input (PyTorch 2)."""
    a, b = [[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]], [[1.0, 3.0, 4.0], [2.0, 1.0, 0.0]]
    for name, grad_a in [("maximum", [[0.5, 0.5, 0.0], [0.5, 1.0, 0.5]]), ("minimum", [[0.5, 0.5, 1.0], [0.5, 0.0, 0.5]])]:
        x, y = Tensor(a, device=device, requires_grad=True), Tensor(b, device=device, requires_grad=True)
        getattr(x, name)(y).sum().backward()
        assert_close(x.grad.numpy(), grad_a)
        assert_close(y.grad.numpy(), 1 - np.array(grad_a))
    x, row = Tensor(a, device=device, requires_grad=True), Tensor([[3.0, 2.0, 0.0]], device=device, requires_grad=True)
    x.maximum(row).sum().backward()
    assert_close(x.grad.numpy(), [[0.0, 1.0, 1.0], [0.0, 0.5, 0.5]])
    assert_close(row.grad.numpy(), [[2.0, 0.5, 0.5]])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_and_minimum_with_a_python_scalar_halve_the_gradient_on_ties(device, name):
    x = Tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    getattr(x, name)(2.0).sum().backward()
    assert_close(x.grad.numpy(), [0.0, 0.5, 1.0] if name == "maximum" else [1.0, 0.5, 0.0])


def test_argmax_and_max_gradient_of_a_float16_expression_see_its_rounded_values(device):
    """Half arithmetic rounds every result: the max (stored as half) equals one of the products, so argmax finds it and
    max's gradient reaches it (comparing with unrounded products found none: an index past the end, a NaN gradient)."""
    values = np.array([0.1, 0.3, 0.2, 0.3], np.float16)
    x = Tensor(values, device=device, requires_grad=True)
    product = x * x
    assert product.argmax().item() == 1 and product.argmin().item() == 0
    (x * 3).max().backward()
    assert_close(x.grad.numpy(), np.array([0, 1.5, 0, 1.5]), 0, 0)


@pytest.mark.parametrize("reduce", ["max", "min"])
@pytest.mark.parametrize("function", ["exp", "log", "sigmoid", "tanh"])
def test_the_gradient_of_an_extreme_of_a_recomputed_value_reaches_it(device, reduce, function):
    """max(exp(x), axis 0) is computed in one kernel and compared with exp(x) recomputed in another, perhaps of another
    shape (scalar lanes there, vectors here): the two must agree to the bit, or a column gets no gradient (or NaN). The
    last row of log's input holds each column's extreme, values whose log PoCL's scalar and vector code round apart."""
    a = np.random.default_rng(0).standard_normal((32, 64)).astype(np.float32)
    if function == "log": a = np.concatenate([np.abs(a) * 0.1, np.tile(np.float32([0.7014202, 1.4200473, 0.7326553, 1.4793026]), (1, 16))])
    x = Tensor(a, device=device, requires_grad=True)
    getattr(getattr(x, function)(), reduce)(0).sum().backward()
    hits = x.grad.numpy() != 0
    assert not np.isnan(x.grad.numpy()).any() and (hits.sum(0) == 1).all(), np.where(hits.sum(0) != 1)[0]
