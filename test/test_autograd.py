"""SPEC "Autograd": backward, accumulation, no_grad, detach, deep graphs and shared subexpressions."""
import re
import numpy as np
import pytest
from minigrad import Tensor, dtypes
from helpers import assert_close, dtype_supported, raises_naming


def test_backward_of_scalar_fills_leaf_grads(device):
    x = Tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)
    (x * x * 2).sum().backward()
    assert x.grad.shape == (3,)
    assert_close(x.grad.numpy(), np.array([4.0, -8.0, 12.0]), 1e-6)


def test_ops_on_requires_grad_tensors_require_grad(device):
    x = Tensor([1.0], device=device, requires_grad=True)
    constant = Tensor([2.0], device=device)
    assert (x * constant).requires_grad is True
    assert (constant * 3).requires_grad is False


def test_leaf_without_requires_grad_gets_no_grad(device):
    x = Tensor([1.0, 2.0], device=device, requires_grad=True)
    constant = Tensor([3.0, 4.0], device=device)
    (x * constant).sum().backward()
    assert constant.grad is None
    assert_close(x.grad.numpy(), np.array([3.0, 4.0]), 1e-6)


def test_gradients_accumulate_until_reset(device):
    x = Tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad.numpy(), np.array([3.0 + 2.0, 3.0 + 4.0]), 1e-6)
    x.grad = None
    (x * x).sum().backward()
    assert_close(x.grad.numpy(), np.array([2.0, 4.0]), 1e-6)


def test_no_grad_builds_no_graph(device):
    x = Tensor([1.0, 2.0], device=device, requires_grad=True)
    with Tensor.no_grad():
        y = (x * 2).exp()
    assert y.requires_grad is False
    assert_close(y.numpy(), np.exp(np.array([2.0, 4.0])), 1e-6)
    with raises_naming():
        y.sum().backward()
    assert x.grad is None


def test_no_grad_ends_with_the_block(device):
    x = Tensor([1.0, 2.0], device=device, requires_grad=True)
    with Tensor.no_grad():
        pass
    (x * 5).sum().backward()
    assert_close(x.grad.numpy(), np.array([5.0, 5.0]), 1e-6)


def test_detach_cuts_the_graph(device):
    x = Tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.detach() * x * 3 + x        # d/dx = 3 * x.detach() + 1, the detached factor is a constant
    y.sum().backward()
    assert_close(x.grad.numpy(), np.array([4.0, 7.0]), 1e-6)


@pytest.mark.numpy_only
def test_backward_through_a_10000_deep_chain(device):
    dtype = dtypes.float64 if dtype_supported(dtypes.float64, device) else dtypes.float32
    x = Tensor(1.0, dtype=dtype, device=device, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.backward()
    expected, rtol = 1.0001 ** 10_000, (1e-9 if dtype == dtypes.float64 else 2e-3)
    assert_close(y.numpy(), np.array(expected), rtol)
    assert_close(x.grad.numpy(), np.array(expected), rtol)


def test_shared_subexpressions_get_the_right_gradient(device):
    x = Tensor([1.0, -2.0, 0.5], device=device, requires_grad=True)
    y = x * x
    z = y + y
    z.sum().backward()
    assert_close(x.grad.numpy(), np.array([4.0, -8.0, 2.0]), 1e-6)


def test_diamond_graph_gradient(device):
    x = Tensor([2.0, 3.0], device=device, requires_grad=True)
    a = x.exp()
    b = a * x
    c = a + b            # c = e^x (1 + x), dc/dx = e^x (2 + x)
    c.sum().backward()
    assert_close(x.grad.numpy(), np.exp([2.0, 3.0]) * np.array([4.0, 5.0]), 1e-5)


def test_backward_on_non_scalar_without_gradient_raises(device):
    y = Tensor.ones(2, 3, device=device, requires_grad=True) * 2
    try:
        y.backward()
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - any error class is acceptable, the message is what is checked
        message = str(error)
        assert "scalar" in message.lower() or "(2, 3)" in message, f"unhelpful message: {message!r}"
    else:
        raise AssertionError("backward() on a (2, 3) tensor without gradient= did not raise")


def test_backward_with_gradient_for_non_scalar(device):
    values = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    upstream = np.array([[1.0, 0.0, 2.0], [0.5, -1.0, 3.0]])
    x = Tensor(values, device=device, requires_grad=True)
    (x * x).backward(gradient=Tensor(upstream, device=device))
    assert_close(x.grad.numpy(), 2 * values * upstream, 1e-6)


def test_a_gradient_of_another_shape_device_or_type_is_refused_clearly(device):
    """As PyTorch: the gradient must be a Tensor of the output's shape on its device (a CL gradient for a NUMPY output
    gave the leaf a .grad on the wrong device, and the next backward failed)."""
    w = Tensor([1.0, 2.0], device=device, requires_grad=True)
    cases = [(Tensor([1.0, 1.0, 1.0], device=device), ValueError, "shape (3,)"), ([1.0, 1.0], TypeError, "list")]
    if device != "NUMPY": cases.append((Tensor([1.0, 1.0]), ValueError, "on NUMPY"))  # (the other way round needs OpenCL)
    for gradient, error, words in cases:
        with pytest.raises(error, match=re.escape(words)): (w * 2).backward(gradient)
    assert w.grad is None


def test_grad_has_shape_and_dtype_of_leaf(device):
    x = Tensor.ones(3, 1, device=device, requires_grad=True)
    (x * Tensor.ones(3, 4, device=device)).sum().backward()
    assert x.grad.shape == (3, 1) and x.grad.dtype == dtypes.float32
    assert_close(x.grad.numpy(), np.full((3, 1), 4.0), 1e-6)


def test_gradient_through_movement_and_reduction(device):
    values = np.arange(6.0).reshape(2, 3)
    x = Tensor(values, device=device, requires_grad=True)
    (x.permute(1, 0).reshape(6)[::2] * Tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    # x.T.reshape(6) is [x00, x10, x01, x11, x02, x12]; [::2] keeps x00, x01, x02
    assert_close(x.grad.numpy(), np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), 1e-6)


def test_in_place_ops_on_a_leaf_that_requires_grad_raise_as_pytorch(device):
    w = Tensor([1.0, 2.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        w += 1
    with Tensor.no_grad():  # as an optimiser updates it
        w -= 0.5
    assert_close(w.numpy(), np.array([0.5, 1.5]), 1e-7)


def test_in_place_ops_on_computed_tensors_keep_every_path_of_the_gradient(device):
    """x = 2w; x += 1; x *= x gives (2w + 1)**2, whose gradient 4(2w + 1) reaches w through the old value of x."""
    w = Tensor([1.0, 2.0], device=device, requires_grad=True)
    x = w * 2
    x += 1
    x *= x
    x.sum().backward()
    assert_close(w.grad.numpy(), 4 * (2 * np.array([1.0, 2.0]) + 1), 1e-6)
    w.grad = None
    loss = (w * w).sum()
    loss += (w * 3).sum()  # a loss accumulated term by term, as in a training loop
    loss /= 2
    loss.backward()
    assert_close(w.grad.numpy(), (2 * np.array([1.0, 2.0]) + 3) / 2, 1e-6)


def test_in_place_op_of_another_dtype_keeps_the_gradient(device):
    """x += w promotes a half x to float32 and casts back: the old x is still one path of the gradient."""
    w = Tensor([1.0, 2.0], device=device, requires_grad=True)
    x = (w * 2).half()
    x += w
    x.sum().backward()
    assert_close(w.grad.numpy(), np.array([3.0, 3.0]), 1e-6)


@pytest.mark.parametrize("make,op", [(lambda d: Tensor([3, 4], device=d), lambda x: x.__itruediv__(2)),
                                     (lambda d: Tensor([3, 4], device=d), lambda x: x.__iadd__(1.5)),
                                     (lambda d: Tensor([True, False], device=d), lambda x: x.__iadd__(1))],
                         ids=["int /= int", "int += float", "bool += int"])
def test_in_place_ops_refuse_a_result_of_a_wider_kind_as_pytorch(device, make, op):
    """x /= 2 on ints gave [1, 2], silently truncated: PyTorch refuses a float result for an int x (and an int one for bool)."""
    x = make(device)
    with raises_naming("can't be cast", str(x.dtype)):
        op(x)
    assert x.numpy().tolist() == make(device).numpy().tolist()  # unchanged
    y = Tensor([3, 4], device=device)
    y *= 2
    y += True
    assert y.dtype == dtypes.int32 and y.numpy().tolist() == [7, 9]  # the same kind or narrower stays fine
