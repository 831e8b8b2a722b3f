"""SPEC "nn", optimisers: SGD, Adam and AdamW against their PyTorch update rules written out in NumPy, step by step."""
import numpy as np
import pytest
from minigrad import GlobalCounters, Tensor
from minigrad.nn import optim
from helpers import assert_close, rand

STEPS = 5
START = [rand(3, 4, seed=1), rand(4, seed=2)]
SCALE = [rand(3, 4, low=0.5, high=2.0, seed=3), rand(4, low=0.5, high=2.0, seed=4)]
SHIFT = [rand(3, 4, seed=5), rand(4, seed=6)]


def loss_of(params):
    """sum(SCALE * p**2 + SHIFT * p) over both parameters, whose gradient is 2 * SCALE * p + SHIFT."""
    return sum((p * p * Tensor(s, device=p.device) + p * Tensor(c, device=p.device)).sum() for p, s, c in zip(params, SCALE, SHIFT))


def gradient_of(values):
    return [2 * s * v + c for v, s, c in zip(values, SCALE, SHIFT)]


def run_minigrad(make_optimizer, device, steps=STEPS):
    params = [Tensor(v.astype(np.float32), device=device, requires_grad=True) for v in START]
    optimizer = make_optimizer(params)
    for _ in range(steps):
        optimizer.zero_grad()
        loss_of(params).backward()
        optimizer.step()
    return [p.numpy() for p in params]


def sgd_ref(lr, momentum=0.0, weight_decay=0.0, nesterov=False, steps=STEPS):
    values, buffers = [v.copy() for v in START], [None, None]
    for _ in range(steps):
        for i, grad in enumerate(gradient_of(values)):
            grad = grad + weight_decay * values[i]
            if momentum:
                buffers[i] = grad.copy() if buffers[i] is None else momentum * buffers[i] + grad
                grad = grad + momentum * buffers[i] if nesterov else buffers[i]
            values[i] = values[i] - lr * grad
    return values


def adam_ref(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, steps=STEPS):
    values = [v.copy() for v in START]
    m, v = [np.zeros_like(x) for x in values], [np.zeros_like(x) for x in values]
    for t in range(1, steps + 1):
        for i, grad in enumerate(gradient_of(values)):
            values[i] = values[i] * (1 - lr * weight_decay)
            m[i] = b1 * m[i] + (1 - b1) * grad
            v[i] = b2 * v[i] + (1 - b2) * grad ** 2
            m_hat, v_hat = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            values[i] = values[i] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return values


def assert_all_close(got, expected):
    for i, (g, e) in enumerate(zip(got, expected)):
        assert_close(g, e, rtol=1e-5, atol=1e-6, msg=f"parameter {i}")


@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}, {"weight_decay": 0.1},
                                    {"momentum": 0.5, "weight_decay": 0.1, "nesterov": True}], ids=str)
def test_sgd_matches_pytorch_update(device, kwargs):
    assert_all_close(run_minigrad(lambda params: optim.SGD(params, lr=0.05, **kwargs), device), sgd_ref(0.05, **kwargs))


def test_sgd_nesterov_without_momentum_raises():
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD([Tensor([1.0], requires_grad=True)], lr=0.1, nesterov=True)


@pytest.mark.parametrize("kwargs", [{}, {"b1": 0.5, "b2": 0.9, "eps": 1e-3}], ids=str)
def test_adam_matches_pytorch_update(device, kwargs):
    assert_all_close(run_minigrad(lambda params: optim.Adam(params, lr=0.1, **kwargs), device), adam_ref(0.1, **kwargs))


@pytest.mark.parametrize("weight_decay", [0.01, 0.5])
def test_adamw_decays_weights_decoupled(device, weight_decay):
    got = run_minigrad(lambda params: optim.AdamW(params, lr=0.1, weight_decay=weight_decay), device)
    assert_all_close(got, adam_ref(0.1, weight_decay=weight_decay))


def test_adamw_default_weight_decay_is_0_01(device):
    assert_all_close(run_minigrad(lambda params: optim.AdamW(params, lr=0.1), device), adam_ref(0.1, weight_decay=0.01))


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9), lambda p: optim.AdamW(p)], ids=["SGD", "AdamW"])
def test_step_realizes_everything_in_one_call_and_builds_no_graph(monkeypatch, make):
    params = [Tensor(v, requires_grad=True) for v in START]
    optimizer = make(params)
    calls = []
    original = Tensor.realize
    monkeypatch.setattr(Tensor, "realize", lambda self, *others: calls.append(1 + len(others)) or original(self, *others))
    for _ in range(3):
        optimizer.zero_grad()
        loss_of(params).backward()
        optimizer.step()
    # one realize per step, holding both parameters and (from the second step of SGD on) their state
    assert len(calls) == 3 and all(count >= 4 for count in calls[1:])
    assert all(p._ctx is None and p.requires_grad for p in params)


def test_step_computes_the_loss_so_reading_it_after_runs_no_kernel(device):
    """loss.backward(); opt.step(); loss.item(): the loss is realized with the step, from the kernels it shares with the
    gradients, so the forward pass is never run a second time."""
    params = [Tensor(v, device=device, requires_grad=True) for v in START]
    optimizer = optim.SGD(params, lr=0.1)
    loss = loss_of(params)
    expected = sum((s * v * v + c * v).sum() for v, s, c in zip(START, SCALE, SHIFT))
    loss.backward()
    optimizer.step()
    GlobalCounters.reset()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert GlobalCounters.kernel_count == 0


def test_a_step_computes_only_the_losses_that_reached_its_parameters(device):
    """Another model's loss (another thread's, say) is neither computed nor checked by this optimiser's step: a bad index
    there made this step raise its IndexError, after updating this model."""
    model_a, model_b = (Tensor(np.ones(4, np.float32), device=device, requires_grad=True) for _ in range(2))
    optimizer_a = optim.SGD([model_a], lr=0.1)
    loss_b = model_b[Tensor([9], device=device)].sum()
    loss_b.backward()
    loss_a = model_a[Tensor([1], device=device)].sum()
    loss_a.backward()
    optimizer_a.step()
    assert model_a.tolist() == pytest.approx([1.0, 0.9, 1.0, 1.0]) and loss_a.item() == 1.0
    with pytest.raises(IndexError, match="index 9"):
        loss_b.item()


@pytest.mark.parametrize("shape", [(5,), (3, 4)])
def test_a_sum_loss_read_after_the_step_runs_no_kernel_either(device, shape):
    """A loss whose last op is a sum is a reshape of the reduce's (1,) or (1, 1) result: read, it needs no copy kernel."""
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    param = Tensor(values, device=device, requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1)
    loss = (param * param).sum()
    loss.backward()
    optimizer.step()
    GlobalCounters.reset()
    assert loss.item() == (values.astype(np.float64) ** 2).sum()
    assert GlobalCounters.kernel_count == 0


def test_zero_grad_clears_gradients():
    param = Tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1)
    (param * param).sum().backward()
    optimizer.zero_grad()
    assert param.grad is None


def test_zero_grad_takes_pytorchs_set_to_none():
    param = Tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([param], lr=0.1)
    (param * param).sum().backward()
    optimizer.zero_grad(set_to_none=False)
    assert param.grad.numpy().tolist() == [0.0, 0.0] and param.grad.dtype == param.dtype
    optimizer.zero_grad(set_to_none=True)
    assert param.grad is None


def test_parameter_without_gradient_is_left_alone(device):
    used, unused = Tensor([1.0], device=device, requires_grad=True), Tensor([5.0], device=device, requires_grad=True)
    optimizer = optim.Adam([used, unused], lr=0.5)
    (used * 3).sum().backward()
    optimizer.step()
    assert unused.tolist() == [5.0] and used.tolist() == pytest.approx([0.5])


def test_adam_counts_each_parameters_own_steps_as_pytorch(device):
    """A parameter without a gradient on a step is skipped, and its bias correction 1 - b**t counts only its own steps:
    used first on step 3, it moves as on a first step (lr * sign(grad) = 0.1), not as on a third."""
    first, late = Tensor([1.0], device=device, requires_grad=True), Tensor([1.0], device=device, requires_grad=True)
    optimizer = optim.AdamW([first, late], lr=0.1, weight_decay=0.0)
    for step in range(3):
        optimizer.zero_grad()
        ((first * 2).sum() + ((late * 5).sum() if step == 2 else 0)).backward()
        optimizer.step()
    assert_close(late.numpy(), np.array([0.9]), 1e-6)
    assert_close(first.numpy(), np.array(adam_ref_scalar(1.0, [2.0] * 3, 0.1)), 1e-6)


def adam_ref_scalar(value, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    m = v = 0.0
    for t, grad in enumerate(grads, 1):
        m, v = b1 * m + (1 - b1) * grad, b2 * v + (1 - b2) * grad ** 2
        value -= lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return [value]


def test_parameter_listed_twice_is_updated_once():
    param = Tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([param, param], lr=0.1)
    (param * 2).sum().backward()
    optimizer.step()
    assert param.tolist() == pytest.approx([0.8])
