"""SPEC "Tensor API": the ops real models reach for — N-d and boolean indexing, gather, tril/triu, cumsum, roll,
masked_fill, rounding, tan/softplus/elu, conv2d with stride/padding/dilation/groups, pooling, attention — and the
layers built on them (nn.Conv2d, nn.Embedding).

Forward against float64 NumPy references written beside each test, backward against central finite differences
(helpers.check), on every device. Bad input gets an error that names the problem.
"""
import inspect
import tracemalloc
import numpy as np
import pytest
from minigrad import GlobalCounters, Tensor, dtypes, nn
from minigrad.ops import ReduceOps
from minigrad.schedule import create_schedule
from helpers import assert_close, check, check_gradients, rand, raises_naming, require_dtype

TABLE = rand(5, 4, 3, seed=30)


def tensor_args(index, device):
    """An index tuple with NumPy arrays turned into Tensors on device."""
    return tuple(Tensor(i, device=device) if isinstance(i, np.ndarray) else i for i in index)


# ---- indexing with integer tensors, lists and bool masks ----

ADVANCED = {
    "2-d tensor": (np.array([[0, 4, 1], [2, 2, 3]]),),
    "negative values wrap": (np.array([-1, 0, -5]),),
    "two tensors broadcast": (np.array([[0], [3]]), np.array([1, 2, 0])),
    "tensor after slice": (slice(1, None), np.array([[0, -1]])),
    "int and tensor adjacent": (2, np.array([3, 0])),
    "separated tensors go first": (np.array([[0, 4]]), slice(None), np.array([[2], [1]])),
    "tensor, int, tensor stay in place": (np.array([[0, 4]]), 1, np.array([[2], [1]])),
    "ellipsis then tensor": (Ellipsis, np.array([[2, 0], [1, 1]])),
    "none and tensor": (None, np.array([1, 3]), None),
    "0-d tensor": (np.array(2),),
}


@pytest.mark.parametrize("name", list(ADVANCED))
def test_integer_tensor_indices_of_any_shape_gather_like_numpy(device, name):
    index = ADVANCED[name]
    check(lambda t: t[tensor_args(index, device)], lambda x: x[index], TABLE, device=device)


# where PyTorch's placement differs from NumPy's: an int between tensor indices and slices separates nothing (PyTorch
# applies ints first); NumPy counts it as an advanced index, so x[1, :, idx] would put idx's dim first
INT_THEN_TENSOR = {
    "int, slice, tensor": ((1, slice(None), np.array([0, 2, 2])), lambda x: x[1][:, [0, 2, 2]]),
    "tensor, slice, int": ((np.array([0, 4]), slice(None), 2), lambda x: x[:, :, 2][[0, 4]]),
    "int, slice, 2-d tensor": ((2, slice(1, None), np.array([[0, 1]])), lambda x: x[2][1:, [[0, 1]]]),
    "slice, int, tensor": ((slice(None), 3, np.array([2, 0])), lambda x: x[:, 3][:, [2, 0]]),
    # a 0-d integer tensor is an int to PyTorch (NumPy counts it as an index: x[t0, :, [0, 2]] came out transposed)
    "0-d tensor, slice, tensor": ((np.array(1), slice(None), np.array([0, 2])), lambda x: x[1][:, [0, 2]]),
    "tensor, slice, 0-d tensor": ((np.array([0, 4]), slice(None), np.array(2)), lambda x: x[:, :, 2][[0, 4]]),
}


@pytest.mark.parametrize("name", list(INT_THEN_TENSOR))
def test_ints_do_not_separate_tensor_indices_as_pytorch(device, name):
    index, reference = INT_THEN_TENSOR[name]
    check(lambda t: t[tensor_args(index, device)], reference, TABLE, device=device)


def test_empty_index_tensor_and_empty_mask_gather_nothing(device):
    check(lambda t: t[Tensor(np.zeros(0, np.int32), device=device)], lambda x: x[np.zeros(0, int)], TABLE, device=device)
    check(lambda t: t[Tensor(np.zeros(5, bool), device=device)], lambda x: x[np.zeros(5, bool)], TABLE, device=device)


def test_python_list_indices_gather(device):
    check(lambda t: t[[0, 4, 4]], lambda x: x[[0, 4, 4]], TABLE, device=device)
    check(lambda t: t[[[0, 1], [2, 3]], 1], lambda x: x[np.array([[0, 1], [2, 3]]), 1], TABLE, device=device)
    check(lambda t: t[:, [2, 0], [1, 1]], lambda x: x[:, [2, 0], [1, 1]], TABLE, device=device)
    assert Tensor(TABLE, device=device)[[]].shape == (0, 4, 3)


def test_embedding_lookup_with_batch_by_time_indices(device):
    idx = np.array([[0, 3, 3, 1], [4, 4, 0, 2]])
    table = rand(5, 6, seed=31)
    check(lambda t: t[Tensor(idx, device=device)], lambda x: x[idx], table, device=device)
    weight = Tensor(table, device=device, requires_grad=True)
    weight[Tensor(idx, device=device)].sum().backward()
    assert_close(weight.grad.numpy(), np.bincount(idx.ravel(), minlength=5)[:, None] * np.ones((1, 6)), 1e-6)


MASKS = {
    "1-d mask": (np.array([True, False, True, True, False]),),
    "2-d mask": (np.array([[True, False, False, True]] * 2 + [[False] * 4] * 3),),
    "mask after slice": (slice(None), np.array([False, True, True, False])),
    "mask and int": (np.array([False, True, False, False, True]), 2),
}


@pytest.mark.parametrize("name", list(MASKS))
def test_bool_mask_selects_true_positions(device, name):
    index = MASKS[name]
    check(lambda t: t[tensor_args(index, device)], lambda x: x[index], TABLE, device=device)


def test_bool_mask_is_not_read_as_integer_indices(device):
    out = Tensor([10.0, 20.0, 30.0], device=device)[Tensor([True, False, True], device=device)]
    assert out.tolist() == [10.0, 30.0]
    assert Tensor([10.0, 20.0, 30.0], device=device)[[True, False, True]].tolist() == [10.0, 30.0]


def test_bool_mask_of_wrong_shape_raises(device):
    with raises_naming("(2,)", "(3,)"):
        Tensor([1.0, 2.0, 3.0], device=device)[Tensor([True, False], device=device)]


def test_out_of_range_index_tensor_raises_naming_the_index(device):
    t = Tensor(TABLE, device=device)
    with raises_naming("7", "size 5"):
        t[Tensor([0, 7, 1], device=device)].numpy()  # checked with the next realize, not while building
    with raises_naming("-6", "size 5"):
        t[Tensor([-6], device=device)].numpy()
    with raises_naming("4", "size 4"):
        t[:, Tensor([[4]], device=device)].numpy()


def test_float_and_python_bool_indices_are_refused(device):
    t = Tensor(TABLE, device=device)
    with raises_naming("float32"):
        t[Tensor([1.0], device=device)]
    with raises_naming("bool"):
        t[True]


def test_gather_of_a_row_next_to_inf_and_nan_rows_stays_finite(device):
    table = np.array([[1.0, np.inf], [np.nan, -np.inf], [3.0, 4.0]], np.float32)
    out = Tensor(table, device=device)[Tensor([2, 0, 1, 2], device=device)].numpy()
    np.testing.assert_array_equal(out, table[[2, 0, 1, 2]])
    logp = np.array([[-np.inf, -0.5, -1.0], [-2.0, -np.inf, -0.1]], np.float32)  # log-probabilities of masked logits
    picked = Tensor(logp, device=device).gather(1, Tensor([[1], [2]], device=device)).numpy()
    np.testing.assert_array_equal(picked, logp[[0, 1], [1, 2]].reshape(2, 1))


def test_gather_of_int_and_bool_tensors_keeps_dtype(device):
    ints = Tensor([[1, -2], [3, 4]], device=device)[Tensor([1, 0, 1], device=device)]
    assert ints.dtype == dtypes.int32 and ints.tolist() == [[3, 4], [1, -2], [3, 4]]
    flags = Tensor([True, False], device=device)[Tensor([1, 1, 0], device=device)]
    assert flags.dtype == dtypes.bool and flags.tolist() == [False, False, True]


def test_gather_does_not_build_batch_by_vocabulary_by_dim():
    """A lookup of 4096 rows of 512 from a 2048-row table: the one-hot broadcast would be 4096 * 2048 * 512 floats
    (16 GB) and a one-hot (4096, 2048) 32 MB; a gather needs the output (8 MB) and its copy on the host."""
    table = Tensor.randn(2048, 512).realize()
    index = Tensor(np.random.default_rng(0).integers(0, 2048, 4096)).realize()
    tracemalloc.start()
    try:
        out = table[index].numpy()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_close(out, table.numpy()[index.numpy()], 0, 0)
    assert peak < 24e6, f"gather peaked at {peak / 1e6:.0f} MB"


def test_a_lookup_in_a_padded_table_pads_the_table_not_the_lookup():
    """A padded table, read for 512 rows: its padding is made once (1.3 MB), not once per row picked (650 MB)."""
    table, index = Tensor.randn(5000, 64).realize(), Tensor(np.random.default_rng(1).integers(0, 5001, 512)).realize()
    tracemalloc.start()
    try:
        out = table.pad(((0, 1), (0, 0)))[index].numpy()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_close(out, np.pad(table.numpy(), ((0, 1), (0, 0)))[index.numpy()], 0, 0)
    assert peak < 8e6, f"the lookup peaked at {peak / 1e6:.0f} MB"


@pytest.mark.parametrize("dim", [0, 1])
def test_an_index_into_an_empty_dim_raises_at_realize_naming_that_dim(device, dim):
    empty = Tensor(np.zeros((0, 3) if dim == 0 else (2, 0), np.float32), device=device)
    lookup = empty[Tensor([0], device=device)] if dim == 0 else empty.gather(1, Tensor([[0], [0]], device=device))
    with raises_naming("index 0", f"dim {dim} of size 0"):
        lookup.numpy()
    assert Tensor([1.0], device=device).exp().item() == pytest.approx(np.e)  # nothing is left pending for the next realize


def test_a_lookup_computes_the_picked_elements_alone(device):
    """Embedding rows, gathered elements and a class-index cross-entropy's pick read what they pick: the work does not
    grow with the table's size, also for a table that is trained (whose gradient is a one-hot product, built for backward only)."""
    def work(rows, trained=False):
        table = Tensor(np.random.default_rng(rows).standard_normal((rows, 64)).astype(np.float32), device=device, requires_grad=trained).realize()
        index = Tensor([3, 1, 4, 1, 5, 9], device=device).realize()
        GlobalCounters.reset()
        Tensor.realize(table[index], table.gather(0, index.reshape(6, 1).expand(6, 64)))
        return GlobalCounters.global_ops
    assert work(10) == work(100_000) == work(100_000, trained=True) < 6 * 64 * 20  # a one-hot product would cost 100_000 * 64 * 6 * 2
    loss = Tensor(np.zeros((32, 1000), np.float32), device=device).cross_entropy(Tensor([7] * 32, device=device), reduction="none")
    over_classes = [op.op for item in create_schedule([loss.lazydata.base]) for op in item.kernel.ops
                    if isinstance(op.op, ReduceOps) and item.kernel.ops[op.srcs[0]].shape == (32, 1000)]
    assert sorted(over_classes, key=str) == [ReduceOps.GATHER, ReduceOps.MAX, ReduceOps.SUM]  # the max, the sum of exps, the pick


GATHERS = [(0, (3, 4, 3)), (1, (5, 2, 3)), (2, (5, 4, 6)), (-1, (2, 1, 1)), (1, (4, 4, 2))]


@pytest.mark.parametrize("dim,index_shape", GATHERS, ids=str)
def test_gather_along_dim_like_torch(device, dim, index_shape):
    size = TABLE.shape[dim]
    index = np.random.default_rng(dim % 3).integers(0, size, index_shape)  # a negative index raises, as in torch (test_nn)

    def reference(x):  # torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for dim 1, over index's own extent
        region = x[tuple(slice(0, n) if d != dim % 3 else slice(None) for d, n in enumerate(index_shape))]
        return np.take_along_axis(region, index, axis=dim)
    check(lambda t: t.gather(dim, Tensor(index, device=device)), reference, TABLE, device=device)


def test_gather_bad_index_raises(device):
    t = Tensor(TABLE, device=device)
    with raises_naming("3 dims", "(5, 4)"):
        t.gather(0, Tensor(np.zeros((5, 4), np.int32), device=device))
    with raises_naming("(6, 4, 3)"):
        t.gather(1, Tensor(np.zeros((6, 4, 3), np.int32), device=device))
    with raises_naming("9", "size 4"):
        t.gather(1, Tensor(np.full((1, 1, 1), 9), device=device)).numpy()


# ---- structure: tril/triu, cumsum, roll, masked_fill ----

@pytest.mark.parametrize("diagonal", [0, 1, -1, 3, -4])
def test_tril_triu(device, diagonal):
    x = rand(2, 3, 4, seed=32)
    check(lambda t: t.tril(diagonal), lambda a: np.tril(a, diagonal), x, device=device)
    check(lambda t: t.triu(diagonal), lambda a: np.triu(a, diagonal), x, device=device)


def test_tril_keeps_dtype_and_zeroes_nan_above(device):
    mask = Tensor.ones(3, 3, dtype=dtypes.bool, device=device).tril()
    assert mask.dtype == dtypes.bool and mask.tolist() == np.tril(np.ones((3, 3), bool)).tolist()
    out = Tensor([[1.0, np.nan], [np.nan, 2.0]], device=device).tril().numpy()
    np.testing.assert_array_equal(out, np.array([[1.0, 0.0], [np.nan, 2.0]], np.float32))
    with raises_naming("2 dims", "(3,)"):
        Tensor([1.0, 2.0, 3.0], device=device).tril()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(device, dim):
    check(lambda t: t.cumsum(dim), lambda a: np.cumsum(a, axis=dim), rand(3, 4, 5, seed=33), device=device)


def test_cumsum_dtypes_lengths_and_0d(device):
    assert Tensor([True, True, False], device=device).cumsum(0).tolist() == [1, 2, 2]
    assert Tensor([3, -1, 4], device=device).cumsum(0).dtype == dtypes.int32
    long = rand(1000, seed=34)
    assert_close(Tensor(long, device=device).cumsum(0).numpy(), np.cumsum(long), 1e-4, 1e-4)
    assert Tensor(2.5, device=device).cumsum(0).item() == 2.5
    half = Tensor([0.1] * 100, dtype=dtypes.float16, device=device).cumsum(0)
    assert half.dtype == dtypes.float16
    assert_close(half.numpy()[-1], np.float16(0.1) * 100.0, 2e-3)


ROLLS = [(1, 0), (-2, 1), (7, -1), ((1, 2), (0, 2)), (3, None), ((1, 1), (0, 0)), (0, 1)]


@pytest.mark.parametrize("shifts,dims", ROLLS, ids=str)
def test_roll(device, shifts, dims):
    check(lambda t: t.roll(shifts, dims), lambda a: np.roll(a, shifts, dims), rand(3, 4, 5, seed=35), device=device)


def test_roll_needs_one_shift_per_dim(device):
    with raises_naming("shifts (1, 2)", "dims (0,)"):
        Tensor.zeros(3, 3, device=device).roll((1, 2), (0,))


def test_masked_fill(device):
    mask = np.random.default_rng(1).random((4, 3)) > 0.5
    check(lambda t: t.masked_fill(Tensor(mask, device=device), -2.5), lambda a: np.where(mask, -2.5, a), rand(2, 4, 3, seed=36),
          device=device)
    ints = Tensor([1, 2, 3], device=device).masked_fill(Tensor([True, False, True], device=device), 7.9)
    assert ints.dtype == dtypes.int32 and ints.tolist() == [7, 2, 7]
    fill = Tensor(-1.0, device=device)
    out = Tensor([1.0, 2.0], dtype=dtypes.float16, device=device).masked_fill(Tensor([False, True], device=device), fill)
    assert out.dtype == dtypes.float16 and out.tolist() == [1.0, -1.0]
    with raises_naming("bool"):
        Tensor([1.0, 2.0], device=device).masked_fill(Tensor([1, 0], device=device), 0.0)


# ---- elementwise math ----

ROUNDING = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.3, 0.7, -3.7, 3.2, 1e8 + 0.5, 2.0 ** 24 + 1.0, 2.0 ** 52 + 1.0,
                     4503599627370497.5, np.inf, -np.inf, np.nan, 0.0, -7.0])
ROUNDERS = {"round": np.round, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc}  # np.round is half to even


@pytest.mark.parametrize("name", list(ROUNDERS))
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.float16], ids=str)
def test_rounding_like_numpy(device, name, dtype):
    require_dtype(dtype, device)
    with np.errstate(over="ignore"):
        values = ROUNDING.astype(dtype.np)
    out = getattr(Tensor(values, device=device), name)()
    assert out.dtype == dtype
    np.testing.assert_array_equal(out.numpy(), ROUNDERS[name](values))


@pytest.mark.parametrize("name", list(ROUNDERS))
def test_rounding_has_zero_gradient_and_keeps_ints(device, name):
    x = Tensor([0.3, -1.7, 2.5], device=device, requires_grad=True)
    getattr(x, name)().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]
    ints = getattr(Tensor([3, -4], device=device), name)()
    assert ints.dtype == dtypes.int32 and ints.tolist() == [3, -4]


def test_tan(device):
    check(lambda t: t.tan(), np.tan, rand(3, 4, low=-1.4, high=1.4, seed=37), device=device, f32_rtol=1e-4)


def softplus_ref(x, beta=1.0, threshold=20.0):
    return np.where(x * beta > threshold, x, np.log1p(np.exp(np.minimum(x * beta, threshold))) / beta)


def test_softplus(device):
    x = np.array([-30.0, -5.0, -1.0, 0.0, 0.5, 19.5, 20.5, 50.0, 1e4])
    check(lambda t: t.softplus(), softplus_ref, x, device=device, atol=1e-9, f32_atol=1e-6)
    check(lambda t: t.softplus(beta=2.0, threshold=5.0), lambda a: softplus_ref(a, 2.0, 5.0), x, device=device, atol=1e-9)


def test_elu(device):
    x = np.array([-30.0, -2.0, -0.5, -1e-3, 0.25, 3.0, 1e4])
    check(lambda t: t.elu(), lambda a: np.where(a > 0, a, np.expm1(np.minimum(a, 0))), x, device=device, atol=1e-9)
    check(lambda t: t.elu(0.5), lambda a: np.where(a > 0, a, 0.5 * np.expm1(np.minimum(a, 0))), x, device=device, atol=1e-9)


def test_softplus_and_elu_gradients_are_finite_at_extremes(device):
    x = Tensor([-1e4, 0.0, 1e4], device=device, requires_grad=True)
    (x.softplus() + x.elu()).sum().backward()
    assert_close(x.grad.numpy(), np.array([0.0, 0.5 + 1.0, 2.0]), 1e-6)


# ---- convolution and pooling ----

def conv2d_ref(x, weight, bias=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
    """Direct float64 convolution over sliding windows, as torch.nn.functional.conv2d."""
    (sh, sw), (dh, dw) = stride, dilation
    padded = np.pad(x, ((0, 0), (0, 0), *pads))
    out_channels, group_channels, kh, kw = weight.shape
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    windows = np.lib.stride_tricks.sliding_window_view(padded, (span_h, span_w), axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    per_group = out_channels // groups
    out = np.concatenate([np.einsum("nchwij,ocij->nohw", windows[:, g * group_channels:(g + 1) * group_channels],
                                    weight[g * per_group:(g + 1) * per_group]) for g in range(groups)], axis=1)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def pairs(v):
    return (v, v) if isinstance(v, int) else tuple(v)


CONVS = {
    "plain": dict(),
    "stride 2": dict(stride=2),
    "padding 1": dict(padding=1),
    "padding pair": dict(padding=(2, 1)),
    "per side": dict(padding=((1, 0), (0, 2))),
    "same": dict(padding="same", dilation=(2, 1)),
    "dilation 2": dict(dilation=2),
    "everything": dict(stride=(2, 1), padding=2, dilation=(1, 2)),
    "stride larger than kernel": dict(stride=4, padding=1),
}


def conv_pads(kwargs, kernel):
    padding, dilation = kwargs.get("padding", 0), pairs(kwargs.get("dilation", 1))
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    return tuple(pairs(p) for p in pairs(padding))


@pytest.mark.parametrize("name", list(CONVS))
def test_conv2d_like_torch(device, name):
    kwargs = CONVS[name]
    x, weight, bias = rand(2, 3, 7, 6, seed=40), rand(4, 3, 3, 2, seed=41), rand(4, seed=42)

    def reference(a, w, b):
        return conv2d_ref(a, w, b, pairs(kwargs.get("stride", 1)), conv_pads(kwargs, w.shape[2:]), pairs(kwargs.get("dilation", 1)))
    check(lambda a, w, b: a.conv2d(w, b, **kwargs), reference, x, weight, bias, device=device, grad=False)
    check_gradients(lambda a, w, b: a.conv2d(w, b, **kwargs), rand(1, 2, 6, 5, seed=43), weight[:2, :2], bias[:2], device=device)


@pytest.mark.parametrize("groups,in_channels,out_channels", [(2, 4, 6), (4, 4, 4), (3, 3, 6)])
def test_conv2d_groups(device, groups, in_channels, out_channels):
    x, weight = rand(1, in_channels, 4, 4, seed=44), rand(out_channels, in_channels // groups, 3, 2, seed=45)
    check(lambda a, w: a.conv2d(w, groups=groups, padding=1),
          lambda a, w: conv2d_ref(a, w, pads=((1, 1), (1, 1)), groups=groups), x, weight, device=device)


def test_conv2d_bad_arguments_raise(device):
    x, weight = Tensor.zeros(1, 2, 4, 4, device=device), Tensor.zeros(3, 2, 3, 3, device=device)
    with raises_naming("stride 0", "positive"):
        x.conv2d(weight, stride=0)
    with raises_naming("kernel 5", "larger", "4"):
        x.conv2d(Tensor.zeros(3, 2, 5, 5, device=device))
    with raises_naming("kernel 3 with dilation 2", "larger"):
        x.conv2d(weight, dilation=2)
    with raises_naming("(1, 2, 4, 4)", "(3, 2, 3, 3)", "groups=2"):
        x.conv2d(weight, groups=2)
    with raises_naming("padding", "(1, 2, 3, 4)"):
        x.conv2d(weight, padding=(1, 2, 3, 4))
    with raises_naming("'same'", "at stride 1"):  # "same" is no longer the input's size at a larger stride
        x.conv2d(weight, padding="same", stride=2)


def pool_ref(x, kernel, stride, reduce):
    (kh, kw), (sh, sw) = kernel, stride
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    return reduce(windows, axis=(4, 5))


POOLS = [(2, None), (3, 2), (2, 1), (3, 1), ((2, 3), (1, 2)), (3, 3), (2, 3), (1, 1), ((4, 1), (2, 1))]


@pytest.mark.parametrize("kernel,stride", POOLS, ids=str)
@pytest.mark.parametrize("name,reduce", [("max_pool2d", np.max), ("avg_pool2d", np.mean)])
def test_pool2d_windows(device, kernel, stride, name, reduce):
    values = rand(1, 2, 7, 6, seed=46)
    check(lambda t: getattr(t, name)(kernel, stride), lambda a: pool_ref(a, pairs(kernel), pairs(stride or kernel), reduce),
          values, device=device)


@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pool2d_bad_arguments_raise(device, name):
    x = Tensor.zeros(1, 1, 2, 2, device=device)
    with raises_naming("stride 0", "positive"):
        getattr(x, name)(2, 0)
    with raises_naming("kernel 3", "larger", "2"):
        getattr(x, name)(3)


def test_conv_windows_are_one_view_not_stacked_slices():
    """Conv2d(32, 32, 3, padding=1) on a 2 MB input: its forward and backward stay within a small multiple of the
    unfolded input (9 x 2.4 MB); stacking one padded slice per kernel offset peaked at +306 MB in the forward."""
    Tensor.manual_seed(0)
    conv = nn.Conv2d(32, 32, 3, padding=1)
    x = Tensor.randn(16, 32, 32, 32, requires_grad=True).realize()
    upstream = Tensor.randn(16, 32, 32, 32).realize()
    conv.weight.realize(), conv.bias.realize()
    unfolded = 9 * 16 * 32 * 34 * 34 * 4
    tracemalloc.start()
    try:
        out = conv(x)
        out.realize()
        forward_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        (out * upstream).sum().backward()
        x.grad.realize(conv.weight.grad, conv.bias.grad)
        backward_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert forward_peak < 3 * unfolded, f"forward peaked at {forward_peak / 1e6:.0f} MB"
    assert backward_peak < 5 * unfolded, f"backward peaked at {backward_peak / 1e6:.0f} MB"


def test_conv2d_forward_is_one_kernel(device):
    x = Tensor(rand(2, 3, 8, 8, seed=47), device=device).realize()
    weight = Tensor(rand(4, 3, 3, 3, seed=48), device=device).realize()
    GlobalCounters.reset()
    x.conv2d(weight, padding=1, stride=2).realize()
    assert GlobalCounters.kernel_count == 1


# ---- attention ----

def attention_ref(q, k, v, mask=None, scale=None):
    scores = q @ np.swapaxes(k, -1, -2) * (1 / np.sqrt(q.shape[-1]) if scale is None else scale)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == bool else scores + mask
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True) @ v


Q, K, V = rand(2, 1, 3, 4, seed=50), rand(2, 1, 5, 4, seed=51), rand(2, 1, 5, 3, seed=52)


def test_attention(device):
    check(lambda q, k, v: q.scaled_dot_product_attention(k, v), attention_ref, Q, K, V, device=device)


def test_attention_causal(device):
    causal = np.tril(np.ones((3, 5), bool))
    check(lambda q, k, v: q.scaled_dot_product_attention(k, v, is_causal=True), lambda q, k, v: attention_ref(q, k, v, causal),
          Q, K, V, device=device)


def test_attention_bool_and_float_masks(device):
    keep = np.random.default_rng(3).random((3, 5)) > 0.4
    keep[:, 0] = True
    check(lambda q, k, v: q.scaled_dot_product_attention(k, v, Tensor(keep, device=device)),
          lambda q, k, v: attention_ref(q, k, v, keep), Q, K, V, device=device)
    bias = rand(3, 5, seed=53)
    check(lambda q, k, v, b: q.scaled_dot_product_attention(k, v, b, scale=0.3), lambda q, k, v, b: attention_ref(q, k, v, b, 0.3),
          Q, K, V, bias, device=device)


def test_attention_row_masked_whole_reads_nothing_as_pytorch(device):
    """A query that may attend to no key (a padded position) gets 0 and passes no NaN to any gradient."""
    keep = np.random.default_rng(4).random((3, 5)) > 0.4
    keep[:, 0], keep[1] = True, False

    def reference(q, k, v):
        with np.errstate(invalid="ignore"):
            return np.nan_to_num(attention_ref(q, k, v, keep))  # numpy gives 0/0 = nan in the masked row
    check(lambda q, k, v: q.scaled_dot_product_attention(k, v, Tensor(keep, device=device)), reference, Q, K, V, device=device)
    additive = np.where(keep, 0.0, -np.inf).astype(np.float32)  # the same mask as a float one, added to the scores
    check(lambda q, k, v: q.scaled_dot_product_attention(k, v, Tensor(additive, device=device)), reference, Q, K, V, device=device)


def test_attention_refuses_mask_and_is_causal(device):
    q = Tensor(Q, device=device)
    with raises_naming("attn_mask", "is_causal"):
        q.scaled_dot_product_attention(q, q, Tensor.ones(3, 3, dtype=dtypes.bool, device=device), is_causal=True)


# ---- layers ----

def test_conv2d_layer_groups_dilation_and_init():
    Tensor.manual_seed(0)
    layer = nn.Conv2d(6, 9, (3, 2), stride=2, padding=((1, 0), (0, 1)), dilation=(1, 2), groups=3)
    assert layer.weight.shape == (9, 2, 3, 2) and layer.bias.shape == (9,)
    bound = 1 / np.sqrt(2 * 3 * 2)  # PyTorch's fan-in counts the channels of one group
    assert np.abs(layer.weight.numpy()).max() <= bound and np.abs(layer.weight.numpy()).max() > 0.8 * bound
    x = rand(2, 6, 7, 7, seed=54)
    expected = conv2d_ref(x, layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64), (2, 2),
                          ((1, 0), (0, 1)), (1, 2), 3)
    assert_close(layer(Tensor(x)).numpy(), expected, 1e-5, 1e-5)
    with raises_naming("groups (4)"):
        nn.Conv2d(6, 9, 3, groups=4)


def test_embedding_takes_any_index_shape():
    emb = nn.Embedding(7, 3)
    idx = np.array([[[0, 6], [3, 3]], [[1, 2], [5, 4]]])
    out = emb(Tensor(idx))
    assert out.shape == (2, 2, 2, 3)
    assert_close(out.numpy(), emb.weight.numpy()[idx], 0, 0)
    with raises_naming("7", "size 7"):
        emb(Tensor([7])).numpy()


# ---- bad arguments named in the issues ----

def test_split_and_chunk_refuse_zero(device):
    t = Tensor.zeros(4, 2, device=device)
    with raises_naming("split size", "0"):
        t.split(0)
    with raises_naming("chunk", "0"):
        t.chunk(0)
    assert [p.shape for p in Tensor.zeros(0, 2, device=device).split(0)] == [(0, 2)]
    with raises_naming("[3, 2]", "4"):
        t.split([3, 2])


def test_repeat_needs_a_count_per_dim(device):
    with raises_naming("2 dims", "(3,)"):
        Tensor.zeros(2, 3, device=device).repeat(3)


def test_one_hot_out_of_range_class_raises(device):
    with raises_naming("class 3", "3 classes"):
        Tensor([0, 3, 1], device=device).one_hot(3).numpy()
    with raises_naming("class -1"):
        Tensor([-1], device=device).one_hot(2).numpy()


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_refuses_p_outside_unit_interval(device, p):
    with raises_naming("[0, 1]", str(p)):
        Tensor.ones(3, device=device).dropout(p)


def test_dropout_with_p_one_zeroes_everything(device, training):
    x = Tensor.ones(4, 4, device=device, requires_grad=True)
    y = x.dropout(1.0)
    assert y.numpy().tolist() == np.zeros((4, 4)).tolist()
    y.sum().backward()
    assert x.grad.numpy().tolist() == np.zeros((4, 4)).tolist()


def test_indices_into_more_positions_than_int32_counts_are_refused(device):
    """Several index tensors are flattened into one int32 index: past 2**31 positions it would wrap, silently wrong."""
    huge = Tensor.ones(1, 1, device=device).expand(50_000, 50_000)  # a view: no memory
    with raises_naming("int32", "(50000, 50000)"):
        huge[Tensor([1], device=device), Tensor([2], device=device)]
    assert huge[Tensor([1], device=device), 3].tolist() == [1.0]  # one gathered dim alone fits


AXIS_METHODS = [name for name in dir(Tensor) if not name.startswith("_") and callable(getattr(Tensor, name))
                and "axis" in inspect.signature(getattr(Tensor, name)).parameters]


@pytest.mark.parametrize("name", AXIS_METHODS)
def test_every_method_that_takes_axis_takes_pytorchs_dim_too(device, name):
    """SPEC: wherever a method takes axis=, it also takes dim= (flip did not)."""
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device=device)
    args = (Tensor([0, 2], device=device),) if name == "cross_entropy" else ()
    assert np.array_equal(getattr(x, name)(*args, dim=1).numpy(), getattr(x, name)(*args, axis=1).numpy())


@pytest.mark.parametrize("call", [lambda x: x.cumsum(dim=(0, 1)), lambda x: x.argmax((0, 1)), lambda x: x.argmin(dim=True),
                                  lambda x: x.unsqueeze([0]), lambda x: x.transpose((0,), 1), lambda x: x.roll(1, dims=((0, 1),))],
                         ids=["cumsum tuple", "argmax tuple", "argmin bool", "unsqueeze list", "transpose tuple", "roll nested"])
def test_methods_of_a_single_dim_refuse_a_tuple_or_bool_as_pytorch(call):
    """cumsum(dim=(0, 1)) summed along dim 0 alone, silently, and argmax((0, 1)) failed to unpack."""
    with raises_naming("single int dim"):
        call(Tensor(np.arange(12, dtype=np.float32).reshape(3, 4)))
