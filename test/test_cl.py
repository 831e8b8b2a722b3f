"""The CL backend's kernel shapes, each checked against NumPy in float64. Every test that runs kernels runs three times,
forced on whatever device this is: CPU-shaped with vectors of 4 or more floats (what a CPU gets), CPU-shaped with width
1 (what a device that prefers scalars gets), and GPU-shaped (work-group lanes sharing a row through local memory, the
tiled matmul), so every kernel shape is correct before any GPU sees it. Those tests also run with every buffer between
fences of NaN (the `shape` fixture): a kernel that reads outside a buffer gets NaN in its result, and one that writes
outside it breaks a fence, so each checks that its kernels stay inside their buffers."""
import os, subprocess, sys
import numpy as np
import pytest
from minigrad import Device, GlobalCounters, Tensor, backend_cl, dtypes
from minigrad.nn import optim
from minigrad.ops import BinaryOps, KernelOps, KOp, Kernel, MemBuffer
from minigrad.renderer_c import OPENCL, Dialect, Renderer
from minigrad.schedule import create_schedule
from minigrad.shapetracker import ShapeTracker, View
from helpers import assert_close, raises_naming, rand


@pytest.fixture(scope="module")
def backend():
    try:
        Tensor([1.0], device="CL").numpy()
    except RuntimeError as error:
        if os.environ.get("MINIGRAD_REQUIRE_CL") == "1":
            pytest.fail(f"OpenCL unavailable: {error}")
        pytest.skip(f"OpenCL unavailable: {error}")
    return Device["CL"]


FENCE = 4096  # bytes on each side of a buffer: a multiple of any device's base-address alignment


class FencedBuffer:
    """Device memory between two fences of all-ones bytes (NaN in float16, float32 and float64): a kernel that reads
    outside its buffer gets NaN in its result, and one that writes outside it breaks a fence."""
    made = []

    def __init__(self, backend, nbytes):
        cl, self.size = backend.cl, max(nbytes, 1)
        self.nbytes, self.whole = nbytes, cl.Buffer(backend.context, cl.mem_flags.READ_WRITE, 2 * FENCE + self.size)
        cl.enqueue_fill_buffer(backend.queue, self.whole, np.uint8(255), 0, 2 * FENCE + self.size)
        self.mem = self.whole.get_sub_region(FENCE, self.size)
        FencedBuffer.made.append(self)


@pytest.fixture(params=["vectors", "scalars", "gpu"])
def shape(request, backend, monkeypatch):
    """The CL backend, switched to CPU-shaped vector (width 4 or more) or scalar (width 1) kernels, or to GPU-shaped
    ones, for one test, with every buffer made during the test (inputs, outputs, scratch) fenced; afterwards every
    fence must be intact."""
    saved = backend.shape
    backend.shape = saved._replace(gpu=request.param == "gpu", width=max(4, saved.width) if request.param == "vectors" else 1)
    monkeypatch.setattr(backend_cl, "CLBuffer", FencedBuffer)
    FencedBuffer.made = []
    yield backend.shape
    backend.shape = saved
    for buffer in FencedBuffer.made:
        whole = np.empty(2 * FENCE + buffer.size, np.uint8)
        backend.cl.enqueue_copy(backend.queue, whole, buffer.whole, is_blocking=True)
        assert (whole[:FENCE] == 255).all() and (whole[FENCE + buffer.size:] == 255).all(), f"a kernel wrote outside {buffer.nbytes} bytes"
    FencedBuffer.made = []


def cl(array, dtype=None):
    return Tensor(np.asarray(array), dtype=dtype, device="CL")


def kernels_of(tensor):
    return [item.kernel for item in create_schedule([tensor.lazydata.base])]


# ---- elementwise kernels: every kind of view, odd sizes (a vector part and a scalar tail), every dtype

def test_elementwise_views_match_numpy(shape):
    a, b, c = rand(5, 13, seed=1), rand(13, seed=2), rand(13, 5, seed=3)
    x, y, z = cl(a.astype(np.float32)), cl(b.astype(np.float32)), cl(c.astype(np.float32))
    cases = [
        (x * y + 1, a * b + 1),                                        # a broadcast row
        ((x.T * 2)[::-1, 1:], (a.T * 2)[::-1, 1:]),                    # permute, flip, shrink
        (x.pad(((1, 2), (0, 3))) + 1, np.pad(a, ((1, 2), (0, 3))) + 1),  # padding reads 0
        ((x + z.T).reshape(13, 5) * 3, (a + c.T).reshape(13, 5) * 3),  # a reshape no single view expresses
        (x.exp().log() - x[:, :1], np.log(np.exp(a)) - a[:, :1]),       # a broadcast column
        ((x > 0).where(x, y * 2), np.where(a > 0, a, b * 2)),
        (x.maximum(y).abs().sqrt(), np.sqrt(np.abs(np.maximum(a, b)))),
    ]
    for got, expected in cases:
        assert_close(got.numpy(), expected, 1e-5, 1e-5)


def test_one_element_read_through_several_views_is_one_broadcast_read(shape, backend):
    """A view whose first view reads one element (every stride 0, no mask) gives every lane that element, whatever the
    views above it: one read, not a loop over the lanes (cross-entropy's backward reads its sample count so)."""
    one = ShapeTracker((View((32,), (0,), 5), View((32, 48), (1, 0))))  # element 5 of a (32,) view of a scalar, spread
    load = lambda index, st: KOp(KernelOps.LOAD, (), MemBuffer(index, st, None), dtypes.float32, (32, 48))
    kernel = Kernel((load(0, ShapeTracker.from_shape((32, 48))), load(1, one),
                     KOp(BinaryOps.MUL, (0, 1), None, dtypes.float32, (32, 48))))
    source = Renderer(kernel, OPENCL, backend.shape).render().source
    assert "lane" not in source or shape.width == 1 or backend.shape.gpu, source
    a, values = rand(32, 48, seed=9).astype(np.float32), np.arange(8, dtype=np.float32)
    out = backend.compile(kernel)([backend.from_numpy(a), backend.from_numpy(values)], ())
    assert_close(backend.to_numpy(out, dtypes.float32).reshape(32, 48), a * 5, 0, 0)


def test_elementwise_dtypes_match_numpy(shape):
    a = rand(3, 7, seed=4) * 10
    half = cl(a.astype(np.float16))
    assert_close((half * 2 + 1).numpy(), (a.astype(np.float16) * 2 + 1).astype(np.float16), 0, 0)
    assert_close(cl(a.astype(np.float32)).cast(dtypes.float16).numpy(), a.astype(np.float32).astype(np.float16), 0, 0)
    ints = cl(a.astype(np.int32))
    assert_close((ints * 3 - 1).numpy(), a.astype(np.int32) * 3 - 1, 0, 0)
    flags = cl(a > 0)
    assert_close((flags.cast(dtypes.float32) + flags.T.T.cast(dtypes.float32)).numpy(), 2 * (a > 0), 0, 0)
    assert_close((cl(a.astype(np.float32)) < 1).numpy(), a.astype(np.float32) < 1, 0, 0)


# ---- reductions: rows of every length, over leading, middle and trailing axes, with ops before and after

@pytest.mark.parametrize("size", [1, 7, 64, 65, 1000, 4099])
def test_row_reductions_match_numpy(shape, size):
    a, bias = rand(3, size, seed=size), rand(3, 1, seed=1)
    x, b = cl(a.astype(np.float32)), cl(bias.astype(np.float32))
    assert_close((x * 2).sum(axis=1, keepdim=True).numpy() + 0, (a * 2).sum(1, keepdims=True), 1e-5, 1e-5)
    assert_close(((x - b).exp().sum(axis=1) + 1).log().numpy(), np.log(np.exp(a - bias).sum(1) + 1), 1e-5, 1e-5)
    assert_close(x.max(axis=1).numpy(), a.astype(np.float32).max(1), 0, 0)
    assert_close(x.sum(axis=0).numpy(), a.sum(0), 1e-5, 1e-5)


def test_reductions_over_middle_and_all_axes(shape):
    a = rand(6, 50, 7, seed=3)
    x = cl(a.astype(np.float32))
    assert_close(x.sum(axis=1).numpy(), a.sum(1), 1e-5, 1e-5)
    assert_close(x.permute(2, 0, 1).max(axis=(0, 2)).numpy(), a.max(axis=(1, 2)).astype(np.float32), 0, 0)
    assert_close(x.sum().numpy(), a.sum(), 1e-6, 0)
    assert_close(cl(np.arange(60000, dtype=np.int32)).sum().numpy(), np.arange(60000).sum(), 0, 0)
    assert_close(cl(np.zeros((4, 0), np.float32)).sum(axis=1).numpy(), np.zeros(4), 0, 0)


def test_few_long_rows_are_cut_into_parts(shape, backend):
    """Few outputs: each row is reduced in parts side by side, then the parts are reduced; a device with many compute
    units cuts rows that a small one doesn't."""
    a = rand(2, 300001, seed=5)
    for units in (shape.compute_units, 64):
        backend.shape = shape._replace(compute_units=units)
        x = cl(a.astype(np.float32))
        assert_close((x * x).sum(axis=1).numpy(), (a.astype(np.float32).astype(np.float64) ** 2).sum(1), 1e-6, 0)
        assert_close(x.max(axis=1).numpy(), a.astype(np.float32).max(1), 0, 0)
        assert_close((x.sum() * 2).numpy(), a.astype(np.float32).astype(np.float64).sum() * 2, 1e-6, 0)


def test_float32_sums_are_accurate(shape):
    """A float32 sum of n same-sign values is within 1e-6 of the float64 result, up to n = 10**7."""
    values = np.random.default_rng(0).uniform(0, 1, 10**7).astype(np.float32)
    x = cl(values)
    exact = values.astype(np.float64).sum()
    assert abs(float(x.sum().numpy()) - exact) <= 1e-6 * exact
    assert abs(float(x.mean().numpy()) - exact / values.size) <= 1e-6 * exact / values.size
    rows = values.reshape(100, 10**5)
    assert_close(cl(rows).sum(axis=1).numpy(), rows.astype(np.float64).sum(1), 1e-6, 0)


def test_a_sum_of_2_to_the_30_ones_is_exact(shape):
    n = 2**30 if shape.width > 1 or shape.gpu else 2**27  # scalar loops are slower, but the GPU shape's tree is what makes 2**30 exact
    assert Tensor.ones(n, device="CL").sum().item() == n


def test_nan_and_infinity_in_reductions_match_numpy(shape):
    a = np.array([[1.0, np.nan, 3.0], [-np.inf, -np.inf, -np.inf], [1.0, np.inf, 2.0], [np.inf, -np.inf, 0.0]], np.float32)
    wide = np.tile(a, (1, 50))  # rows long enough for vector loops and parts
    for values in (a, wide):
        x, on_numpy = cl(values), Tensor(values)
        with np.errstate(invalid="ignore"):
            assert_close(x.max(axis=1).numpy(), values.max(1), 0, 0)
            assert_close(x.sum(axis=1).numpy(), values.astype(np.float64).sum(1).astype(np.float32), 0, 0)
        assert_close(x.maximum(x[::-1]).numpy(), np.maximum(values, values[::-1]), 0, 0)
        assert_close(x.argmax(axis=1).numpy(), on_numpy.argmax(axis=1).numpy(), 0, 0)
        assert_close(x.max().numpy(), on_numpy.max().numpy(), 0, 0)


def test_float16_rows_reduce_in_float32(shape):
    values = rand(2, 100000, seed=6).astype(np.float16)
    got = cl(values).sum(axis=1).numpy()
    assert got.dtype == np.float16
    assert_close(got, values.astype(np.float64).sum(1).astype(np.float16), 1e-3, 0)


@pytest.mark.parametrize("size", [17, 100])
def test_float16_rows_of_odd_length_with_a_broadcast_column_reduce(shape, size):
    """float16 rows whose starts are not vector-aligned, beside a broadcast column read lane by lane (softmax's x - max):
    halves read as vectors there crashed PoCL."""
    values, column = rand(3, size, seed=size).astype(np.float16), rand(3, 1, seed=2).astype(np.float16)
    got = (cl(values) + cl(column)).sum(axis=1).numpy()
    assert_close(got, (values + column).astype(np.float64).sum(1), 1e-2, 0)
    assert_close(cl(values).softmax(-1).numpy(), np.exp(values - values.max(1, keepdims=True)) / np.exp(values - values.max(1, keepdims=True)).sum(1, keepdims=True), 1e-2, 1e-3)


# ---- matmul: the tiled kernels, with sizes that fill no tile, batches, transposed and offset operands

@pytest.mark.parametrize("m,k,n", [(64, 32, 48), (5, 7, 12), (130, 70, 132), (1, 300, 8), (520, 40, 516)])
def test_matmul_shapes_match_numpy(shape, m, k, n):
    a, b, bias = rand(m, k, seed=1), rand(k, n, seed=2), rand(n, seed=3)
    x, y, z = cl(a.astype(np.float32)), cl(b.astype(np.float32)), cl(bias.astype(np.float32))
    assert_close((x @ y).numpy(), a @ b, 1e-5, 1e-4)
    assert_close((x @ y + z).relu().numpy(), np.maximum(a @ b + bias, 0), 1e-5, 1e-4)
    assert_close((y.T @ x.T).numpy(), (a @ b).T, 1e-5, 1e-4)


def test_batched_and_offset_matmuls_match_numpy(shape):
    a, b = rand(3, 20, 16, seed=4), rand(3, 16, 12, seed=5)
    x, y = cl(a.astype(np.float32)), cl(b.astype(np.float32))
    assert_close((x @ y).numpy(), a @ b, 1e-5, 1e-4)
    assert_close((x[1:, 3:11] @ y[2:, :, 4:]).numpy(), a[1:, 3:11] @ b[2:, :, 4:], 1e-5, 1e-4)
    assert_close((x[0] @ y).numpy(), a[0] @ b, 1e-5, 1e-4)


def test_a_gpu_matmul_shares_tiles_of_both_operands_through_local_memory(backend):
    """GPU-shaped, a matmul's work-group is 16 x 16 work-items that copy tiles of a and b into local memory and wait for
    each other; CPU-shaped, each work-group is one work-item that reads a and b where they lie."""
    (kernel,) = kernels_of(cl(rand(40, 33, seed=1).astype(np.float32)) @ cl(rand(33, 20, seed=2).astype(np.float32)))
    for gpu in (True, False):
        program = Renderer(kernel, OPENCL, backend.shape._replace(gpu=gpu)).render()
        ((_, global_size, local_size),) = program.launches
        assert ("__local float a_tile" in program.source and "barrier(" in program.source) == gpu, program.source
        assert local_size == ((16, 16, 1) if gpu else (1, 1, 1)) and global_size[0] % local_size[0] == 0


# ---- arguments: scalars and offsets are kernel arguments, so a training loop compiles nothing after its first step

def test_lr_schedule_and_random_batches_compile_nothing_after_step_one(shape):
    rng = np.random.default_rng(0)
    data, labels = cl(rng.standard_normal((500, 12)).astype(np.float32)), cl(rng.integers(0, 3, 500).astype(np.int32))
    weight = Tensor(rng.standard_normal((3, 12)).astype(np.float32), device="CL", requires_grad=True)
    bias = Tensor(np.zeros(3, np.float32), device="CL", requires_grad=True)
    opt = optim.SGD([weight, bias], lr=0.1)
    compiled = []
    for step in range(4):
        start = int(rng.integers(1, 468)) if step else 0  # the first batch at the start: offset 0 is an argument too
        opt.lr = 0.1 / (1 + step)
        loss = (data[start:start + 32].linear(weight, bias) * (1 + step * 0.5)).cross_entropy(labels[start:start + 32])
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()
        compiled.append(GlobalCounters.compile_count)
    assert compiled[0] == compiled[-1], f"compiles after each step: {compiled}"


# ---- huge sizes: 64-bit indices where a size needs them

def test_sizes_past_2_to_the_31_use_64_bit_indices(shape):
    for tensor, huge in ((Tensor.ones(2**31 + 16, device="CL").sum(), True), (Tensor.ones(2**16, 2**16 + 1, device="CL").exp()[0], True),
                         (Tensor.ones(1000, device="CL").sum(), False)):
        (kernel,) = kernels_of(tensor)
        program = Renderer(kernel, OPENCL, shape).render()
        assert (program.index_type == "long") == huge and ("int r" not in program.source and "int id" not in program.source) == huge, program.source


def test_a_sum_past_2_to_the_31_elements_returns(shape):
    if shape.width == 1:
        pytest.skip("one run is enough: the vector kernel on this device")
    assert Tensor.ones(2**31 + 16, device="CL").sum().item() == np.float32(2**31 + 16)


# ---- kernels stay inside their buffers (every test with the `shape` fixture runs fenced)

def test_a_fence_shows_a_read_outside_a_buffer(shape, backend):
    wrong = ShapeTracker.from_shape((40,))  # reads 40 elements of a 33-element buffer
    kernel = Kernel((KOp(KernelOps.LOAD, (), MemBuffer(0, wrong, None), dtypes.float32, (40,)),))
    values = backend.to_numpy(backend.compile(kernel)([backend.from_numpy(np.ones(33, np.float32))], ()), dtypes.float32)
    assert np.isnan(values[33:]).all() and (values[:33] == 1).all()


def test_kernels_stay_inside_their_buffers(shape):
    """Views that end at a buffer's edges, read by every kernel shape: vector loads and scalar tails, rows that start
    and end off vector boundaries, broadcasts, strided lanes, masks and flips, reductions over leading and trailing
    axes, rows cut into parts, float16, matmul tiles with sizes that fill no tile, and gathers."""
    a, long_rows = rand(9, 33, seed=7), rand(2, 30001, seed=8).astype(np.float32)
    x, h, y = cl(a.astype(np.float32)), cl(a.astype(np.float16)), cl(long_rows)
    cases = [
        (x[:, 2:] * x[:, 1:-1] + x[:, -1:], a[:, 2:] * a[:, 1:-1] + a[:, -1:]),
        ((x[:, 1::4] * 2).exp() + x[-1, -1], np.exp(a[:, 1::4] * 2) + a[-1, -1]),
        (x.flip(1)[::-1, ::3] + x.T[2::3].T, a[::-1, ::-1][:, ::3] + a[:, 2::3]),
        ((x.pad(((1, 1), (2, 0))) * 2).sum(axis=1) + x[::2].T.sum(axis=0).sum(), (np.pad(a, ((1, 1), (2, 0))) * 2).sum(1) + a[::2].sum()),
        (x.sum(axis=1) + x[:, 1:].max(axis=1) + x.T.sum(axis=1)[:9], a.sum(1) + a[:, 1:].max(1) + a.sum(0)[:9]),
        ((h * 2).sum(axis=0) + h[:, -1:].sum(), (a.astype(np.float16) * 2).astype(np.float64).sum(0) + a[:, -1].astype(np.float16).sum()),
        (y.sum(axis=1) + y[:, 1:].max(axis=1), long_rows.astype(np.float64).sum(1) + long_rows[:, 1:].max(1)),
        (x @ x[:8].T, a @ a[:8].T),  # the matmul kernel needs a size divisible by 4
        (x[1:].T @ x[1:, 3:15], a[1:].T @ a[1:, 3:15]),
        (x.linear(x[1:9]), a @ a[1:9].T),
        # gathers: rows and columns at the edges, of views (transposed, padded), of a computed table, in float16
        (x[cl(np.array([8, 0, 8, 3], np.int32))] * 2 + x.T[cl(np.array([32, 0], np.int32))].sum(), a[[8, 0, 8, 3]] * 2 + a.T[[32, 0]].sum()),
        ((x.exp() + 1).gather(1, cl(np.array([[32], [0]] * 4 + [[31]], np.int32))), np.exp(a[range(9), [32, 0] * 4 + [31]]).reshape(9, 1) + 1),
        (x.pad(((1, 1), (0, 0)))[cl(np.array([0, 10, 5], np.int32))] + h[cl(np.array([8, 0], np.int32))].sum(),
         np.pad(a, ((1, 1), (0, 0)))[[0, 10, 5]] + a.astype(np.float16)[[8, 0]].astype(np.float64).sum()),
    ]
    for got, expected in cases:
        assert_close(got.numpy(), expected, 1e-3 if got.dtype == dtypes.float16 else 1e-5, 1e-3)


# ---- clean output, and a new C-style language is a table of facts

def test_builds_print_nothing(backend):
    doubles = "cl_khr_fp64" in backend.device.extensions
    code = ("import numpy as np\nfrom minigrad import Tensor, dtypes\nx = Tensor(np.random.rand(70, 70).astype(np.float32), device='CL')\n"
            f"h, d = x.cast(dtypes.float16), x.cast(dtypes.float64 if {doubles} else dtypes.float32)\n"
            "print(((x @ x).sum(axis=1) + h.exp().max(axis=0) + x.sum() + d.exp().sum(axis=0).cast(dtypes.float32)).numpy().shape)\n"
            "from minigrad import Device\nprint(Device['CL'].shape.gpu)")
    for forced in ("cpu", "gpu"):
        env = {**os.environ, "MINIGRAD_CL_SHAPE": forced, "PYTHONPATH": os.pathsep.join(sys.path), "POCL_KERNEL_CACHE": "0", "PYOPENCL_NO_CACHE": "1"}
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert (done.stdout, done.stderr) == (f"(70,)\n{forced == 'gpu'}\n", ""), done.stderr  # MINIGRAD_CL_SHAPE chose the shape


def test_a_process_that_ends_with_kernels_queued_exits_cleanly():
    """realize() queues kernels without waiting; PoCL's teardown crashed (a segfault) at times when a process ended with
    some still queued (2 of 12 runs of this script before the queue was finished at exit, 0 of 20 after)."""
    code = ("from minigrad import Tensor\na = Tensor.randn(512, 512, device='CL').realize()\n"
            "for _ in range(20): a = (a @ a.T * 1e-3).realize()")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for _ in range(8):  # (a crash came in about one run of six)
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, (done.returncode, done.stderr[-500:])


def test_a_new_dialect_is_a_table_of_facts(backend):
    """The GPU-shaped kernels (width 1, as a dialect without vector types needs) render in any dialect: elementwise
    kernels and reductions whose lanes pass results through shared memory. (The matmul's register tiles use OpenCL C's
    vector types.)"""
    cuda = Dialect('extern "C" __global__ void', "", "blockIdx.{1}", "threadIdx.{1}", "__half2float({0}[{1}])", "{0}[{1}] = __float2half({2});", "",
                   "__shared__", "__syncthreads();")
    x = cl(np.ones((4, 5000), np.float16))
    for tensor, shared in (((x * 2).sum(axis=1), True), ((x.T.exp() + 1).cast(dtypes.float32), False)):
        (kernel,) = kernels_of(tensor)
        source = Renderer(kernel, cuda, backend.shape._replace(width=1, gpu=True)).render().source
        assert "blockIdx.x" in source and "threadIdx.x" in source and ("__syncthreads();" in source and "__shared__" in source) == shared, source
        assert "get_" not in source and "__local" not in source and "vload" not in source and "vstore" not in source, source
