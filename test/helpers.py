"""Shared helpers for the test battery: NumPy references, forward checks and finite-difference gradient checks."""
import contextlib
import numpy as np
import pytest
from minigrad import Tensor, dtypes

FLOAT64_NAMES = ("fp64", "float64", "double")
FLOAT16_NAMES = ("fp16", "float16", "half")
_dtype_support = {}


def dtype_supported(dtype, device):
    """False when `device` says it cannot hold `dtype` (e.g. no fp64 on an OpenCL device); other errors raise."""
    key = (str(dtype), device)
    if key not in _dtype_support:
        try:
            (Tensor([1.0, 2.0], dtype=dtype, device=device) * 2).numpy()
            _dtype_support[key] = None
        except Exception as error:  # noqa: BLE001 - classified below
            _dtype_support[key] = error
    error = _dtype_support[key]
    if error is None:
        return True
    names = FLOAT64_NAMES if dtype == dtypes.float64 else FLOAT16_NAMES if dtype == dtypes.float16 else ()
    if any(name in str(error).lower() for name in names):
        return False
    raise error


def require_dtype(dtype, device):
    """Skip the calling test when `device` cannot hold `dtype`."""
    if not dtype_supported(dtype, device):
        pytest.skip(f"{device} does not support {dtype}: {_dtype_support[(str(dtype), device)]}")


def rand(*shape, low=-2.0, high=2.0, seed=0):
    """Deterministic float64 uniform samples."""
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def away_from_zero(x, margin=0.1):
    """Push values out of (-margin, margin) so that kinks (abs, relu, sign) are not sampled by finite differences."""
    return np.where(np.abs(x) < margin, np.where(x < 0, -margin, margin) * 2, x)


def assert_close(got, expected, rtol=1e-7, atol=1e-10, msg=""):
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape, f"{msg} shape: got {got.shape}, expected {expected.shape}"
    np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol, err_msg=msg)


def unbroadcast(grad, shape):
    """Sum a broadcast gradient back down to `shape` (NumPy broadcasting rules)."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def numeric_gradients(f, inputs, weights, device, eps=1e-6):
    """Central differences of sum(f(inputs) * weights), evaluating the minigrad function in float64."""
    def loss(arrays):
        out = f(*[Tensor(a, dtype=dtypes.float64, device=device) for a in arrays]).numpy()
        return float(np.sum(out.astype(np.float64) * weights))

    gradients = []
    for i, x in enumerate(inputs):
        grad = np.zeros_like(x)
        for j in range(x.size):
            shifted = [a.copy() for a in inputs]
            shifted[i].flat[j] = x.flat[j] + eps
            plus = loss(shifted)
            shifted[i].flat[j] = x.flat[j] - eps
            minus = loss(shifted)
            grad.flat[j] = (plus - minus) / (2 * eps)
        gradients.append(grad)
    return gradients


def analytic_gradients(f, inputs, weights, device, allow_none=False):
    """Gradients of sum(f(inputs) * weights) by minigrad's backward, in float64."""
    tensors = [Tensor(x, dtype=dtypes.float64, device=device, requires_grad=True) for x in inputs]
    out = f(*tensors)
    (out * Tensor(weights, dtype=dtypes.float64, device=device)).sum().backward()
    gradients = []
    for i, t in enumerate(tensors):
        if t.grad is None:
            assert allow_none, f"input {i} (shape {t.shape}) got no gradient"
            gradients.append(np.zeros(t.shape))
        else:
            gradients.append(t.grad.numpy())
    return gradients


def check_gradients(f, *inputs, device, rtol=1e-5, atol=1e-6, eps=1e-6, seed=1, allow_none=False):
    """Compare minigrad's analytic gradients with central finite differences (float64)."""
    require_dtype(dtypes.float64, device)
    inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
    out_shape = f(*[Tensor(x, dtype=dtypes.float64, device=device) for x in inputs]).shape
    weights = np.random.default_rng(seed).standard_normal(out_shape)
    analytic = analytic_gradients(f, inputs, weights, device, allow_none)
    numeric = numeric_gradients(f, inputs, weights, device, eps)
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        assert_close(a, n, rtol=rtol, atol=atol, msg=f"gradient of input {i}")


def check_forward(f, reference, *inputs, device, rtol=1e-7, atol=1e-10, f32_rtol=1e-5, f32_atol=1e-6):
    """Forward pass in float32 (always) and float64 (where the device has it) against a float64 NumPy reference."""
    inputs32 = [np.asarray(x, dtype=np.float32) for x in inputs]
    got32 = f(*[Tensor(x, dtype=dtypes.float32, device=device) for x in inputs32]).numpy()
    assert_close(got32, reference(*[x.astype(np.float64) for x in inputs32]), f32_rtol, f32_atol, msg="float32 forward")
    require_dtype(dtypes.float64, device)
    inputs64 = [np.asarray(x, dtype=np.float64) for x in inputs]
    got64 = f(*[Tensor(x, dtype=dtypes.float64, device=device) for x in inputs64]).numpy()
    assert got64.dtype == np.float64, f"float64 inputs gave {got64.dtype}"
    assert_close(got64, reference(*inputs64), rtol, atol, msg="float64 forward")


def check(f, reference, *inputs, device, rtol=1e-7, atol=1e-10, f32_rtol=1e-5, f32_atol=1e-6, grad=True, **grad_kwargs):
    """Forward against the NumPy reference, then gradients against finite differences."""
    check_forward(f, reference, *inputs, device=device, rtol=rtol, atol=atol, f32_rtol=f32_rtol, f32_atol=f32_atol)
    if grad:
        check_gradients(f, *inputs, device=device, **grad_kwargs)


@contextlib.contextmanager
def raises_naming(*fragments):
    """Expect an exception (not an AssertionError) whose message contains every fragment.

    A fragment given as a tuple is satisfied by any one of its alternatives."""
    try:
        yield
    except AssertionError:
        raise
    except Exception as error:  # noqa: BLE001 - any error class is acceptable, the message is what is checked
        message = str(error)
        for fragment in fragments:
            alternatives = fragment if isinstance(fragment, tuple) else (fragment,)
            assert any(str(a) in message for a in alternatives), f"message {message!r} does not mention {fragment!r}"
    else:
        pytest.fail(f"no error raised (expected one mentioning {fragments})")


def log_softmax_ref(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def logsumexp_ref(x, axis=None, keepdims=False):
    peak = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - peak), axis=axis, keepdims=True)) + peak
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def gelu_tanh_ref(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def conv2d_ref(x, weight, bias=None, stride=1, padding=0):
    """Direct convolution (cross-correlation, as in PyTorch) by explicit loops."""
    batch, _, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out_h = (height + 2 * padding - kernel_h) // stride + 1
    out_w = (width + 2 * padding - kernel_w) // stride + 1
    out = np.zeros((batch, out_channels, out_h, out_w))
    for n in range(batch):
        for o in range(out_channels):
            for i in range(out_h):
                for j in range(out_w):
                    patch = padded[n, :, i * stride:i * stride + kernel_h, j * stride:j * stride + kernel_w]
                    out[n, o, i, j] = np.sum(patch * weight[o]) + (0.0 if bias is None else bias[o])
    return out


def pool2d_ref(x, kernel_size, stride, reduce):
    """Pooling without padding, output size floor((size - kernel) / stride) + 1, as in PyTorch."""
    batch, channels, height, width = x.shape
    out_h, out_w = (height - kernel_size) // stride + 1, (width - kernel_size) // stride + 1
    out = np.zeros((batch, channels, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            out[:, :, i, j] = reduce(window, axis=(2, 3))
    return out


def cross_entropy_ref(logits, target, axis=-1, reduction="mean", label_smoothing=0.0, ignore_index=-100):
    """float64 reference with torch.nn.functional.cross_entropy's semantics (class axis given by `axis`)."""
    logits = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    log_probs = log_softmax_ref(logits, axis=-1)
    smooth = -log_probs.mean(axis=-1)
    target = np.asarray(target)
    if np.issubdtype(target.dtype, np.integer):
        valid = target != ignore_index
        safe = np.where(valid, target, 0)
        nll = -np.take_along_axis(log_probs, safe[..., None], axis=-1)[..., 0]
        per_sample = np.where(valid, (1 - label_smoothing) * nll + label_smoothing * smooth, 0.0)
        count = valid.sum()
    else:
        target = np.moveaxis(target.astype(np.float64), axis, -1)
        terms = np.where(target == 0, 0.0, target * np.where(np.isfinite(log_probs), log_probs, 0.0))
        per_sample = (1 - label_smoothing) * -terms.sum(axis=-1) + label_smoothing * smooth
        count = per_sample.size
    if reduction == "none":
        return per_sample
    if reduction == "sum":
        return per_sample.sum()
    return per_sample.sum() / count
