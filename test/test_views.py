"""Views (SPEC "Movement"): random chains of movement ops against NumPy, forward and backward, and the promise that a
view never reads outside its buffer.

The property tests draw random chains of pad, shrink, reshape, permute, expand, flip, indexing (ints, slices with any
step, None, ...), cat, stack, repeat, roll, split, contiguous and an affine op (x * 2 + 1, which maps padding's 0 to
1, so padding added after it must still read 0) on small shapes, size-1 and size-0 dims included; three chains in ten
start with a permute and a reshape, so that later steps meet trackers of two views. NumPy runs the same
chain on an array of element numbers (0 marks padding): that array gives the expected values and, through np.add.at,
the exact gradient of sum(out * weights), since every step is linear. Values are distinct small integers, so float32
results must match exactly.
Every tracker a kernel reads through is checked by an independent index walker (buffer_indices): each position valid
under all masks must map inside its buffer. test_tracker_chains_map_like_numpy checks the ShapeTracker algebra alone
against the same walker.

Default run: 3,000 tracker chains, 2,000 Tensor chains on NUMPY (about 20 s together) and 50 on CL (each CL chain
compiles new kernels, about 0.3 s each on PoCL). MINIGRAD_LONG=1 runs ten times as many of each. A failure prints the
chain (input shape and steps) and the seed that rebuilds it: random_chain(seed, ...).
"""
import os, random
import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings, strategies as st
from minigrad import GlobalCounters, Tensor
from minigrad import schedule
from math import prod
from minigrad.ops import KernelOps, LoadOps
from minigrad.shapetracker import ShapeTracker, View
from helpers import assert_close

LONG = os.environ.get("MINIGRAD_LONG") == "1"
CHAINS = {"NUMPY": 2000, "CL": 30}
TRACKER_CHAINS = 3000
MAX_ELEMENTS = 200


# ---- the index walker: an independent reading of what a ShapeTracker means

def buffer_indices(tracker):
    """For every position of tracker.shape, row-major: the buffer index it reads and whether all masks let it read."""
    position = np.arange(prod(tracker.shape))
    valid = np.ones(position.shape, bool)
    for view in reversed(tracker.views):
        if not valid.any():
            break
        inside = np.where(valid, position, 0)
        assert (position[valid] < prod(view.shape)).all(), f"{tracker}: a valid position lies outside view {view}"
        coords = np.unravel_index(inside, view.shape) if view.shape else ()
        for coord, (lo, hi) in zip(coords, view.mask or [(0, size) for size in view.shape]):
            valid &= (coord >= lo) & (coord < hi)
        position = view.offset + sum((coord * stride for coord, stride in zip(coords, view.strides)), np.zeros_like(position))
    return np.where(valid, position, -1), valid


def assert_reads_inside(tracker, size):
    index, valid = buffer_indices(tracker)
    outside = valid & ((index < 0) | (index >= size))
    assert not outside.any(), f"{tracker} reads buffer index {index[outside][0]} of a buffer of {size} elements"


def loaded_trackers(item):
    """(tracker with its real offset, buffer size) for each LOAD of a scheduled kernel (the only op that reads memory)."""
    for op in item.kernel.ops:
        if op.op is KernelOps.LOAD:
            tracker = op.arg.st
            if op.arg.offset_slot is not None:
                first = tracker.views[0]
                first = View(first.shape, first.strides, first.offset + item.args[op.arg.offset_slot], first.mask)
                tracker = ShapeTracker((first,) + tracker.views[1:])
            yield tracker, prod(item.inputs[op.arg.index].shape)


@pytest.fixture
def read_guard(monkeypatch):
    """Check every LOAD of every kernel scheduled during the test; returns the list of (tracker, size) checked."""
    checked, original = [], schedule.create_schedule

    def guarded(outs):
        items = original(outs)
        for item in items:
            for tracker, size in loaded_trackers(item):
                assert_reads_inside(tracker, size)
                checked.append((tracker, size))
        return items

    monkeypatch.setattr(schedule, "create_schedule", guarded)
    return checked


# ---- random chains: each step is (kind, argument), applied alike to NumPy arrays, Tensors and ShapeTrackers

def random_reshape(pick, shape):
    numel = prod(shape)
    if numel == 0:
        dims = [pick.choice([0, 1, 2, 3]) for _ in range(pick.randint(0, 3))]
        dims.insert(pick.randint(0, len(dims)), 0)
        return tuple(dims)
    primes, rest, factor = [], numel, 2
    while rest > 1:
        while rest % factor == 0:
            primes.append(factor)
            rest //= factor
        factor += 1
    dims = [1] * pick.randint(0 if numel == 1 else 1, 3)
    for p in primes:
        dims[pick.randrange(len(dims))] *= p
    for _ in range(pick.randint(0, 2)):
        dims.insert(pick.randint(0, len(dims)), 1)
    return tuple(dims)


def random_expand(pick, shape, primitive):
    new = [pick.choice([0, 2, 3]) if size == 1 and pick.random() < 0.5 else size for size in shape]
    if not primitive:  # Tensor.expand also takes -1 (keep the size) and new leading dims
        new = [-1 if size == old and pick.random() < 0.3 else size for size, old in zip(new, shape)]
        new = [pick.choice([1, 2]) for _ in range(pick.randint(0, 2))] + new
    return tuple(new)


def random_index(pick, shape):
    items = []
    for size in shape:
        kind = pick.choice(["int", "slice", "all"] if size else ["slice", "all"])
        if kind == "int":
            items.append(pick.randint(-size, size - 1))
        elif kind == "slice":
            bound = lambda: pick.choice([None, pick.randint(-size - 1, size + 1)])
            items.append(slice(bound(), bound(), pick.choice([None, 1, 2, 3, -1, -2, -3])))
        else:
            items.append(slice(None))
        if pick.random() < 0.15:
            items.append(None)
    if items and pick.random() < 0.3:  # an ellipsis stands for the trailing dims (the Nones among them stay)
        cut = pick.randint(0, len(items))
        items = items[:cut] + [Ellipsis] + [i for i in items[cut:] if i is None]
    return tuple(items)


def random_step(pick, shape, primitive):
    """One op valid on `shape`: primitive steps only (what a ShapeTracker does itself), or any Tensor movement."""
    ndim = len(shape)
    kinds = ["pad", "shrink", "reshape", "permute", "expand", "flip"]
    if not primitive:
        kinds += ["index", "index", "stack", "contiguous", "affine", "repeat"] + (["cat", "roll", "split"] if ndim else [])
    kind = pick.choice(kinds)
    if kind == "pad":  # a size-1 dim is often left unpadded, so that an expand can follow the pad
        return kind, tuple((0, 0) if size == 1 and pick.random() < 0.5 else (pick.randint(0, 2), pick.randint(0, 2)) for size in shape)
    if kind == "shrink":
        return kind, tuple(tuple(sorted([pick.randint(0, size), pick.randint(0, size)])) for size in shape)
    if kind == "reshape":
        return kind, random_reshape(pick, shape)
    if kind == "permute":
        return kind, tuple(pick.sample(range(ndim), ndim))
    if kind == "expand":
        return kind, random_expand(pick, shape, primitive)
    if kind == "flip":
        return kind, tuple(pick.sample(range(ndim), pick.randint(0, ndim)))
    if kind == "index":
        return kind, random_index(pick, shape)
    if kind in ("cat", "stack"):
        dim = pick.randint(-ndim - (kind == "stack"), ndim - 1 + (kind == "stack"))
        flips = [pick.choice([None, pick.randrange(ndim)] if ndim else [None]) for _ in range(pick.randint(1, 3))]
        return kind, (dim, tuple(flips))
    if kind == "repeat":
        return kind, tuple(pick.randint(0, 2) for _ in range(ndim + pick.randint(0, 1)))
    if kind == "roll":
        dims = pick.choice([None, tuple(pick.sample(range(ndim), pick.randint(1, ndim)))])
        return kind, (pick.randint(-5, 5) if dims is None else tuple(pick.randint(-5, 5) for _ in dims), dims)
    if kind == "split":
        dim = pick.randrange(ndim)
        size = pick.randint(1, shape[dim] + 1)
        return kind, (size, dim, pick.randrange(max(1, -(-shape[dim] // size))))
    return kind, None


def numpy_step(array, kind, arg):
    if kind == "pad":
        return np.pad(array, arg) if arg else array
    if kind == "shrink":
        return array[tuple(slice(lo, hi) for lo, hi in arg)]
    if kind == "reshape":
        return array.reshape(arg)
    if kind == "permute":
        return array.transpose(arg)
    if kind == "expand":
        old = (1,) * (len(arg) - array.ndim) + array.shape
        return np.broadcast_to(array, tuple(o if n == -1 else n for o, n in zip(old, arg)))
    if kind == "flip":
        return np.flip(array, arg)
    if kind == "index":
        return np.asarray(array[arg])
    if kind in ("cat", "stack"):
        dim, flips = arg
        pieces = [array if axis is None else np.flip(array, axis) for axis in flips]
        return np.concatenate(pieces, dim) if kind == "cat" else np.stack(pieces, dim)
    if kind == "repeat":
        return np.tile(array, arg)
    if kind == "roll":
        return np.roll(array, *arg)
    if kind == "split":
        size, dim, piece = arg
        return array[(slice(None),) * dim + (slice(piece * size, (piece + 1) * size),)]
    return array  # contiguous, and affine (which moves no element)


def tensor_step(t, kind, arg):
    if kind == "pad":
        return t.pad(arg)
    if kind == "shrink":
        return t.shrink(arg)
    if kind == "reshape":
        return t.reshape(*arg)
    if kind == "permute":
        return t.permute(*arg)
    if kind == "expand":
        return t.expand(*arg)
    if kind == "flip":
        return t.flip(arg)
    if kind == "index":
        return t[arg]
    if kind in ("cat", "stack"):
        dim, flips = arg
        pieces = [t if axis is None else t.flip(axis) for axis in flips]
        return Tensor.cat(*pieces, dim=dim) if kind == "cat" else Tensor.stack(*pieces, dim=dim)
    if kind == "repeat":
        return t.repeat(*arg)
    if kind == "roll":
        return t.roll(*arg)
    if kind == "split":
        size, dim, piece = arg
        return t.split(size, dim)[piece]
    if kind == "affine":
        return t * 2 + 1
    return t.contiguous()


def tracker_pad(tracker, pads):
    """A pad as the library makes one: a shrink whose bounds reach past the edges."""
    return tracker.shrink(tuple((-before, size + after) for size, (before, after) in zip(tracker.shape, pads)))


def tracker_step(tracker, kind, arg):
    return tracker_pad(tracker, arg) if kind == "pad" else getattr(tracker, kind)(arg)


def random_chain(seed, primitive, max_steps):
    """(input shape, steps, element numbers after the chain): numbers count from 1, and 0 is padding."""
    pick = random.Random(seed)
    shape = tuple(pick.choice([1, 2, 3, 0, 4]) for _ in range(pick.randint(0, 4)))
    numbers = np.arange(1, prod(shape) + 1).reshape(shape)
    steps = []
    if len(shape) > 1 and pick.random() < 0.3:  # a permute, then a reshape: mostly two views, which every later step must handle
        steps = [("permute", tuple(reversed(range(len(shape))))), ("reshape", random_reshape(pick, shape[::-1]))]
        numbers = numpy_step(numpy_step(numbers, *steps[0]), *steps[1])
    for _ in range(pick.randint(1, max_steps)):
        kind, arg = random_step(pick, numbers.shape, primitive)
        result = numpy_step(numbers, kind, arg)
        if result.size <= MAX_ELEMENTS:
            steps.append((kind, arg))
            numbers = result
    return shape, steps, numbers


# ---- property tests

@settings(max_examples=TRACKER_CHAINS * (10 if LONG else 1), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1))
def test_tracker_chains_map_like_numpy(seed):
    """The algebra alone: the tracker maps each position to the element NumPy puts there, and padding to no read."""
    shape, steps, numbers = random_chain(seed, primitive=True, max_steps=6)
    note(f"input shape {shape}, steps {steps}")
    tracker = ShapeTracker.from_shape(shape)
    for kind, arg in steps:
        tracker = tracker_step(tracker, kind, arg)
    assert tracker.shape == numbers.shape
    index, valid = buffer_indices(tracker)
    expected = numbers.reshape(-1)
    assert (valid == (expected > 0)).all(), f"{tracker}: valid positions differ from NumPy's"
    assert (index[valid] == expected[valid] - 1).all(), f"{tracker}: reads the wrong elements"


def check_chain(seed, device):
    shape, steps, numbers = random_chain(seed, primitive=False, max_steps=5)
    note(f"input shape {shape}, steps {steps}")
    rng = np.random.default_rng(seed)
    values = rng.permutation(np.arange(1, prod(shape) + 1)).reshape(shape).astype(np.float32)  # distinct, exact
    x = Tensor(values, device=device, requires_grad=True)
    out, expected = x, values
    for kind, arg in steps:  # affine steps map padding's 0 to 1: padding added after them must still read 0
        out = tensor_step(out, kind, arg)
        expected = expected * 2 + 1 if kind == "affine" else numpy_step(expected, kind, arg)
    assert out.shape == numbers.shape
    assert_reads_inside(out.lazydata.st, prod(out.lazydata.base.shape))
    assert_close(out.numpy(), expected, 0, 0, msg="forward")
    weights = rng.integers(-3, 4, numbers.shape).astype(np.float32)
    (out * Tensor(weights, device=device)).sum().backward()
    grad = np.zeros(prod(shape) + 1, np.float32)
    np.add.at(grad, numbers.reshape(-1), weights.reshape(-1) * 2.0 ** sum(kind == "affine" for kind, _ in steps))
    assert x.grad is not None
    assert_close(x.grad.numpy(), grad[1:].reshape(shape), 0, 0, msg="gradient")


def test_view_chains_match_numpy(device, read_guard):
    """Random movement chains on a Tensor: values and gradients equal NumPy's exactly, and no kernel reads outside."""
    count = CHAINS[device] * (10 if LONG else 1)

    @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(seed=st.integers(0, 2**32 - 1))
    def run(seed):
        check_chain(seed, device)

    run()
    assert len(read_guard) > count, "the read guard saw no kernels"


# ---- the index walker can fail

def test_index_walker_flags_a_read_outside_the_buffer():
    inside = ShapeTracker((View((4,), (1,), 0),))
    assert_reads_inside(inside, 4)
    with pytest.raises(AssertionError, match="reads buffer index -1"):
        assert_reads_inside(ShapeTracker((View((4,), (1,), -1),)), 4)
    with pytest.raises(AssertionError, match="reads buffer index 3 of a buffer of 3"):
        assert_reads_inside(inside.flip((0,)), 3)
    padded = ShapeTracker((View((6,), (1,), -1, ((1, 5),)),))  # padding at both ends is never read
    assert_reads_inside(padded, 4)
    assert buffer_indices(padded)[0].tolist() == [-1, 0, 1, 2, 3, -1]


# ---- regressions: views over padding

def test_int_index_into_padding_reads_zero(device):
    padded = Tensor([5.0], device=device).pad(((1, 0),))
    assert padded[0].numpy() == 0.0 and padded[1].numpy() == 5.0
    assert padded[-2].item() == 0.0


def test_int_index_into_padding_reads_no_memory(device, read_guard):
    x = Tensor([1.0, 2.0, 3.0, 4.0], device=device)
    padded = x.pad(((1, 0),))
    assert padded[0].numpy() == 0.0
    assert padded[1].numpy() == 1.0 and padded[4].numpy() == 4.0
    assert_reads_inside(padded.shrink(((0, 1),)).lazydata.st, 4)
    assert [size for _, size in read_guard] == [4, 4], "reading the padding loaded memory"


def test_index_of_a_stack_gets_one_gradient(device):
    x = Tensor([1.0, 2.0, 3.0, 4.0], device=device, requires_grad=True)
    Tensor.stack(x, x, x)[0].sum().backward()
    assert_close(x.grad.numpy(), np.ones(4), 0, 0)
    y = Tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    (Tensor.stack(y, y * 2, dim=1)[:, 1] * Tensor([[1.0, 2.0], [3.0, 4.0]], device=device)).sum().backward()
    assert_close(y.grad.numpy(), [[2.0, 4.0], [6.0, 8.0]], 0, 0)


def test_expand_a_padded_size1_dim(device):
    values = np.array([[1.0], [2.0], [3.0]], np.float32)
    weights = np.arange(12, dtype=np.float32).reshape(3, 4)
    x = Tensor(values, device=device, requires_grad=True)
    padded = x.pad(((0, 0), (1, 0)))  # column 0 is padding, column 1 is x
    for column, expected in ((0, np.zeros((3, 4))), (1, np.broadcast_to(values, (3, 4)))):
        x.grad = None
        out = padded[:, column:column + 1].expand(3, 4)
        assert_close(out.numpy(), expected, 0, 0, msg=f"column {column}")
        (out * Tensor(weights, device=device)).sum().backward()
        assert_close(x.grad.numpy(), weights.sum(1, keepdims=True) * column, 0, 0, msg=f"gradient, column {column}")
    row = Tensor([7.0], device=device).pad(((2, 1),))  # a size-1 input padded, then each row expanded
    for i, value in enumerate([0.0, 0.0, 7.0, 0.0]):
        assert_close(row[i:i + 1].expand(5).numpy(), np.full(5, value), 0, 0, msg=f"row {i}")


def test_expand_of_a_padded_view_over_a_view_that_needs_two(device):
    """A permute then a flatten needs a second view; padding that masks the last view, then an expand of a size-1 dim,
    must repeat every row, not only the first copy (the mask of the last view, not the first, decides)."""
    a = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    x = Tensor(a, device=device, requires_grad=True)
    out = x.permute(1, 0).reshape(6).pad(((1, 1),)).reshape(8, 1).expand(8, 4)
    assert len(out.lazydata.st.views) > 1
    assert_close(out.numpy(), np.pad(a.T.reshape(6), (1, 1)).reshape(8, 1).repeat(4, 1), 0, 0)
    weights = np.arange(32, dtype=np.float32).reshape(8, 4)
    (out * Tensor(weights, device=device)).sum().backward()
    assert_close(x.grad.numpy(), weights.sum(1)[1:7].reshape(3, 2).T, 0, 0)
    tracker = ShapeTracker.from_shape((2, 3)).permute((1, 0)).reshape((6,))
    tracker = tracker_pad(tracker, ((1, 1),)).reshape((8, 1)).expand((8, 4))
    index, valid = buffer_indices(tracker)
    assert valid.reshape(8, 4)[1:7].all() and not valid.reshape(8, 4)[[0, 7]].any()


def test_a_size1_dim_is_not_an_expand():
    assert not ShapeTracker.from_shape((1, 4)).expands
    assert not ShapeTracker.from_shape((4,)).reshape((1, 4, 1)).expands
    assert not ShapeTracker.from_shape((1, 3)).shrink(((-1, 2), (0, 3))).expands, "a padded size-1 dim reads its row once"
    assert not ShapeTracker.from_shape((1, 3)).shrink(((-1, 1), (0, 3))).shrink(((0, 1), (0, 3))).expand((5, 3)).expands
    assert ShapeTracker.from_shape((1, 4)).expand((3, 4)).expands
    assert ShapeTracker.from_shape((1, 3)).expand((2, 3)).shrink(((-1, 2), (0, 3))).expands  # padded


def test_a_size1_dim_view_of_a_computed_tensor_fuses():
    a, b, c = (Tensor(np.arange(4, dtype=np.float32) + i).realize() for i in range(3))
    GlobalCounters.reset()
    out = ((a + b).reshape(1, 4) * c.reshape(1, 4)).realize()
    assert GlobalCounters.kernel_count == 1
    assert_close(out.numpy(), ((np.arange(4) * 2 + 1) * (np.arange(4) + 2)).reshape(1, 4), 0, 0)
    GlobalCounters.reset()
    out = ((a + b).reshape(1, 4).pad(((1, 1), (0, 0))) * c).sum(0).realize()  # a reduce kernel inlines no expand
    assert GlobalCounters.kernel_count == 1, "a padded size-1 dim was taken for an expand"
    assert_close(out.numpy(), (np.arange(4) * 2 + 1) * (np.arange(4) + 2), 0, 0)


@pytest.mark.parametrize("shape", [(3, 2), (6,), (1, 6, 1), (2, 1, 3), (3, 1, 2)])
def test_reshape_of_a_fully_padded_region(device, shape):
    x = Tensor(np.arange(1, 7, dtype=np.float32).reshape(2, 3), device=device, requires_grad=True)
    region = x.pad(((2, 1), (0, 0)))[:2]  # rows 0 and 1 are padding
    out = region.reshape(*shape)
    assert_close(out.numpy(), np.zeros(shape), 0, 0)
    (out * Tensor(np.ones(shape, np.float32), device=device)).sum().backward()
    assert_close(x.grad.numpy(), np.zeros((2, 3)), 0, 0)


def test_index_of_a_fully_padded_region(device):
    x = Tensor(np.arange(1, 7, dtype=np.float32).reshape(2, 3), device=device, requires_grad=True)
    padded = x.pad(((1, 1), (2, 0)))  # (4, 5): row 0, row 3 and columns 0-1 are padding
    picks = [padded[0], padded[3, 1:], padded[1:3, 0], padded[2, 1], padded[0, 4], padded[:, :2][1:, 1], padded[::-3, ::2][1]]
    expected = [np.zeros(5), np.zeros(4), np.zeros(2), 0.0, 0.0, np.zeros(3), np.zeros(3)]
    loss = None
    for i, (pick, want) in enumerate(zip(picks, expected)):
        assert_close(pick.numpy(), np.asarray(want, np.float64), 0, 0, msg=f"pick {i}")
        loss = pick.sum() if loss is None else loss + pick.sum()
    (loss + padded[2, 4] * 3).backward()  # one real element, to check the gradient lands on it alone
    assert_close(x.grad.numpy(), [[0, 0, 0], [0, 0, 3]], 0, 0)


def test_padding_of_an_empty_tensor_reads_zero(device):
    x = Tensor(np.zeros((0, 3), np.float32), device=device, requires_grad=True)
    out = x.pad(((1, 1), (0, 1)))
    assert_close(out.numpy(), np.zeros((2, 4)), 0, 0)
    assert_close(out.reshape(8)[3:].numpy(), np.zeros(5), 0, 0)
    (out * 2).sum().backward()
    assert x.grad.shape == (0, 3)


def test_exp_then_pad_reads_zero_in_the_padding(device):
    values = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]], np.float32)
    x = Tensor(values, device=device, requires_grad=True)
    out = x.exp().pad(((1, 0), (2, 1)))
    expected = np.pad(np.exp(values.astype(np.float64)), ((1, 0), (2, 1)))
    assert_close(out.numpy(), expected, 1e-6, 0)
    assert_close((x + 1).pad(((0, 1), (1, 0))).reshape(-1).numpy(), np.pad(values + 1.0, ((0, 1), (1, 0))).reshape(-1), 0, 0)
    assert_close(Tensor.cat(x.exp(), (x * 0 + 3), dim=1).numpy(), np.concatenate([np.exp(values), np.full((2, 3), 3.0)], 1), 1e-6, 0)
    weights = np.arange(18, dtype=np.float32).reshape(3, 6)
    (out * Tensor(weights, device=device)).sum().backward()
    assert_close(x.grad.numpy(), np.exp(values.astype(np.float64)) * weights[1:, 2:5], 1e-6, 0)


def test_fully_padded_view_is_a_constant():
    x = Tensor([1.0, 2.0, 3.0])
    assert x.pad(((2, 0),))[:2].lazydata.base.op is LoadOps.CONST
    assert x.pad(((0, 1),))[3].lazydata.base.op is LoadOps.CONST
    assert x.pad(((0, 1),))[2].lazydata.base is x.lazydata.base
    tracker = tracker_pad(ShapeTracker.from_shape((4,)), ((1, 0),)).shrink(((0, 1),))
    assert tracker.views == (View((1,), (0,), 0, ((0, 0),)),), "all padding: no offset or stride points anywhere"
    assert tracker.reshape(()).all_padding and not buffer_indices(tracker.reshape(()))[1].any()


def test_masks_survive_reshapes_in_one_view():
    padded = tracker_pad(ShapeTracker.from_shape((2, 3)), ((1, 1), (0, 0)))
    assert padded.reshape((12,)).views == (View((12,), (1,), -3, ((3, 9),)),), "rows of padding merge into one range"
    assert padded.reshape((4, 1, 3)).views == (View((4, 1, 3), (3, 0, 1), -3, ((1, 3), (0, 1), (0, 3))),)
    split = padded.reshape((2, 6))  # rows 1-2 of 4 are not whole rows of 2 x 6: a second view
    assert len(split.views) == 2 and split.masked
    for tracker in (padded.reshape((12,)), padded.reshape((4, 1, 3)), split, split.reshape((3, 4)).permute((1, 0))):
        index, valid = buffer_indices(tracker)
        assert sorted(index[valid]) == list(range(6))
