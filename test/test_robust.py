"""SPEC "Realizing from several threads is safe", grad mode per thread, and memory proportional to the work: cat and
stack need O(output) memory, accumulated gradients cost the memory and work of one."""
import threading
import tracemalloc
import numpy as np
import pytest
from minigrad import GlobalCounters, Tensor, nn


def run_threads(target, count=8):
    errors = []

    def guarded(i):
        try:
            target(i)
        except Exception as error:  # noqa: BLE001 - collected and reported below
            errors.append(error)
    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, f"{len(errors)} threads failed, first: {errors[0]!r}"


def test_threads_realizing_identical_graphs_get_the_right_values(device):
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected = ((data * 2 + data).sum(1) * 0.5).tolist()

    def work(_):
        for _ in range(30):
            x = Tensor(data, device=device)
            assert ((x * 2 + x).sum(1) * 0.5).tolist() == expected
    run_threads(work)


def test_an_index_check_runs_only_where_the_indexed_result_is_computed(device):
    """The range check of an index travels with the graph that reads it: a bad lookup built in one thread raises where its
    result is realized, in another thread too, and never in a realize that does not need it (an unrelated thread's)."""
    table = Tensor([1.0, 2.0, 3.0], device=device)
    bad = table[Tensor([5], device=device)]
    run_threads(lambda i: [(Tensor([1.0, 2.0], device=device) * i).realize() for _ in range(5)])  # a check consumed here failed them
    assert (Tensor([1.0], device=device) + 1).tolist() == [2.0]
    built = []
    worker = threading.Thread(target=lambda: built.append(table.cross_entropy(Tensor(7, device=device))))
    worker.start()
    worker.join()
    for result, words in ((bad, ("index 5", "size 3")), (built[0], ("class index 7", "3 classes"))):
        with pytest.raises(IndexError, match=".*".join(words)):
            result.numpy()


def test_two_checks_of_one_index_each_keep_their_error(device):
    """A gather's and a one_hot's checks of one index over one range are one flag: the first built keeps its error."""
    index = Tensor([[0], [5], [1]], device=device)
    picked = Tensor.zeros(3, 4, device=device).gather(1, index)
    index.one_hot(4)
    with pytest.raises(IndexError, match="index 5 is out of range for dim 1 of size 4"):
        picked.numpy()


def test_grad_mode_is_per_thread(device):
    inference_running = threading.Event()

    def work(i):
        if i % 2:
            with Tensor.no_grad():
                inference_running.set()
                for _ in range(50):
                    (Tensor([1.0, 2.0], device=device) * 3).realize()
        else:
            inference_running.wait(5)
            for _ in range(50):
                w = Tensor([1.0, 2.0], device=device, requires_grad=True)
                (w * w).sum().backward()
                assert w.grad.tolist() == [2.0, 4.0]
    run_threads(work, count=4)


def peak_bytes(make):
    """Peak traced memory while make() runs and realizes its result, and the result's size in bytes."""
    tracemalloc.start()
    try:
        result = make().realize()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, result.numel() * result.dtype.itemsize


def test_stack_of_many_rows_needs_memory_proportional_to_its_output():
    rows = [Tensor(np.full(784, float(i), np.float32)) for i in range(400)]
    peak, size = peak_bytes(lambda: Tensor.stack(rows))
    assert peak < 6 * size, f"stack of 400 rows peaked at {peak / size:.1f}x its output"
    assert Tensor.stack(rows)[123, :3].tolist() == [123.0] * 3


def test_cat_of_pieces_is_one_kernel_and_matches_numpy(device):
    pieces = [np.random.default_rng(i).standard_normal((2, i + 1, 3)).astype(np.float32) for i in range(13)]
    tensors = [Tensor(p, device=device).realize() for p in pieces]
    GlobalCounters.reset()
    joined = Tensor.cat(tensors, dim=1).realize()
    assert GlobalCounters.kernel_count == 1
    np.testing.assert_array_equal(joined.numpy(), np.concatenate(pieces, axis=1))


def test_numpy_adds_each_padded_piece_where_it_lies_without_padding_it():
    """On NUMPY a kernel that only adds padded pieces (cat's) adds each piece into the output where it lies: its memory is
    one output's, not one padded copy per piece. Overlapping pieces and a piece added twice sum as they would padded."""
    pieces = [Tensor(np.full((64, 9, 64), float(i), np.float32)).realize() for i in range(13)]
    peak, size = peak_bytes(lambda: Tensor.cat(pieces, dim=1))
    assert peak < 1.5 * size, f"cat of 13 pieces peaked at {peak / size:.1f}x its output"
    a, b = np.arange(1.0, 5.0, dtype=np.float32), np.arange(10.0, 13.0, dtype=np.float32)
    x, y = Tensor(a), Tensor(b)
    summed = x.pad(((1, 0),)) + x.pad(((1, 0),)) + y.pad(((0, 2),)) + x[1:].pad(((0, 2),))
    np.testing.assert_array_equal(summed.numpy(), 2 * np.pad(a, (1, 0)) + np.pad(b, (0, 2)) + np.pad(a[1:], (0, 2)))


def test_gradients_accumulated_without_zero_grad_cost_the_same_work_every_step(device):
    layer = nn.Linear(16, 16)
    layer.weight, layer.bias = (Tensor(p.numpy(), device=device, requires_grad=True) for p in (layer.weight, layer.bias))
    x = Tensor.ones(4, 16, device=device)
    work = []
    for _ in range(30):
        GlobalCounters.reset()
        layer(x).sum().backward()
        layer.weight.grad.realize()
        work.append(GlobalCounters.global_ops)
    assert len(set(work[5:])) == 1, f"work per step keeps changing: {work}"
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.full((16, 16), 30 * 4.0), rtol=1e-6)


def test_accumulating_micro_batches_holds_the_memory_of_one():
    layer = nn.Linear(256, 256)
    batches = [Tensor(np.full((64, 256), i / 100, np.float32)) for i in range(20)]

    def accumulate(count):
        layer.weight.grad = layer.bias.grad = None
        tracemalloc.start()
        try:
            for batch in batches[:count]:
                layer(batch).relu().sum().backward()
            layer.weight.grad.realize()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    one, many = accumulate(2), accumulate(20)
    assert many < 1.5 * one, f"20 micro-batches peaked at {many / one:.1f}x the memory of 2"


def test_bad_operands_expands_and_cats_raise_clear_errors():
    x = Tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match="cannot combine a Tensor with str"):
        x + "a"
    with pytest.raises(ValueError, match=r"cannot expand shape \(1, 2\) to \(3, 3\)"):
        x.expand(3, 3)
    with pytest.raises(ValueError, match="cat needs at least one tensor, each of at least 1 dim"):
        Tensor.cat(Tensor(1.0), Tensor(2.0))
    with pytest.raises(ValueError, match=r"cannot expand shape \(2,\) to \(-1, 2\).*new dims have none"):  # PyTorch refuses it too
        Tensor([1.0, 2.0]).expand(-1, 2)  # a new leading dim has no size to keep (it was read as 1)
    assert Tensor([1.0, 2.0]).expand(3, -1).shape == (3, 2)


def test_flatten_with_start_dim_after_end_dim_is_refused():
    x = Tensor.zeros(2, 3, 4)
    for start, end in ((1, 0), (-1, 0), (2, -2)):
        with pytest.raises(ValueError, match=f"start_dim {start} comes after end_dim {end}"):
            x.flatten(start, end)  # it gave a shape with a new dim of 1 (2, 1, 3, 4)
    assert x.flatten(1, 1).shape == (2, 3, 4) and x.flatten(-2, -1).shape == (2, 12)


def test_assign_refuses_another_shape_or_device_naming_both(device):
    x = Tensor([1.0, 2.0], device=device)
    with pytest.raises(ValueError, match=rf"assign of shape \(3,\) on {device} to a tensor of shape \(2,\) on {device}"):
        x.assign(Tensor([1.0, 2.0, 3.0], device=device))
    if device != "NUMPY":  # (NUMPY is always there; the other way round needs OpenCL)
        with pytest.raises(ValueError, match=f"assign of shape .* on NUMPY to a tensor of shape .* on {device}"):
            x.assign(Tensor([3.0, 4.0]))
    assert x.assign(Tensor([3.0, 4.0], device=device)).tolist() == [3.0, 4.0]
