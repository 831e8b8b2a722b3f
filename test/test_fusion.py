"""SPEC "Devices, laziness, debugging": fusion promises counted in kernels, the CL program cache, moving tensors
between devices, float16 on CL, and the error a machine without OpenCL gives."""
import os, subprocess, sys
from pathlib import Path
from types import SimpleNamespace
import numpy as np
import pytest
from minigrad import Device, GlobalCounters, Tensor, dtypes
from helpers import assert_close, rand

REPO = Path(__file__).resolve().parent.parent
only_cl = pytest.mark.parametrize("device", ["CL"], indirect=True)


def kernels_to_realize(*tensors):
    """How many kernels realizing `tensors` runs (their inputs are realized beforehand by the caller)."""
    GlobalCounters.reset()
    Tensor.realize(*tensors)
    return GlobalCounters.kernel_count


def inputs(device, *shapes):
    return [Tensor(rand(*shape, seed=i).astype(np.float32), device=device).realize() for i, shape in enumerate(shapes)]


def run_python(code, **env):
    """Run `code` in a fresh interpreter (so environment variables act at import) and return what it printed."""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), **env})
    assert result.returncode == 0, result.stderr
    return result.stdout


# ---- fusion: kernel counts

def test_elementwise_chain_is_one_kernel(device):
    x, y = inputs(device, (3, 4), (3, 4))
    out = (((x + y) * 2 - 1).exp() / 3).sqrt()
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), np.sqrt(np.exp((x.numpy() + y.numpy()) * 2 - 1) / 3), 1e-6)


def test_sum_of_a_product_is_one_kernel(device):
    a, b = inputs(device, (5, 7), (5, 7))
    out = (a * b).sum()
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), (a.numpy() * b.numpy()).sum(), 1e-6)


def test_reduce_with_elementwise_before_and_after_is_one_kernel(device):
    x, y = inputs(device, (4, 40), (4, 40))
    out = ((x * y).exp().sum(axis=1) * 2 + 1).sqrt()
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), np.sqrt(np.exp(x.numpy() * y.numpy()).sum(axis=1) * 2 + 1), 1e-6)


def test_movement_ops_feed_an_elementwise_op_in_one_kernel(device):
    a, b, c = inputs(device, (4, 3), (3, 1), (5, 7))
    out = a.permute(1, 0) * b.expand(3, 4) + c[1:4, ::2].flip(1)
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), a.numpy().T * b.numpy() + c.numpy()[1:4, ::2][:, ::-1], 1e-6)


def test_a_value_read_in_two_shapes_in_one_kernel_keeps_its_value(device):
    """t is computed once in the kernel and read both reshaped and by t + 1, where its last use is. NUMPY writes an op
    into the memory of a source that dies there; a reshape of t still reads that memory, so t must be left alone."""
    (a,) = inputs(device, (2, 3))
    t = a * 2
    out = t.reshape(3, 2) * (t + 1).reshape(3, 2)
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), (a.numpy() * 2).reshape(3, 2) * (a.numpy() * 2 + 1).reshape(3, 2), 1e-6)


def test_a_comparison_of_computed_floats_is_stored_as_bool(device):
    """The compare's sources are float values that die there: NUMPY must not write its bools into their memory."""
    (a,) = inputs(device, (5, 3))
    result = (a * 2 < a + 1).numpy()
    assert result.dtype == np.bool_ and np.array_equal(result, a.numpy() * 2 < a.numpy() + 1)


def test_a_cat_added_to_itself_counts_every_piece_each_time(device):
    """c + c is one kernel adding c's pieces, each of them read twice: NUMPY's shortcut for cat (each piece added where it
    lies) counted each once and gave c."""
    a, b = inputs(device, (2, 3), (2, 2))
    c = a.cat(b, dim=1)
    expected = np.concatenate([a.numpy(), b.numpy()], axis=1)
    assert_close((c + c).numpy(), 2 * expected, 1e-6)
    assert_close((c + c + c).numpy(), 3 * expected, 1e-6)
    assert_close((a.cat(a) + a.cat(a)).numpy(), 2 * np.concatenate([a.numpy(), a.numpy()]), 1e-6)


def test_padding_is_index_arithmetic(device):
    (a,) = inputs(device, (2, 3))
    out = a.pad(((1, 0), (2, 1))) * 3 + 1
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), np.pad(a.numpy(), ((1, 0), (2, 1))) * 3 + 1, 1e-6)


def test_relu_of_a_chain_is_one_kernel(device):
    """relu reads its input twice (compare and select); both reads are in one kernel, so the chain joins it."""
    (x,) = inputs(device, (64, 33))
    out = ((x * 2 + 1).exp().log() * x).relu()
    assert kernels_to_realize(out) == 1
    reference = x.numpy().astype(np.float64)
    assert_close(out.numpy(), np.maximum(np.log(np.exp(reference * 2 + 1)) * reference, 0), 1e-5, 1e-6)


def test_linear_with_bias_is_one_kernel(device):
    x, w, bias = inputs(device, (32, 48), (16, 48), (16,))
    out = x.linear(w, bias)
    assert kernels_to_realize(out) == 1
    assert_close(out.numpy(), x.numpy().astype(np.float64) @ w.numpy().T + bias.numpy(), 1e-5, 1e-5)


def test_nothing_runs_before_realize(device):
    x, y = inputs(device, (3, 4), (4, 3))
    GlobalCounters.reset()
    out = ((x @ y).relu().sum(axis=0) + x.T.sum()).exp()
    assert GlobalCounters.kernel_count == 0
    out.realize()
    assert GlobalCounters.kernel_count > 0


# ---- the CL runtime

@only_cl
def test_a_second_identical_run_compiles_nothing(device):
    def graph(x, y): return ((x * y + 1).sum(axis=1) / 7 + (x - y).T.max(axis=0)).numpy()
    x, y = inputs(device, (6, 10), (6, 10))
    first = graph(x, y)
    programs = len(Device["CL"].programs)
    x2, y2 = inputs(device, (6, 10), (6, 10))
    assert_close(graph(x2, y2), first, 0, 0)
    assert len(Device["CL"].programs) == programs


@only_cl
def test_results_reuse_freed_device_memory(device):
    (x,) = inputs(device, (1000,))
    first = (x * 2).realize()
    memory = first.lazydata.base.realized.mem
    del first
    assert (x * 3).realize().lazydata.base.realized.mem is memory


@pytest.mark.parametrize("shapes", [((32, 48), (48, 64)), ((2, 16, 32), (32, 20)), ((3, 8, 12), (3, 12, 16)), ((48,), (48, 32))],
                         ids=str)
def test_matmul_matches_numpy(device, shapes):
    """Covers the CL register-tiled path: batched, broadcast and vector-matrix products."""
    a, b = rand(*shapes[0], seed=1).astype(np.float32), rand(*shapes[1], seed=2).astype(np.float32)
    out = Tensor(a, device=device) @ Tensor(b, device=device)
    assert_close(out.numpy(), a.astype(np.float64) @ b, 1e-5, 1e-5)


def test_matmul_of_transposed_operands_and_its_gradients(device):
    a, b, upstream = [rand(*shape, seed=i).astype(np.float32) for i, shape in enumerate([(64, 32), (48, 64), (32, 48)])]
    ta, tb = Tensor(a, device=device, requires_grad=True), Tensor(b, device=device, requires_grad=True)
    out = ta.T @ tb.T
    (out * Tensor(upstream, device=device)).sum().backward()
    assert_close(out.numpy(), a.T.astype(np.float64) @ b.T, 1e-5, 1e-5)
    assert_close(ta.grad.numpy(), (upstream.astype(np.float64) @ b).T, 1e-5, 1e-5)
    assert_close(tb.grad.numpy(), (a.astype(np.float64) @ upstream).T, 1e-5, 1e-5)


# Graphs big enough for CL's vector paths (16 outputs per work-item, 16 reduce steps per iteration): contiguous,
# broadcast, strided, padded and reshaped-after-permute loads; bools, ints and halves in vectors; long and short reduces.
VECTOR_CASES = {
    "contiguous": lambda x, y, n: (x * y - 1).exp(),
    "broadcast_rows": lambda x, y, n: x - x.max(axis=1, keepdim=True),
    "broadcast_columns": lambda x, y, n: x * y[0:1, :],
    "strided_transpose": lambda x, y, n: x + y.T.T.permute(1, 0).T,
    "transpose_of_tall": lambda x, y, n: n.T * 2,
    "padded": lambda x, y, n: x[:, 1:-1].pad(((0, 0), (1, 1))) * y,
    "reshaped_permute": lambda x, y, n: x.reshape(6, 4, 8).permute(0, 2, 1).reshape(6, 32) + y,
    "compare_where": lambda x, y, n: (x < y).where(x, y * 2) + (x == x).cast(dtypes.float32),
    "int_arithmetic": lambda x, y, n: ((x * 10).cast(dtypes.int32) * 3 + 1).maximum((y * 5).cast(dtypes.int32)),
    "half_chain": lambda x, y, n: (x.half() * y.half() + 1).float(),
    "row_sum_of_expression": lambda x, y, n: (x * y).exp().sum(axis=1),
    "column_max": lambda x, y, n: (x + y).max(axis=0),
    "rows_of_another_length": lambda x, y, n: (x * y[:, :1]).reshape(8, 24).sum(axis=1),
    "long_row_softmax": lambda x, y, n: x.reshape(1, -1).softmax(),
    "cross_entropy": lambda x, y, n: x.cross_entropy(Tensor(np.arange(6, dtype=np.int32) * 5, device=x.device)),
}


@only_cl
@pytest.mark.parametrize("case", VECTOR_CASES)
def test_cl_vector_paths_match_numpy(device, case):
    arrays = [rand(*shape, seed=i).astype(np.float32) for i, shape in enumerate([(6, 32), (6, 32), (32, 5)])]
    results = [VECTOR_CASES[case](*[Tensor(a, device=d) for a in arrays]).numpy() for d in ("NUMPY", device)]
    assert results[1].dtype == results[0].dtype
    tolerance = 1e-5  # float16 ops round every result to half on both devices
    assert_close(results[1], results[0], tolerance, tolerance)


@only_cl
def test_float16_is_stored_as_half_and_each_op_rounds_to_half(device):
    values = np.array([0.1, -2.5, 3.14159, 65504.0, 6e-8], dtype=np.float16)
    x = Tensor(values, device=device)
    assert x.dtype == dtypes.float16 and np.array_equal(x.numpy(), values)
    small = Tensor(np.linspace(-3, 3, 40).astype(np.float16), device=device)
    out = (small * 2 + 1).exp().numpy()
    assert out.dtype == np.float16
    half = small.numpy()  # each op rounds its result to half, as NumPy's and PyTorch's float16 arithmetic does
    assert_close(out, np.exp((half * np.float16(2)) + np.float16(1)), 1e-3, 1e-3)  # exp itself may differ by an ulp
    assert_close(small.sum().numpy(), small.numpy().astype(np.float32).sum(), 1e-3, 1e-3)


@only_cl
def test_float64_without_the_extension_names_it(device, monkeypatch):
    backend = Device["CL"]
    monkeypatch.setattr(backend, "device", SimpleNamespace(name="a device without doubles", extensions="cl_khr_icd"))
    monkeypatch.setattr(backend, "programs", {})  # nothing compiled yet, as on that device
    monkeypatch.setattr(backend, "runners", {})
    with pytest.raises(RuntimeError, match="cl_khr_fp64"):
        (Tensor([1.0, 2.0], dtype=dtypes.float64, device=device) * 1.2345678).numpy()


@only_cl
def test_ops_on_tensors_of_two_devices_are_refused_naming_both(device):
    on_cl, on_numpy = Tensor([1.0, 2.0], device="CL"), Tensor([True, False], device="NUMPY")
    for combine in (lambda: on_cl + on_numpy.float(), lambda: on_numpy.where(on_cl, 0.0), lambda: on_cl.float().where(1.0, on_numpy.float())):
        with pytest.raises(RuntimeError, match="different devices.*CL.*NUMPY|different devices.*NUMPY.*CL"):
            combine()


@only_cl
def test_to_moves_tensors_both_ways(device):
    for dtype in (dtypes.float32, dtypes.float16, dtypes.float64, dtypes.int32, dtypes.bool):
        values = (rand(3, 5) * 10).astype(dtype.np)
        on_cl = Tensor(values, device="NUMPY").to("CL")
        assert on_cl.device == "CL" and on_cl.dtype == dtype
        back = (on_cl.permute(1, 0) if dtype == dtypes.bool else on_cl.permute(1, 0) + 0).to("NUMPY")
        assert back.device == "NUMPY" and back.dtype == dtype
        assert np.array_equal(back.numpy(), values.T)


@only_cl
def test_device_environment_variable_switches_the_default(device):
    printed = run_python("from minigrad import Device, Tensor\nprint(Device.DEFAULT, Tensor([1.0, 2.0]).device, (Tensor([1.0]) * 3).item())",
                         DEVICE="CL")
    assert printed.split() == ["CL", "CL", "3.0"]


@only_cl
def test_debug_3_prints_the_kernel_source(device):
    printed = run_python("from minigrad import Tensor\n(Tensor([1.0, 2.0], device='CL') * 41.5).numpy()", DEBUG="3")
    assert "__kernel" in printed and "41.5" in printed


def test_no_opencl_gives_one_error_that_says_how_to_install_it():
    code = ("from minigrad import Tensor\nassert Tensor([1.0]).numpy()[0] == 1.0  # NUMPY still works\n"
            "try: Tensor([1.0], device='CL').numpy()\nexcept RuntimeError as error: print(error)")
    for env in ({"PYOPENCL_CTX": "no-such-platform"}, {"OCL_ICD_VENDORS": "/no/such/folder", "PYOPENCL_CTX": ""}):
        message = run_python(code, **env)
        assert "pocl-opencl-icd" in message and "pyopencl" in message, message


def test_minigrad_imports_without_pyopencl():
    message = run_python("import sys\nsys.modules['pyopencl'] = None\nfrom minigrad import Tensor\nprint((Tensor([2.0]) * 2).item())\n"
                         "try: Tensor([1.0], device='CL')\nexcept RuntimeError as error: print(error)")
    assert message.startswith("4.0") and "pip install pyopencl" in message
