"""SPEC "Devices, laziness, debugging": nothing computes before a value is needed; GlobalCounters count kernels."""
import gc
import pytest
import numpy as np
from minigrad import GlobalCounters, Tensor
from helpers import assert_close, rand

VALUES = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)


def test_nothing_computes_before_a_value_is_needed(device):
    x = Tensor(VALUES, device=device).realize()
    y = Tensor(VALUES[::-1].copy(), device=device).realize()
    GlobalCounters.reset()
    out = ((x * y + 1).exp().sum(axis=1) / 3).reshape(3, 1).relu()
    assert GlobalCounters.kernel_count == 0
    result = out.numpy()
    assert GlobalCounters.kernel_count > 0
    expected = np.maximum((np.exp(VALUES * VALUES[::-1] + 1).sum(axis=1) / 3).reshape(3, 1), 0)
    assert_close(result, expected, 1e-5)


def test_backward_is_lazy(device):
    x = Tensor(VALUES, device=device, requires_grad=True).realize()
    loss = (x * x).exp().sum()
    GlobalCounters.reset()
    loss.backward()
    assert GlobalCounters.kernel_count == 0
    grad = x.grad.numpy()
    assert GlobalCounters.kernel_count > 0
    assert_close(grad, 2 * VALUES * np.exp(VALUES * VALUES), 1e-5)


def test_reading_a_computed_tensor_again_computes_nothing(device):
    """numpy(), tolist() and item() realize the tensor itself, so a second read (or a later use) finds it computed."""
    x = Tensor(VALUES, device=device).realize()
    y = (x * 2).exp()
    GlobalCounters.reset()
    first = y.numpy()
    assert GlobalCounters.kernel_count == 1
    assert_close(y.numpy(), first, 0, 0)
    assert y.tolist() == first.tolist() and GlobalCounters.kernel_count == 1
    assert_close((y + 1).numpy(), first + 1, 0, 0)
    assert GlobalCounters.kernel_count == 2, "y was computed again"


def test_reset_zeroes_the_counters(device):
    (Tensor(VALUES, device=device) * 2).numpy()
    GlobalCounters.reset()
    assert GlobalCounters.kernel_count == 0 and GlobalCounters.global_ops == 0 and GlobalCounters.global_mem == 0
    assert GlobalCounters.time_sum_s == 0


def test_identical_subgraphs_are_computed_once(device):
    x = Tensor(VALUES, device=device).realize()
    GlobalCounters.reset()
    separate = (x.exp() + x.exp()).numpy()
    kernels_for_separate = GlobalCounters.kernel_count
    assert_close(separate, 2 * np.exp(VALUES), 1e-6)

    x = Tensor(VALUES, device=device).realize()
    GlobalCounters.reset()
    shared = x.exp()
    (shared + shared).numpy()
    kernels_for_shared = GlobalCounters.kernel_count
    assert kernels_for_shared > 0
    assert kernels_for_separate <= kernels_for_shared


def test_realized_tensors_forget_their_graph(device):
    """A realized tensor keeps its value, not the graph that made it, so a training loop's memory stays flat."""
    w = Tensor(rand(8, 8), device=device, requires_grad=True)
    x = Tensor(rand(4, 8, seed=1), device=device)

    def step():
        (x @ w).relu().sum().backward()
        with Tensor.no_grad():
            w.assign(w - 0.01 * w.grad)
        w.grad = None
        w.realize()

    def live_nodes():
        gc.collect()
        return sum(type(o).__name__ == "LazyBuffer" for o in gc.get_objects())

    for _ in range(5):
        step()
    before = live_nodes()
    for _ in range(20):
        step()
    assert live_nodes() <= before + 5, f"{live_nodes() - before} graph nodes more after 20 steps"


def test_gathers_and_class_targets_read_nothing_on_the_host_while_building(device, monkeypatch):
    """Index checks run with the next realize: building embeddings, gathers, one_hot and a class-index cross-entropy
    (and its backward) computes nothing; the realize still raises for an index out of range."""
    table = Tensor(np.arange(20, dtype=np.float32).reshape(5, 4), device=device, requires_grad=True).realize()
    rows, classes = Tensor([[0, 4], [2, 1]], device=device).realize(), Tensor([3, 0], device=device).realize()
    import minigrad.lazy
    reads = []
    monkeypatch.setattr(minigrad.lazy.LazyBuffer, "numpy", lambda self: reads.append(self) or np.zeros(self.shape, self.dtype.np))
    GlobalCounters.reset()
    loss = table[rows].sum(1).cross_entropy(classes) + table.gather(0, rows).sum() + classes.one_hot(4).sum()
    loss.backward()
    assert GlobalCounters.kernel_count == 0 and not reads
    monkeypatch.undo()
    assert np.isfinite(loss.item()) and table.grad.shape == (5, 4)
    with pytest.raises(IndexError, match="class index 7"):
        table[rows].sum(1).cross_entropy(Tensor([7, 0], device=device)).numpy()
