"""SPEC "TinyJit": later calls replay the captured kernels, bit for bit what the plain call gives; optimiser steps
train; randomness is drawn anew; a new input shape starts over; an lr set between calls is honoured."""
import collections
import numpy as np
import pytest
from minigrad import GlobalCounters, Tensor, TinyJit, nn
from minigrad.nn import optim

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 8, 5)).astype(np.float32)
Y = RNG.integers(0, 3, (6, 8)).astype(np.int32)


def train(device, jit, make_optimizer, steps=6, schedule=False, dropout=0.0):
    """Losses and final weights of a small MLP trained on the batches of X, plainly or through TinyJit."""
    Tensor.manual_seed(1)
    first, second = nn.Linear(5, 7), nn.Linear(7, 3)
    for layer in (first, second):
        layer.weight, layer.bias = (Tensor(p.numpy(), device=device, requires_grad=True) for p in (layer.weight, layer.bias))
    params = [first.weight, first.bias, second.weight, second.bias]
    opt = make_optimizer(params)

    def step(x, y):
        opt.zero_grad()
        loss = second(first(x).relu().dropout(dropout)).cross_entropy(y)
        loss.backward()
        opt.step()
        return loss

    step = TinyJit(step) if jit else step
    losses = []
    with Tensor.train():
        for i in range(steps):
            if schedule:
                opt.lr = 0.1 / (1 + i)
            losses.append(step(Tensor(X[i % 2], device=device), Tensor(Y[i % 2], device=device)).item())
    return losses, [p.numpy() for p in params]


OPTIMIZERS = {"SGD": lambda p: optim.SGD(p, lr=0.1, momentum=0.9), "AdamW": lambda p: optim.AdamW(p, lr=0.05)}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_replayed_steps_are_bit_for_bit_the_plain_steps(device, name):
    plain, jitted = train(device, False, OPTIMIZERS[name]), train(device, True, OPTIMIZERS[name])
    assert plain[0] == jitted[0]
    for a, b in zip(plain[1], jitted[1]):
        np.testing.assert_array_equal(a, b)
    assert plain[0][-2] < plain[0][0]  # and it trains (on two alternating batches)


def test_an_lr_schedule_is_honoured_by_replays(device):
    plain, jitted = (train(device, jit, OPTIMIZERS["AdamW"], schedule=True) for jit in (False, True))
    fixed = train(device, True, OPTIMIZERS["AdamW"])
    assert plain[0] == jitted[0] and plain[0] != fixed[0]


def test_dropout_draws_a_fresh_mask_on_every_replay(device):
    plain, jitted = (train(device, jit, OPTIMIZERS["SGD"], dropout=0.5) for jit in (False, True))
    assert plain[0] == jitted[0]


def test_replays_draw_new_random_numbers_each_call(device):
    noise = TinyJit(lambda x: (x + Tensor.rand(4, device=device)).realize())
    draws = [noise(Tensor.zeros(4, device=device).contiguous()).numpy() for _ in range(4)]
    assert all(not np.array_equal(draws[i], draws[j]) for i in range(4) for j in range(i))


def test_replays_run_the_captured_kernels_without_scheduling(device, monkeypatch):
    double = TinyJit(lambda x: (x * 2 + 1).realize())
    for value in (1.0, 2.0):
        double(Tensor([value], device=device))
    import minigrad.schedule as schedule
    monkeypatch.setattr(schedule, "create_schedule", lambda outs: pytest.fail("a replay scheduled"))
    GlobalCounters.reset()
    assert double(Tensor([5.0], device=device)).numpy().tolist() == [11.0]
    assert GlobalCounters.kernel_count == 1


def test_a_new_input_shape_starts_over(device):
    calls = []

    def total(x):
        calls.append(x.shape)
        return x.sum().realize()
    total = TinyJit(total)
    results = [total(Tensor(np.full(n, 1.0, np.float32), device=device)).item() for n in (3, 3, 3, 5, 5, 5, 3)]
    assert results == [3, 3, 3, 5, 5, 5, 3]
    assert calls == [(3,), (3,), (5,), (5,), (3,)]  # plain call, capture, then replays that run no Python


def test_returned_tensors_of_different_replays_do_not_share_memory(device):
    double = TinyJit(lambda x: (x * 2).realize())
    results = [double(Tensor([float(i)], device=device)) for i in range(5)]
    assert [r.item() for r in results] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_a_tensor_changed_after_the_capture_is_read_at_its_new_value(device):
    norm = nn.LayerNorm(4)
    total = TinyJit(lambda x: norm(x).sum().realize())
    x = Tensor(np.arange(12, dtype=np.float32).reshape(3, 4), device=device)
    norm.weight, norm.bias = Tensor.ones(4, device=device), Tensor.zeros(4, device=device)  # constants, never assigned
    for _ in range(3):
        total(x)
    with Tensor.no_grad():
        norm.bias.assign(norm.bias + 1)
    assert [round(total(x).item(), 4) for _ in range(3)] == [12.0] * 3


def test_in_place_ops_on_temporaries_inside_do_not_stop_replays(device):
    calls = []

    def shifted(x):
        calls.append(x.shape)
        y = x * 2
        y += 1
        return y.realize()
    shifted = TinyJit(shifted)
    assert [shifted(Tensor([float(i)], device=device)).item() for i in range(5)] == [1.0, 3.0, 5.0, 7.0, 9.0]
    assert len(calls) == 2  # a plain call and the capture; the rest are replays


def test_in_place_ops_on_arguments_inside_are_replayed_on_the_new_arguments(device):
    """An argument changed in place (x /= 255, a common first line) is still the argument: replays read each call's."""
    def scaled(x):
        x /= 255
        return x.sum()

    def shifted(x):
        x += 1
        return x * 2
    scaled, shifted = TinyJit(scaled), TinyJit(shifted)
    assert [scaled(Tensor([255.0 * i], device=device)).item() for i in range(1, 6)] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [shifted(Tensor([float(i)], device=device)).item() for i in range(5)] == [2.0, 4.0, 6.0, 8.0, 10.0]


def test_a_new_python_argument_or_mode_starts_over(device):
    """Python values and Tensor.training are frozen in the captured kernels: a new one captures again instead of
    replaying stale kernels."""
    scaled = TinyJit(lambda x, factor: (x.dropout(0.5) * factor).realize())
    x = Tensor.ones(64, device=device).contiguous().realize()
    assert [scaled(x, factor).sum().item() for factor in (1.0, 1.0, 1.0, 3.0, 3.0, 3.0)][3:] == [192.0] * 3
    with Tensor.train():
        kept = [scaled(x, 1.0).numpy() for _ in range(3)]
    assert all(set(np.unique(k)) <= {0.0, 2.0} and 0 < k.sum() < 128 for k in kept)
    assert [scaled(x, 1.0).sum().item() for _ in range(3)] == [64.0] * 3  # out of training mode: no dropout again


def test_a_parameter_frozen_or_unfrozen_between_calls_is_treated_as_the_plain_call_treats_it(device):
    """requires_grad decides what backward and the optimiser update: a change captures again (a replay updated a frozen
    parameter as if it still required grad)."""
    results = []
    for jit in (False, True):
        w, b = Tensor([1.0, 2.0], device=device, requires_grad=True), Tensor([0.5], device=device, requires_grad=True)
        opt = optim.SGD([w, b], lr=0.1)

        def step(x):
            opt.zero_grad()
            (x * w + b).square().sum().backward()
            opt.step()
        step = TinyJit(step) if jit else step
        history = []
        for i in range(12):
            if i in (4, 8): w.requires_grad = i == 8
            step(Tensor([1.0, -1.0], device=device))
            history.append(w.tolist() + b.tolist())
        results.append(history)
    assert results[0] == results[1] and step.plan is not None and step.calls == 4  # (the last two calls were replays)
    assert results[0][3][:2] == results[0][7][:2] != results[0][8][:2]  # frozen: w stays; unfrozen: it moves again


def test_a_dict_of_results_is_replayed(device):
    shifted = TinyJit(lambda x: {"y": (x + 1).realize(), "scale": 2})
    results = [shifted(Tensor([float(i)], device=device)) for i in range(4)]
    assert [r["y"].item() for r in results] == [1.0, 2.0, 3.0, 4.0] and results[-1]["scale"] == 2


def test_a_state_tensor_changed_lazily_between_calls_is_read_at_its_new_value(device):
    weight = Tensor([1.0, 2.0], device=device)
    weight.assign(weight * 1)  # state: assigned before the capture
    dot = TinyJit(lambda x: (x * weight).sum().realize())
    x = Tensor([1.0, 1.0], device=device)
    assert [dot(x).item() for _ in range(3)] == [3.0] * 3
    with Tensor.no_grad():
        weight += 1  # lazy, and not this tensor's first assign: the next replay computes it first
    assert [dot(x).item() for _ in range(2)] == [5.0] * 2


def test_tensors_nested_in_arguments_and_results_are_replayed_with_their_new_values(device):
    # in a namedtuple in a list, in a dict, given as keywords in either order, and returned two levels deep
    Pair = collections.namedtuple("Pair", "left right")
    step = TinyJit(lambda pairs, scale, shift: [pairs[0].left * scale["by"] - shift, [pairs[0].right * 3]])
    for i in range(4):
        x = float(i)
        args = ([Pair(Tensor([x], device=device), Tensor([x + 1], device=device))], {"by": Tensor([2.0], device=device)})
        kwargs = {"shift": Tensor([x / 2], device=device)}
        first, (second,) = step(*args, **kwargs) if i % 2 else step(args[0], shift=kwargs["shift"], scale=args[1])
        assert (first.item(), second.item()) == (2 * x - x / 2, 3 * (x + 1))


def test_a_numpy_argument_is_compared_whole_not_by_its_shortened_repr(device):
    add_sum = TinyJit(lambda x, array: x + Tensor(array, device=device).sum())
    for i in range(4):
        array = np.zeros(2000, np.float32)
        array[1000] = i + 0.1  # repr() shows neither the middle of a long array nor all of a float's digits
        assert add_sum(Tensor([0.0], device=device), array).item() == pytest.approx(i + 0.1)


def test_which_argument_is_a_tensor_is_part_of_what_a_replay_must_match(device):
    pick = TinyJit(lambda a, b: a * 2 if b is None else b * 3)
    one = Tensor([1.0], device=device)
    assert [pick(one, None).item() for _ in range(3)] + [pick(None, one).item() for _ in range(3)] == [2.0] * 3 + [3.0] * 3


def test_one_tensor_in_two_argument_slots_during_the_capture_is_not_replayed_for_two_tensors(device):
    """Captured with the same memory in both slots (one tensor twice, or two equal zeros made alike), the kernels read one
    buffer for both: calls whose arguments don't alias the same way start over."""
    combine = TinyJit(lambda h, c: h * 10 + c)
    x = Tensor([1.0, 2.0], device=device)
    assert [combine(x, x).tolist() for _ in range(3)] == [[11.0, 22.0]] * 3
    assert combine(Tensor([1.0, 2.0], device=device), Tensor([5.0, 7.0], device=device)).tolist() == [15.0, 27.0]
    for _ in range(3): combine(Tensor.zeros(1, device=device), Tensor.zeros(1, device=device))
    assert combine(Tensor([4.0], device=device), Tensor([8.0], device=device)).item() == 48.0
    assert combine(x, x).tolist() == [11.0, 22.0]


def test_a_tinyjit_inside_another_is_replayed_by_the_outer_one(device):
    """The outer capture records the inner function's kernels and random draws too, whether the inner TinyJit captures
    inside it or already replays on its own (it is then captured again); both stay bit for bit the plain functions."""
    def inner_fn(x): return (x * 3 + Tensor.rand(3, device=device)).exp()
    def outer_fn(x, inner): return inner(x * 2) - 1
    for warm_inner_first in (False, True):
        inner = TinyJit(inner_fn)
        if warm_inner_first:
            for i in range(3): inner(Tensor.full((3,), float(i), device=device))
        outer = TinyJit(lambda x: outer_fn(x, inner))
        for i in range(5):
            value = np.full(3, 0.1 * i, np.float32)
            Tensor.manual_seed(i)
            expected = outer_fn(Tensor(value, device=device), inner_fn).numpy()
            Tensor.manual_seed(i)
            np.testing.assert_array_equal(outer(Tensor(value, device=device)).numpy(), expected, err_msg=f"call {i}")
        Tensor.manual_seed(9)
        expected = inner_fn(Tensor.ones(3, device=device)).numpy()
        Tensor.manual_seed(9)
        np.testing.assert_array_equal(inner(Tensor.ones(3, device=device)).numpy(), expected, err_msg="the inner one alone after")
