"""SPEC "The divergence primitive": logits.cross_entropy(target, axis=-1, reduction="mean", label_smoothing=0.0,
ignore_index=-100), with torch.nn.functional.cross_entropy's semantics. Reference: helpers.cross_entropy_ref."""
import numpy as np
import pytest
from minigrad import Tensor, dtypes
from helpers import assert_close, check, cross_entropy_ref, rand, raises_naming, require_dtype

LOGITS = rand(4, 5, low=-3, high=3, seed=30)
CLASSES = np.array([1, 0, 4, 2])
PROBABILITIES = np.exp(rand(4, 5, seed=31)) / np.exp(rand(4, 5, seed=31)).sum(axis=-1, keepdims=True)


# ---- reference values ----

def test_single_sample_reference_value(device):
    require_dtype(dtypes.float64, device)
    loss = Tensor([2.0, 1.0, 0.1], dtype=dtypes.float64, device=device).cross_entropy(Tensor(0, device=device))
    assert loss.shape == ()
    assert_close(loss.numpy(), np.array(0.41703001627783354), 1e-12)


def test_batch_reference_values_mean_and_sum(device):
    require_dtype(dtypes.float64, device)
    logits = Tensor([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]], dtype=dtypes.float64, device=device)
    target = Tensor([0, 1], device=device)
    assert_close(logits.cross_entropy(target).numpy(), np.array(0.2851041117000609), 1e-12)
    assert_close(logits.cross_entropy(target, reduction="sum").numpy(), np.array(0.5702082234001218), 1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_logits_of_plus_minus_1e4_are_finite_and_exact(device, dtype):
    dtype = getattr(dtypes, dtype)
    require_dtype(dtype, device)
    logits = Tensor([[1e4, -1e4]], dtype=dtype, device=device, requires_grad=True)
    loss = logits.cross_entropy(Tensor([1], device=device))
    loss.backward()
    assert_close(loss.numpy(), np.array(20000.0), 1e-3 if dtype == dtypes.float16 else 1e-7)
    assert_close(logits.grad.numpy(), np.array([[1.0, -1.0]]), 1e-3 if dtype == dtypes.float16 else 1e-7)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_vocabulary_of_100000(device, dtype):
    dtype = getattr(dtypes, dtype)
    require_dtype(dtype, device)
    loss = Tensor.zeros(1, 100_000, dtype=dtype, device=device).cross_entropy(Tensor([7], device=device))
    assert_close(loss.numpy(), np.array(11.512925464970229), 1e-12 if dtype == dtypes.float64 else 1e-6)


def test_float16_logits_vocabulary_of_100000_is_finite(device):
    require_dtype(dtypes.float16, device)
    logits = Tensor(np.zeros((1, 100_000)), dtype=dtypes.float16, device=device)
    value = float(logits.cross_entropy(Tensor([7], device=device)).numpy())
    assert np.isfinite(value) and abs(value - 11.512925464970229) < 0.02, value


# ---- semantics against the float64 reference, with finite-difference gradients ----

@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_class_index_targets(device, reduction):
    check(lambda x: x.cross_entropy(Tensor(CLASSES, device=device), reduction=reduction),
          lambda x: cross_entropy_ref(x, CLASSES, reduction=reduction), LOGITS, device=device)


def test_default_reduction_is_mean(device):
    check(lambda x: x.cross_entropy(Tensor(CLASSES, device=device)),
          lambda x: cross_entropy_ref(x, CLASSES, reduction="none").mean(), LOGITS, device=device)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_probability_targets_differentiable_in_logits_and_target(device, reduction):
    check(lambda x, p: x.cross_entropy(p, reduction=reduction),
          lambda x, p: cross_entropy_ref(x, p, reduction=reduction), LOGITS, PROBABILITIES, device=device)


def test_class_axis_given_by_axis(device):
    logits, classes = rand(2, 4, 3, seed=32), np.array([[0, 3, 1], [2, 2, 0]])   # (N, C, L), class axis 1
    check(lambda x: x.cross_entropy(Tensor(classes, device=device), axis=1),
          lambda x: cross_entropy_ref(x, classes, axis=1), logits, device=device)
    check(lambda x: x.cross_entropy(Tensor(classes, device=device), axis=1, reduction="none"),
          lambda x: cross_entropy_ref(x, classes, axis=1, reduction="none"), logits, device=device)


def test_probability_targets_along_axis(device):
    logits, raw = rand(2, 4, 3, seed=33), np.exp(rand(2, 4, 3, seed=34))
    probabilities = raw / raw.sum(axis=1, keepdims=True)
    check(lambda x, p: x.cross_entropy(p, axis=1, reduction="sum"),
          lambda x, p: cross_entropy_ref(x, p, axis=1, reduction="sum"), logits, probabilities, device=device)


@pytest.mark.parametrize("label_smoothing", [0.1, 0.5, 1.0])
def test_label_smoothing_with_class_targets(device, label_smoothing):
    def reference(x):   # (1 - ls) * nll + ls * mean_c(-log_softmax)
        log_probs = x - np.log(np.exp(x).sum(axis=-1, keepdims=True))
        nll = -log_probs[np.arange(len(CLASSES)), CLASSES]
        return ((1 - label_smoothing) * nll + label_smoothing * -log_probs.mean(axis=-1)).mean()
    check(lambda x: x.cross_entropy(Tensor(CLASSES, device=device), label_smoothing=label_smoothing), reference,
          LOGITS, device=device)


def test_label_smoothing_with_probability_targets(device):
    check(lambda x, p: x.cross_entropy(p, label_smoothing=0.2),
          lambda x, p: cross_entropy_ref(x, p, label_smoothing=0.2), LOGITS, PROBABILITIES, device=device)


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_ignore_index_default(device, reduction):
    classes = np.array([1, -100, 4, -100])
    check(lambda x: x.cross_entropy(Tensor(classes, device=device), reduction=reduction),
          lambda x: cross_entropy_ref(x, classes, reduction=reduction), LOGITS, device=device)


def test_ignore_index_mean_divides_by_non_ignored(device):
    classes = np.array([1, 3, -1, -1])
    logits = Tensor(LOGITS, device=device)
    kept = cross_entropy_ref(LOGITS[:2], classes[:2], reduction="sum") / 2
    assert_close(logits.cross_entropy(Tensor(classes, device=device), ignore_index=-1).numpy(), kept, 1e-5)
    per_sample = logits.cross_entropy(Tensor(classes, device=device), ignore_index=-1, reduction="none").numpy()
    assert per_sample[2] == 0 and per_sample[3] == 0


def test_ignore_index_with_label_smoothing(device):
    classes = np.array([2, 0, 2, 3])
    check(lambda x: x.cross_entropy(Tensor(classes, device=device), ignore_index=2, label_smoothing=0.3),
          lambda x: cross_entropy_ref(x, classes, ignore_index=2, label_smoothing=0.3), LOGITS, device=device)


def test_zero_probabilities_contribute_zero(device):
    target = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    with np.errstate(divide="ignore"):
        log_target = np.log(target)        # -inf where the probability is 0
    entropy = Tensor(log_target, device=device).cross_entropy(Tensor(target, device=device), reduction="none")
    assert_close(entropy.numpy(), np.array([np.log(2), 0.0]), 1e-6, 1e-7)


def test_target_gradient_at_zero_probabilities_is_minus_log_softmax(device):
    # with finite logits the loss is linear in the target: d/dtarget_c = -log_softmax(logits)_c, zeros included
    target = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    check(lambda x, p: x.cross_entropy(p, reduction="none"), lambda x, p: cross_entropy_ref(x, p, reduction="none"),
          rand(2, 3, seed=35), target, device=device)


def test_per_token_log_probabilities(device):
    log_probs = -Tensor(LOGITS, device=device).cross_entropy(Tensor(CLASSES, device=device), reduction="none")
    expected = np.take_along_axis(LOGITS - np.log(np.exp(LOGITS).sum(-1, keepdims=True)), CLASSES[:, None], -1)[:, 0]
    assert log_probs.shape == (4,)
    assert_close(log_probs.numpy(), expected, 1e-5, 1e-6)


# ---- bad input gets a clear error ----

def test_class_index_out_of_range_names_index_and_class_count(device):
    with raises_naming("5", "3"):
        Tensor.zeros(2, 3, device=device).cross_entropy(Tensor([0, 5], device=device)).numpy()


def test_negative_class_index_other_than_ignore_index_is_an_error(device):
    with raises_naming("-1"):
        Tensor.zeros(2, 3, device=device).cross_entropy(Tensor([0, -1], device=device)).numpy()


def test_unknown_reduction_names_it(device):
    with raises_naming("average"):
        Tensor.zeros(2, 3, device=device).cross_entropy(Tensor([0, 1], device=device), reduction="average").numpy()


def test_probability_target_with_wrong_shape_names_shapes(device):
    with raises_naming("(2, 3)", "(2, 4)"):
        Tensor.zeros(2, 3, device=device).cross_entropy(Tensor.ones(2, 4, device=device) / 4).numpy()


def test_class_target_with_wrong_shape_names_shapes(device):
    with raises_naming("(3,)"):
        Tensor.zeros(2, 3, device=device).cross_entropy(Tensor([0, 1, 2], device=device)).numpy()


@pytest.mark.parametrize("label_smoothing", [-0.1, 1.5])
def test_label_smoothing_outside_zero_one_is_an_error(device, label_smoothing):
    with raises_naming(("label_smoothing", str(label_smoothing))):
        logits = Tensor.zeros(2, 3, device=device)
        logits.cross_entropy(Tensor([0, 1], device=device), label_smoothing=label_smoothing).numpy()
