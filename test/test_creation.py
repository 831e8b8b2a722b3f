"""SPEC "Tensor API": creation, dtypes, properties and conversion."""
import numpy as np
import pytest
from minigrad import Tensor, dtypes
from helpers import assert_close, raises_naming, require_dtype


def on_device(t, device):
    return str(t.device).upper().startswith(device)


# ---- creation from Python and NumPy data ----

def test_python_float_scalar_is_float32(device):
    t = Tensor(3.5, device=device)
    assert t.shape == () and t.dtype == dtypes.float32
    assert t.numpy().dtype == np.float32 and t.item() == 3.5


def test_python_int_scalar_is_int32(device):
    t = Tensor(7, device=device)
    assert t.shape == () and t.dtype == dtypes.int32 and t.numpy().dtype == np.int32
    assert t.item() == 7 and isinstance(t.item(), int)


def test_python_bool_is_bool(device):
    t = Tensor([True, False, True], device=device)
    assert t.dtype == dtypes.bool and t.numpy().dtype == np.bool_
    assert t.tolist() == [True, False, True]


def test_bool_bytes_other_than_0_and_1_read_as_true(device):
    """NumPy reads any nonzero byte of a bool array as True (np.frombuffer, a safetensors BOOL entry can hold 2 or 255);
    on CL a cast gave 2 and 255, a sum 258, and == True False."""
    t = Tensor(np.frombuffer(bytes([0, 1, 2, 255]), np.bool_), device=device)
    assert t.cast(dtypes.int32).tolist() == [0, 1, 1, 1] and t.sum().item() == 3 and (t == True).tolist() == [False, True, True, True]  # noqa: E712


def test_nested_float_list_is_float32(device):
    t = Tensor([[1.0, 2.5, -3.0], [4.0, 5.0, 6.25]], device=device)
    assert t.shape == (2, 3) and t.dtype == dtypes.float32
    assert_close(t.numpy(), np.array([[1.0, 2.5, -3.0], [4.0, 5.0, 6.25]], dtype=np.float32), 0, 0)


def test_nested_int_list_is_int32(device):
    t = Tensor([[1, 2], [3, -4]], device=device)
    assert t.dtype == dtypes.int32 and t.numpy().dtype == np.int32
    assert t.tolist() == [[1, 2], [3, -4]]


def test_numpy_arrays_keep_values_and_dtype(device):
    floats = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    ints = np.array([[5, -6, 7]], dtype=np.int32)
    bools = np.array([True, False])
    for array, dtype in [(floats, dtypes.float32), (ints, dtypes.int32), (bools, dtypes.bool)]:
        t = Tensor(array, device=device)
        assert t.dtype == dtype and t.shape == array.shape
        np.testing.assert_array_equal(t.numpy(), array)


def test_float64_numpy_array_with_explicit_dtype(device):
    require_dtype(dtypes.float64, device)
    array = np.array([1 / 3, 1e-300, 1e300])
    t = Tensor(array, dtype=dtypes.float64, device=device)
    assert t.dtype == dtypes.float64 and t.numpy().dtype == np.float64
    np.testing.assert_array_equal(t.numpy(), array)


def test_explicit_dtype_converts_data(device):
    t = Tensor([1, 2, 3], dtype=dtypes.float32, device=device)
    assert t.dtype == dtypes.float32 and t.numpy().dtype == np.float32
    assert t.tolist() == [1.0, 2.0, 3.0]


def test_float16_storage(device):
    require_dtype(dtypes.float16, device)
    t = Tensor([1.5, -2.25, 65504.0], dtype=dtypes.float16, device=device)
    assert t.dtype == dtypes.float16 and t.numpy().dtype == np.float16
    np.testing.assert_array_equal(t.numpy(), np.array([1.5, -2.25, 65504.0], dtype=np.float16))


# ---- creators ----

def test_zeros(device):
    t = Tensor.zeros(2, 3, device=device)
    assert t.shape == (2, 3) and t.dtype == dtypes.float32
    np.testing.assert_array_equal(t.numpy(), np.zeros((2, 3), np.float32))


def test_ones(device):
    t = Tensor.ones(4, device=device, dtype=dtypes.int32)
    assert t.dtype == dtypes.int32
    np.testing.assert_array_equal(t.numpy(), np.ones(4, np.int32))


def test_full(device):
    t = Tensor.full((2, 2), 7.5, device=device)
    assert t.shape == (2, 2)
    np.testing.assert_array_equal(t.numpy(), np.full((2, 2), 7.5, np.float32))


def test_arange(device):
    np.testing.assert_array_equal(Tensor.arange(5, device=device).numpy(), np.arange(5))
    np.testing.assert_array_equal(Tensor.arange(2, 8, device=device).numpy(), np.arange(2, 8))
    np.testing.assert_array_equal(Tensor.arange(10, 0, -3, device=device).numpy(), np.arange(10, 0, -3))
    t = Tensor.arange(0, 1, 0.25, dtype=dtypes.float32, device=device)
    assert t.dtype == dtypes.float32
    assert_close(t.numpy(), np.array([0, 0.25, 0.5, 0.75]), 0, 0)


def test_eye(device):
    t = Tensor.eye(3, device=device)
    assert t.shape == (3, 3)
    np.testing.assert_array_equal(t.numpy(), np.eye(3))


def test_rand_is_uniform_in_zero_one(device):
    values = Tensor.rand(100, 100, device=device).numpy()
    assert values.shape == (100, 100) and values.dtype == np.float32
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.02 and abs(values.std() - np.sqrt(1 / 12)) < 0.02
    assert len(np.unique(values)) > 9000


@pytest.mark.parametrize("dtype", [dtypes.float16, dtypes.float32])
def test_rand_never_rounds_up_to_one(device, dtype):
    """[0, 1) in the tensor's own dtype: drawn in float64, about 1 in 3,700 float16 draws would round to 1.0."""
    Tensor.manual_seed(0)
    assert Tensor.rand(200_000, dtype=dtype, device=device).numpy().max() < 1.0
    assert Tensor.uniform(200_000, low=-1.0, high=0.5, dtype=dtype, device=device).numpy().max() < 0.5


def test_randn_is_standard_normal(device):
    values = Tensor.randn(200, 100, device=device).numpy()
    assert values.shape == (200, 100) and values.dtype == np.float32
    assert abs(values.mean()) < 0.03 and abs(values.std() - 1.0) < 0.03
    assert np.all(np.isfinite(values)) and values.min() < -2.5 and values.max() > 2.5


def test_uniform_low_high(device):
    values = Tensor.uniform(50, 40, low=2.0, high=5.0, device=device).numpy()
    assert values.shape == (50, 40)
    assert values.min() >= 2.0 and values.max() < 5.0 and abs(values.mean() - 3.5) < 0.1
    default = Tensor.uniform(2000, device=device).numpy()
    assert default.min() >= -1.0 and default.max() < 1.0 and default.min() < -0.9 and default.max() > 0.9


@pytest.mark.parametrize("creator", ["zeros", "ones", "rand", "randn", "uniform"])
def test_creators_take_dtype_device_requires_grad(device, creator):
    t = getattr(Tensor, creator)(2, 3, dtype=dtypes.float32, device=device, requires_grad=True)
    assert t.shape == (2, 3) and t.dtype == dtypes.float32 and t.requires_grad is True and on_device(t, device)
    assert getattr(Tensor, creator)(2, device=device).requires_grad is False


def test_full_arange_eye_take_dtype_device_requires_grad(device):
    for t in [Tensor.full((2,), 3.0, dtype=dtypes.float32, device=device, requires_grad=True),
              Tensor.arange(4, dtype=dtypes.float32, device=device, requires_grad=True),
              Tensor.eye(2, dtype=dtypes.float32, device=device, requires_grad=True)]:
        assert t.dtype == dtypes.float32 and t.requires_grad is True and on_device(t, device)


def test_only_a_floating_tensor_can_be_made_to_require_grad_later_too(device):
    t = Tensor([1, 2], device=device)
    with raises_naming("floating"): t.requires_grad = True
    t = Tensor([1.0, 2.0], device=device)
    t.requires_grad = True
    assert t.requires_grad is True and (t * 2).requires_grad


def test_manual_seed_gives_identical_numbers_twice(device):
    Tensor.manual_seed(1234)
    first = (Tensor.rand(64, device=device).numpy(), Tensor.randn(64, device=device).numpy())
    Tensor.manual_seed(1234)
    second = (Tensor.rand(64, device=device).numpy(), Tensor.randn(64, device=device).numpy())
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0][:32], first[0][32:])
    Tensor.manual_seed(4321)
    assert not np.array_equal(Tensor.rand(64, device=device).numpy(), first[0])


def test_manual_seed_same_numbers_on_every_device(device):
    Tensor.manual_seed(99)
    reference = Tensor.rand(3, 5, device="NUMPY").numpy()
    Tensor.manual_seed(99)
    np.testing.assert_allclose(Tensor.rand(3, 5, device=device).numpy(), reference, rtol=1e-6)


# ---- properties and conversion ----

def test_shape_is_tuple_ndim_numel(device):
    t = Tensor.zeros(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.ndim == 3 and t.numel() == 24
    assert Tensor(1.0, device=device).ndim == 0 and Tensor(1.0, device=device).numel() == 1


def test_dtype_and_device_properties(device):
    t = Tensor([1.0], device=device)
    assert t.dtype == dtypes.float32 and t.dtype != dtypes.int32
    assert on_device(t, device)


def test_T_transposes(device):
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = Tensor(array, device=device).T
    assert t.shape == (3, 2)
    np.testing.assert_array_equal(t.numpy(), array.T)


def test_numpy_returns_ndarray(device):
    out = Tensor([[1.0, 2.0]], device=device).numpy()
    assert isinstance(out, np.ndarray) and out.shape == (1, 2)
    assert Tensor(2.0, device=device).numpy().shape == ()


def test_item_returns_python_number(device):
    value = Tensor([[2.5]], device=device).item()
    assert isinstance(value, float) and value == 2.5
    assert (Tensor(3.0, device=device) * 2).item() == 6.0


def test_a_one_element_tensor_is_a_python_value_in_if_float_and_int(device):
    """As in PyTorch: without __bool__ Python asked len(), so `if Tensor([False])` was taken and `[a, b].index(b)` was 0
    (a == b is a tensor of 2 elements); with more than one element a truth value is refused, not guessed."""
    assert not Tensor([False], device=device) and Tensor(2.5, device=device) > 2
    assert float(Tensor([[2.5]], device=device)) == 2.5 and int(Tensor(-2.7, device=device)) == -2
    a, b = Tensor([1.0, 2.0], device=device), Tensor([3.0, 4.0], device=device)
    for convert in (bool, float, int):
        with pytest.raises(ValueError): convert(a)
    with pytest.raises(ValueError): [a, b].index(b)
    assert max(Tensor(1.0, device=device), Tensor(3.0, device=device)).item() == 3.0


def test_numpy_reads_a_tensor_as_its_values(device):
    """np.asarray(t) was an object array of 0-d tensors (NumPy read t as a sequence); Tensor(t) and a list of tensors
    read values too, and a tensor's dtype stays."""
    a = Tensor([1.0, 2.0], device=device)
    assert np.asarray(a).dtype == np.float32 and np.asarray(a, dtype=np.float64).tolist() == [1.0, 2.0]
    assert Tensor([Tensor(1.5, device=device), Tensor(2.0, device=device)]).tolist() == [1.5, 2.0]
    assert Tensor(Tensor([1, 2], dtype=dtypes.float16, device=device)).dtype == dtypes.float16


def test_tolist(device):
    assert Tensor([[1.0, 2.0], [3.0, 4.5]], device=device).tolist() == [[1.0, 2.0], [3.0, 4.5]]
    assert Tensor([1, 2], device=device).tolist() == [1, 2]


def test_realize_returns_self(device):
    t = Tensor([1.0, 2.0], device=device) + 1
    assert t.realize() is t
    np.testing.assert_array_equal(t.numpy(), [2.0, 3.0])


def test_detach_keeps_values_and_drops_grad(device):
    x = Tensor([1.0, -2.0], device=device, requires_grad=True)
    y = (x * 3).detach()
    assert y.requires_grad is False
    np.testing.assert_array_equal(y.numpy(), [3.0, -6.0])


def test_to_moves_between_devices(device):
    t = Tensor([1.5, 2.5], device="NUMPY").to(device)
    assert on_device(t, device)
    np.testing.assert_array_equal((t * 2).numpy(), [3.0, 5.0])
    back = t.to("NUMPY")
    assert on_device(back, "NUMPY") and back.tolist() == [1.5, 2.5]


def test_cast_float_to_int_truncates(device):
    t = Tensor([1.7, -1.7, 2.0, -0.2], device=device).cast(dtypes.int32)
    assert t.dtype == dtypes.int32
    np.testing.assert_array_equal(t.numpy(), np.array([1, -1, 2, 0], np.int32))


def test_cast_to_bool(device):
    t = Tensor([0.0, 2.0, -1.0], device=device).cast(dtypes.bool)
    assert t.dtype == dtypes.bool and t.tolist() == [False, True, True]


def test_float(device):
    t = Tensor([1, 2, 3], device=device).float()
    assert t.dtype == dtypes.float32 and t.numpy().dtype == np.float32
    np.testing.assert_array_equal((t / 2).numpy(), [0.5, 1.0, 1.5])


def test_half(device):
    require_dtype(dtypes.float16, device)
    t = Tensor([1.0, 0.1, 3.0], device=device).half()
    assert t.dtype == dtypes.float16 and t.numpy().dtype == np.float16
    np.testing.assert_array_equal(t.numpy(), np.array([1.0, 0.1, 3.0], np.float16))


def test_contiguous_keeps_values(device):
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    t = Tensor(array, device=device).permute(1, 0).contiguous()
    assert t.shape == (4, 3)
    np.testing.assert_array_equal(t.numpy(), array.T)


def test_len_is_first_dimension(device):
    assert len(Tensor.zeros(5, 2, device=device)) == 5


def test_repr_does_not_crash(device):
    assert isinstance(repr(Tensor([1.0, 2.0], device=device)), str) and repr(Tensor(1, device=device))
    assert repr(Tensor.rand(3, device=device, requires_grad=True) * 2)
