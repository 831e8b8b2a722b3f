"""SPEC "nn", layers: PyTorch's parameter names, shapes and default initialisation; forward against a NumPy
reference and gradients against finite differences (helpers.check)."""
import math
import numpy as np
import pytest
from minigrad import Tensor, nn
from minigrad.nn.state import get_state_dict
from helpers import check, conv2d_ref, rand


def with_params(layer, **params):
    """The layer with some of its parameters replaced (by the test's input tensors)."""
    for name, value in params.items():
        setattr(layer, name, value)
    return layer


def shapes_of(layer):
    return {name: t.shape for name, t in get_state_dict(layer).items()}


def assert_uniform_within(values, bound):
    """Inside [-bound, bound] and spread over it, as U(-bound, bound) would be."""
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.9 * bound
    assert abs(values.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_from_minigrad_import_nn_gives_layers_optim_and_state():
    assert nn.Linear and nn.optim.SGD and nn.state.get_state_dict


# ---- parameter names, shapes, initialisation ----

def test_linear_has_weight_out_by_in_and_bias():
    assert shapes_of(nn.Linear(5, 3)) == {"weight": (3, 5), "bias": (3,)}
    assert shapes_of(nn.Linear(5, 3, bias=False)) == {"weight": (3, 5)}


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    Tensor.manual_seed(0)
    layer = nn.Linear(64, 500)
    assert_uniform_within(layer.weight.numpy(), 1 / 8)
    assert_uniform_within(layer.bias.numpy(), 1 / 8)


def test_conv2d_has_weight_out_in_kh_kw_and_bias():
    assert shapes_of(nn.Conv2d(3, 8, 5)) == {"weight": (8, 3, 5, 5), "bias": (8,)}
    assert shapes_of(nn.Conv2d(3, 8, (2, 3), bias=False)) == {"weight": (8, 3, 2, 3)}


def test_conv2d_init_is_uniform_within_one_over_sqrt_fan_in():
    Tensor.manual_seed(0)
    layer = nn.Conv2d(4, 300, 2)  # fan_in = 4 * 2 * 2 = 16
    assert_uniform_within(layer.weight.numpy(), 1 / 4)
    assert_uniform_within(layer.bias.numpy(), 1 / 4)


def test_embedding_weight_is_standard_normal():
    Tensor.manual_seed(0)
    layer = nn.Embedding(1000, 20)
    assert shapes_of(layer) == {"weight": (1000, 20)}
    weight = layer.weight.numpy()
    assert abs(weight.mean()) < 0.02 and abs(weight.std() - 1) < 0.02


def test_layernorm_weight_is_ones_and_bias_zeros():
    layer = nn.LayerNorm(6)
    assert shapes_of(layer) == {"weight": (6,), "bias": (6,)}
    np.testing.assert_array_equal(layer.weight.numpy(), np.ones(6))
    np.testing.assert_array_equal(layer.bias.numpy(), np.zeros(6))


@pytest.mark.parametrize("layer", [nn.Linear(2, 3), nn.Conv2d(1, 2, 3), nn.Embedding(4, 2), nn.LayerNorm(3)],
                         ids=lambda layer: type(layer).__name__)
def test_parameters_require_grad(layer):
    assert all(t.requires_grad for t in get_state_dict(layer).values())


# ---- forward against NumPy, gradients against finite differences ----

def test_linear_forward_and_gradients(device):
    check(lambda x, w, b: with_params(nn.Linear(4, 3), weight=w, bias=b)(x), lambda x, w, b: x @ w.T + b,
          rand(5, 4, seed=1), rand(3, 4, seed=2), rand(3, seed=3), device=device)


def test_linear_without_bias_on_batched_input(device):
    check(lambda x, w: with_params(nn.Linear(4, 3, bias=False), weight=w)(x), lambda x, w: x @ w.T,
          rand(2, 5, 4, seed=1), rand(3, 4, seed=2), device=device)


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1)])
def test_conv2d_forward_and_gradients(device, stride, padding):
    layer = lambda x, w, b: with_params(nn.Conv2d(2, 3, 3, stride=stride, padding=padding), weight=w, bias=b)(x)
    check(layer, lambda x, w, b: conv2d_ref(x, w, b, stride, padding),
          rand(2, 2, 5, 5, seed=1), rand(3, 2, 3, 3, seed=2), rand(3, seed=3), device=device)


def test_embedding_gathers_rows_for_any_index_shape(device):
    indices = np.array([[0, 3, 3], [1, 0, 4]])
    lookup = lambda w: with_params(nn.Embedding(5, 2), weight=w)(Tensor(indices, device=device))
    # repeated indices: their gradients add up in the same row
    check(lookup, lambda w: w[indices], rand(5, 2, seed=1), device=device)
    flat = with_params(nn.Embedding(5, 2), weight=Tensor(np.arange(10.0).reshape(5, 2), device=device))
    assert flat(Tensor([4, 1], device=device)).tolist() == [[8.0, 9.0], [2.0, 3.0]]


def layernorm_ref(x, w, b, eps=1e-5):
    centered = x - x.mean(-1, keepdims=True)
    return centered / np.sqrt((centered ** 2).mean(-1, keepdims=True) + eps) * w + b


def test_layernorm_forward_and_gradients(device):
    check(lambda x, w, b: with_params(nn.LayerNorm(4), weight=w, bias=b)(x), layernorm_ref,
          rand(3, 4, seed=1), rand(4, seed=2), rand(4, seed=3), device=device, rtol=1e-6, f32_rtol=1e-4, f32_atol=1e-5)


def test_layernorm_over_several_trailing_dims(device):
    x, w, b = rand(2, 3, 4, seed=1), rand(3, 4, seed=2), rand(3, 4, seed=3)
    flat_ref = layernorm_ref(x.reshape(2, 12), w.reshape(12), b.reshape(12)).reshape(2, 3, 4)
    check(lambda x, w, b: with_params(nn.LayerNorm((3, 4)), weight=w, bias=b)(x), lambda *_: flat_ref,
          x, w, b, device=device, rtol=1e-6, f32_rtol=1e-4, f32_atol=1e-5, grad=False)


@pytest.mark.parametrize("bad", [-1, 5])
def test_embedding_and_gather_refuse_negative_and_too_large_indices_as_pytorch(device, bad):
    """Negative indices wrap in NumPy-style indexing (t[idx]) but are out of range for Embedding and gather, as in PyTorch."""
    table = Tensor(np.arange(10.0).reshape(5, 2), device=device)
    with pytest.raises(IndexError, match=f"index {bad} is out of range"):
        with_params(nn.Embedding(5, 2), weight=table)(Tensor([0, bad], device=device)).numpy()
    with pytest.raises(IndexError, match=f"index {bad} is out of range"):
        table.gather(0, Tensor([[0, 1], [bad, 0]], device=device)).numpy()
    assert table[Tensor([-1], device=device)].tolist() == [[8.0, 9.0]]
