"""SPEC "The divergence primitive": relative entropy needs nothing but cross-entropy.

    entropy      H(P)     = p_logits.cross_entropy(P)
    forward KL   KL(P||Q) = q_logits.cross_entropy(P) - p_logits.cross_entropy(P)
    reverse KL   KL(Q||P) = p_logits.cross_entropy(Q) - q_logits.cross_entropy(Q),  Q = q_logits.softmax() trainable
    log-probs    log pi(x) = -logits.cross_entropy(x, reduction="none")

Every value is checked against an independent float64 NumPy formula, sum_c p_c * log(p_c / q_c) with 0 * log 0 = 0,
and every gradient against a closed form or central finite differences."""
import math
import numpy as np
import pytest
import minigrad
from minigrad import Tensor, dtypes
from helpers import assert_close, check_gradients, dtype_supported, log_softmax_ref, rand, require_dtype

INF = math.inf
F64, F32, F16 = dtypes.float64, dtypes.float32, dtypes.float16


# ---- independent float64 references ----

def kl_from_log_probs(log_p, log_q):
    """sum_c p_c (log p_c - log q_c) along the last axis; a term with p_c = 0 is 0, p_c > 0 = q_c gives +inf."""
    log_p, log_q = np.asarray(log_p, dtype=np.float64), np.asarray(log_q, dtype=np.float64)
    p = np.exp(log_p)
    with np.errstate(invalid="ignore"):
        terms = np.where(p == 0, 0.0, p * (log_p - log_q))
    return terms.sum(axis=-1)


def kl_ref(p, q):
    """KL(P||Q) = sum p log(p / q) from probabilities (the textbook form)."""
    with np.errstate(divide="ignore"):
        return kl_from_log_probs(np.log(np.asarray(p, dtype=np.float64)), np.log(np.asarray(q, dtype=np.float64)))


def kl_ref_from_logits(p_logits, q_logits):
    """KL(softmax(p_logits) || softmax(q_logits)) in log space, so that logits of +-1e4 do not underflow to 0 / 0."""
    return kl_from_log_probs(log_softmax_ref(np.asarray(p_logits, np.float64)), log_softmax_ref(np.asarray(q_logits, np.float64)))


def entropy_ref_from_logits(logits):
    """-sum p log p, with 0 log 0 = 0."""
    log_p = log_softmax_ref(np.asarray(logits, dtype=np.float64))
    return -kl_from_log_probs(log_p, np.zeros_like(log_p))


def softmax_ref(logits):
    return np.exp(log_softmax_ref(np.asarray(logits, dtype=np.float64)))


# ---- the recipes under test, written exactly as the README shows them ----

def entropy(p_logits, reduction="none"):
    return p_logits.cross_entropy(p_logits.softmax(), reduction=reduction)


def forward_kl(q_logits, p_logits, reduction="none"):
    """KL(P||Q), P = softmax(p_logits): cross-entropy H(P, Q) minus entropy H(P)."""
    p = p_logits.softmax()
    return q_logits.cross_entropy(p, reduction=reduction) - p_logits.cross_entropy(p, reduction=reduction)


def reverse_kl(q_logits, p_logits, reduction="none"):
    """KL(Q||P) with Q = softmax(q_logits) trainable: both terms depend on Q."""
    q = q_logits.softmax()
    return p_logits.cross_entropy(q, reduction=reduction) - q_logits.cross_entropy(q, reduction=reduction)


def tensor(data, device, dtype=F64, requires_grad=False):
    return Tensor(np.asarray(data, dtype=np.float64), dtype=dtype, device=device, requires_grad=requires_grad)


def usable_dtype(device):
    """float64 where the device has it, else float32 (with the tolerance to match)."""
    return (F64, 1e-10) if dtype_supported(F64, device) else (F32, 1e-5)


P_LOGITS = rand(6, 7, low=-3, high=3, seed=70)
Q_LOGITS = rand(6, 7, low=-3, high=3, seed=71)


# ---- there is exactly one divergence primitive ----

@pytest.mark.parametrize("name", ["kl_div", "entropy", "nll_loss", "binary_cross_entropy"])
def test_no_other_divergence_function_ships(name):
    import minigrad.nn
    for where in (Tensor, minigrad, minigrad.nn):
        assert not hasattr(where, name), f"{where.__name__}.{name} exists; cross_entropy must be the only divergence"


# ---- values against sum p log(p / q) ----

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_forward_kl_matches_reference(device, dtype):
    dtype = getattr(dtypes, dtype)
    require_dtype(dtype, device)
    got = forward_kl(tensor(Q_LOGITS, device, dtype), tensor(P_LOGITS, device, dtype)).numpy()
    tolerance = 1e-10 if dtype == F64 else 1e-5
    assert_close(got, kl_ref(softmax_ref(P_LOGITS), softmax_ref(Q_LOGITS)), tolerance, tolerance)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_reverse_kl_matches_reference(device, dtype):
    dtype = getattr(dtypes, dtype)
    require_dtype(dtype, device)
    got = reverse_kl(tensor(Q_LOGITS, device, dtype), tensor(P_LOGITS, device, dtype)).numpy()
    tolerance = 1e-10 if dtype == F64 else 1e-5
    assert_close(got, kl_ref(softmax_ref(Q_LOGITS), softmax_ref(P_LOGITS)), tolerance, tolerance)


def test_entropy_matches_reference(device):
    dtype, tolerance = usable_dtype(device)
    assert_close(entropy(tensor(P_LOGITS, device, dtype)).numpy(), entropy_ref_from_logits(P_LOGITS), tolerance, tolerance)
    uniform_and_one_hot = tensor([[0.0] * 5, [0.0, -INF, -INF, -INF, -INF]], device, dtype)
    assert_close(entropy(uniform_and_one_hot).numpy(), np.array([math.log(5), 0.0]), tolerance, tolerance)


@pytest.mark.numpy_only
def test_reduction_mean_and_sum_apply_to_both_terms(device):
    dtype, tolerance = usable_dtype(device)
    per_sample = kl_ref(softmax_ref(P_LOGITS), softmax_ref(Q_LOGITS))
    q_logits, p_logits = tensor(Q_LOGITS, device, dtype), tensor(P_LOGITS, device, dtype)
    assert_close(forward_kl(q_logits, p_logits, "mean").numpy(), np.array(per_sample.mean()), tolerance, tolerance)
    assert_close(forward_kl(q_logits, p_logits, "sum").numpy(), np.array(per_sample.sum()), tolerance, tolerance)


@pytest.mark.numpy_only
def test_kl_is_nonnegative_on_random_distributions(device):
    dtype, tolerance = usable_dtype(device)
    rng = np.random.default_rng(72)
    # temperatures from nearly uniform to nearly one-hot
    p_logits = rng.standard_normal((200, 9)) * rng.choice([0.1, 1.0, 5.0, 30.0], size=(200, 1))
    q_logits = rng.standard_normal((200, 9)) * rng.choice([0.1, 1.0, 5.0, 30.0], size=(200, 1))
    for kl in (forward_kl, reverse_kl):
        got = kl(tensor(q_logits, device, dtype), tensor(p_logits, device, dtype)).numpy()
        assert np.all(got >= -tolerance), f"{kl.__name__} went negative: {got.min()}"


def test_kl_of_a_distribution_with_itself_is_zero(device):
    # the same distribution under different logits (softmax ignores a per-row shift), so the two terms are computed
    # from different numbers and must still cancel
    dtype, tolerance = usable_dtype(device)
    shifted = P_LOGITS + np.arange(6)[:, None] * 3.7 - 8.0
    for kl in (forward_kl, reverse_kl):
        got = kl(tensor(shifted, device, dtype), tensor(P_LOGITS, device, dtype)).numpy()
        assert_close(got, np.zeros(6), 0, 10 * tolerance, msg=kl.__name__)


@pytest.mark.numpy_only
def test_kl_is_asymmetric(device):
    dtype, tolerance = usable_dtype(device)
    p_logits, q_logits = np.log([[0.8, 0.15, 0.05]]), np.log([[1 / 3, 1 / 3, 1 / 3]])
    forward = forward_kl(tensor(q_logits, device, dtype), tensor(p_logits, device, dtype)).numpy()
    reverse = reverse_kl(tensor(q_logits, device, dtype), tensor(p_logits, device, dtype)).numpy()
    assert_close(forward, kl_ref([[0.8, 0.15, 0.05]], [[1 / 3] * 3]), tolerance, tolerance)
    assert_close(reverse, kl_ref([[1 / 3] * 3], [[0.8, 0.15, 0.05]]), tolerance, tolerance)
    assert abs(forward[0] - reverse[0]) > 0.1, (forward, reverse)


# ---- zeros and infinities ----

def test_zeros_in_p_give_finite_kl_and_zero_gradient_there(device):
    dtype, tolerance = usable_dtype(device)
    p_logits = np.array([[0.0, 1.0, -INF, 0.5], [-INF, 2.0, -INF, -1.0]])
    q_logits = rand(2, 4, seed=73)
    p_logits_t, q_logits_t = tensor(p_logits, device, dtype, True), tensor(q_logits, device, dtype, True)
    kl = forward_kl(q_logits_t, p_logits_t)        # P is differentiable here too: through the target and the logits
    (kl * tensor([1.0, -2.0], device, dtype)).sum().backward()
    got, p_grad, q_grad = kl.numpy(), p_logits_t.grad.numpy(), q_logits_t.grad.numpy()
    assert np.all(np.isfinite(got)) and np.all(np.isfinite(p_grad)) and np.all(np.isfinite(q_grad)), (got, p_grad, q_grad)
    assert_close(got, kl_ref_from_logits(p_logits, q_logits), tolerance, tolerance)
    assert np.all(p_grad[np.isinf(p_logits)] == 0), p_grad
    # d KL / d q_logits = softmax(q) - P, also where P is 0
    assert_close(q_grad, (softmax_ref(q_logits) - softmax_ref(p_logits)) * np.array([[1.0], [-2.0]]), tolerance, tolerance)


def test_zeros_in_trainable_q_give_finite_reverse_kl_and_zero_gradient_there(device):
    # the case that turns naive sum q * log(q / p) into nan: q_c = 0 exactly, with q differentiable
    dtype, tolerance = usable_dtype(device)
    q_logits = np.array([[0.3, -INF, 0.5, 0.1], [-INF, -INF, 1.0, 0.0]])
    p_logits = rand(2, 4, seed=74)
    q_logits_t = tensor(q_logits, device, dtype, True)
    kl = reverse_kl(q_logits_t, tensor(p_logits, device, dtype))
    kl.sum().backward()
    grad = q_logits_t.grad.numpy()
    assert np.all(np.isfinite(kl.numpy())) and np.all(np.isfinite(grad)), (kl.numpy(), grad)
    assert_close(kl.numpy(), kl_ref_from_logits(q_logits, p_logits), tolerance, tolerance)
    assert np.all(grad[np.isinf(q_logits)] == 0), grad


def test_entropy_of_probabilities_with_zeros(device):
    dtype, tolerance = usable_dtype(device)
    probs = np.array([[0.5, 0.5, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.25, 0.25, 0.25, 0.25]])
    p = tensor(probs, device, dtype)
    got = p.log().cross_entropy(p, reduction="none").numpy()      # log 0 = -inf logits, and 0 * log 0 = 0
    assert_close(got, np.array([math.log(2), 0.0, math.log(4)]), tolerance, tolerance)


def test_p_positive_where_q_is_zero_gives_infinite_kl(device):
    dtype, tolerance = usable_dtype(device)
    p_logits = np.array([[0.0, 1.0, 0.5], [0.0, 1.0, 0.5]])
    q_logits = np.array([[0.2, -0.3, -INF], [0.2, -0.3, 0.0]])      # row 0: Q = 0 where P > 0
    q_logits_t = tensor(q_logits, device, dtype, True)
    kl = forward_kl(q_logits_t, tensor(p_logits, device, dtype))
    got = kl.numpy()
    assert got[0] == INF and np.isfinite(got[1]), got
    assert kl_ref(softmax_ref(p_logits), softmax_ref(q_logits))[0] == INF
    assert_close(got[1:], kl_ref_from_logits(p_logits, q_logits)[1:], tolerance, tolerance)
    # the loss is infinite but its gradient with respect to the logits stays softmax(q) - P, finite and pointing back
    kl.sum().backward()
    assert_close(q_logits_t.grad.numpy(), softmax_ref(q_logits) - softmax_ref(p_logits), tolerance, tolerance)
    # reverse direction: trainable Q puts mass where the reference P is 0
    reverse = reverse_kl(tensor([[0.0, 0.0]], device, dtype), tensor([[0.0, -INF]], device, dtype)).numpy()
    assert reverse[0] == INF, reverse


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_logits_of_plus_minus_1e4(device, dtype):
    dtype = getattr(dtypes, dtype)
    require_dtype(dtype, device)
    # all exactly representable in float16; the textbook sum p log(p / q) in float64 gives inf / nan here, since
    # exp(-2e4) underflows to 0, so the reference works in log space
    p_logits = np.array([[1e4, 1e4, -1e4], [-1e4, 1e4, 0.0], [1e4, -1e4, 9992.0]])
    q_logits = np.array([[1e4, -1e4, -1e4], [1e4, -1e4, 1e4], [-1e4, 1e4, 1e4]])
    p_logits_t, q_logits_t = tensor(p_logits, device, dtype, True), tensor(q_logits, device, dtype, True)
    kl, reverse = forward_kl(q_logits_t, p_logits_t.detach()), reverse_kl(q_logits_t.detach(), p_logits_t)
    (kl.sum() + reverse.sum()).backward()
    rtol = 1e-3 if dtype == F16 else 1e-6
    assert_close(kl.numpy(), kl_ref_from_logits(p_logits, q_logits), rtol, rtol)
    assert_close(kl.numpy()[0], np.array(1e4 - math.log(2)), rtol)          # 0.5 log 0.5 + 0.5 (log 0.5 + 2e4)
    assert_close(reverse.numpy(), kl_ref_from_logits(q_logits, p_logits), rtol, rtol)
    assert np.all(np.isfinite(q_logits_t.grad.numpy())) and np.all(np.isfinite(p_logits_t.grad.numpy()))
    assert_close(q_logits_t.grad.numpy(), softmax_ref(q_logits) - softmax_ref(p_logits), rtol, rtol)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_vocabulary_of_100000(device, dtype):
    dtype = getattr(dtypes, dtype)
    require_dtype(dtype, device)
    rng = np.random.default_rng(75)
    numpy_dtype = np.float16 if dtype == F16 else np.float32
    # the logits as the device holds them, so that the reference sees the same numbers
    p_logits = (rng.standard_normal((2, 100_000)) * 3).astype(numpy_dtype).astype(np.float64)
    q_logits = (p_logits + rng.standard_normal((2, 100_000))).astype(numpy_dtype).astype(np.float64)
    q_logits_t = tensor(q_logits, device, dtype, True)
    kl = forward_kl(q_logits_t, tensor(p_logits, device, dtype))
    kl.sum().backward()
    reverse, h = reverse_kl(q_logits_t.detach(), tensor(p_logits, device, dtype)), entropy(tensor(p_logits, device, dtype))
    # float16 results are rounded to float16: H is about 9, where the float16 spacing is 2**-7, and KL is the
    # difference of two such rounded numbers
    tolerance = 2e-2 if dtype == F16 else 1e-4
    for got, expected in ((kl, kl_ref_from_logits(p_logits, q_logits)), (reverse, kl_ref_from_logits(q_logits, p_logits)),
                          (h, entropy_ref_from_logits(p_logits))):
        assert got.dtype == dtype and np.all(np.isfinite(got.numpy())), got.numpy()
        assert_close(got.numpy(), expected, tolerance, tolerance)
    grad = q_logits_t.grad.numpy().astype(np.float64)
    assert np.all(np.isfinite(grad))
    # softmax(q) - P cancels: measure the error against the size of the two terms (float16 ones are partly subnormal)
    q_probs, p_probs = softmax_ref(q_logits), softmax_ref(p_logits)
    rtol, atol = (5e-3, 1e-7) if dtype == F16 else (1e-5, 1e-10)
    error = np.abs(grad - (q_probs - p_probs))
    assert np.all(error <= rtol * np.maximum(q_probs, p_probs) + atol), error.max()


# ---- gradients ----

@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradient_of_kl_equals_gradient_of_cross_entropy_when_p_is_fixed(device, reduction):
    dtype, tolerance = usable_dtype(device)
    p = tensor(P_LOGITS, device, dtype).softmax()                      # fixed reference: H(P) is a constant
    weights = tensor(rand(6, seed=76), device, dtype) if reduction == "none" else 1.0
    grads = []
    for loss_of in (lambda q: q.cross_entropy(p, reduction=reduction),
                    lambda q: q.cross_entropy(p, reduction=reduction) - tensor(P_LOGITS, device, dtype).cross_entropy(p, reduction=reduction)):
        q_logits = tensor(Q_LOGITS, device, dtype, True)
        (loss_of(q_logits) * weights).sum().backward()
        grads.append(q_logits.grad.numpy())
    scale = rand(6, seed=76)[:, None] if reduction == "none" else 1 / 6
    assert_close(grads[1], grads[0], tolerance, tolerance, msg="KL vs CE")
    assert_close(grads[0], (softmax_ref(Q_LOGITS) - softmax_ref(P_LOGITS)) * scale, tolerance, tolerance, msg="softmax(q) - P")


def test_forward_kl_gradients_match_finite_differences(device):
    # both arguments trainable: P through the target and through p_logits
    check_gradients(lambda q, p: forward_kl(q, p), rand(3, 5, seed=77), rand(3, 5, seed=78), device=device)


def test_reverse_kl_gradients_match_finite_differences(device):
    check_gradients(lambda q, p: reverse_kl(q, p), rand(3, 5, seed=79), rand(3, 5, seed=80), device=device)


@pytest.mark.numpy_only
def test_reverse_kl_gradient_closed_form(device):
    # d KL(Q||P) / d q_logits_j = Q_j (log Q_j - log P_j - KL(Q||P))
    dtype, tolerance = usable_dtype(device)
    q_logits_t = tensor(Q_LOGITS, device, dtype, True)
    reverse_kl(q_logits_t, tensor(P_LOGITS, device, dtype)).sum().backward()
    log_q, log_p = log_softmax_ref(Q_LOGITS), log_softmax_ref(P_LOGITS)
    expected = np.exp(log_q) * (log_q - log_p - kl_from_log_probs(log_q, log_p)[:, None])
    assert_close(q_logits_t.grad.numpy(), expected, tolerance, tolerance)


# ---- Monte Carlo estimators of KL(pi_theta || pi_ref), by exact enumeration over a small vocabulary ----

POLICY_LOGITS = np.array([1.2, -0.4, 0.3, 2.0, -1.5, 0.0])
REFERENCE_LOGITS = np.array([0.1, 0.9, -0.7, 0.5, 0.4, -2.0])


def per_token_log_probs(logits, tokens):
    """log pi(token) for every token, by the recipe -logits.cross_entropy(tokens, reduction="none")."""
    return -logits.unsqueeze(0).expand(tokens.shape[0], logits.shape[0]).cross_entropy(tokens, reduction="none")


def estimators(policy_logits, reference_logits, tokens):
    """k1, k2, k3 per token x, for x sampled from pi_theta: delta = log pi_ref(x) - log pi_theta(x)."""
    log_ratio = per_token_log_probs(policy_logits, tokens) - per_token_log_probs(reference_logits, tokens)
    return {"k1": log_ratio, "k2": 0.5 * log_ratio.square(), "k3": (-log_ratio).exp() + log_ratio - 1}


def enumerated(device, dtype):
    """The policy logits (trainable), pi_theta for each token (detached: the sampling distribution is held fixed),
    and the three estimators at every token of the vocabulary."""
    policy = tensor(POLICY_LOGITS, device, dtype, True)
    tokens = Tensor(np.arange(len(POLICY_LOGITS)), device=device)
    weights = per_token_log_probs(policy, tokens).exp().detach()
    return policy, weights, estimators(policy, tensor(REFERENCE_LOGITS, device, dtype), tokens)


@pytest.mark.numpy_only
def test_expectations_of_k1_and_k3_equal_the_exact_reverse_kl(device):
    dtype, tolerance = usable_dtype(device)
    _, weights, k = enumerated(device, dtype)
    exact = kl_ref_from_logits(POLICY_LOGITS, REFERENCE_LOGITS)
    assert_close((weights * k["k1"]).sum().numpy(), exact, tolerance, tolerance, msg="E[k1]")
    assert_close((weights * k["k3"]).sum().numpy(), exact, tolerance, tolerance, msg="E[k3]")
    # k2 is biased: its expectation is half the second moment of the log-ratio, not the KL
    assert abs(float((weights * k["k2"]).sum().numpy()) - exact) > 0.05


@pytest.mark.numpy_only
def test_k3_is_nonnegative_per_token_and_k1_is_not(device):
    dtype, _ = usable_dtype(device)
    _, _, k = enumerated(device, dtype)
    assert np.all(k["k3"].numpy() >= 0) and np.any(k["k1"].numpy() < 0)


@pytest.mark.numpy_only
def test_k1_as_a_loss_has_zero_expected_gradient(device):
    # sum_x pi(x) grad log pi(x) = grad sum_x pi(x) = 0: k1 as a loss does not regularise at all
    dtype, tolerance = usable_dtype(device)
    policy, weights, k = enumerated(device, dtype)
    (weights * k["k1"]).sum().backward()
    assert_close(policy.grad.numpy(), np.zeros(len(POLICY_LOGITS)), 0, 10 * tolerance)


@pytest.mark.numpy_only
def test_k2_as_a_loss_has_the_reverse_kl_gradient(device):
    dtype, tolerance = usable_dtype(device)
    policy, weights, k = enumerated(device, dtype)
    (weights * k["k2"]).sum().backward()
    log_q, log_p = log_softmax_ref(POLICY_LOGITS), log_softmax_ref(REFERENCE_LOGITS)
    expected = np.exp(log_q) * (log_q - log_p - kl_from_log_probs(log_q, log_p))
    assert_close(policy.grad.numpy(), expected, tolerance, tolerance)
    # and the same as differentiating the exact reverse KL built from two cross-entropies
    exact = tensor(POLICY_LOGITS, device, dtype, True)
    reverse_kl(exact, tensor(REFERENCE_LOGITS, device, dtype)).backward()
    assert_close(policy.grad.numpy(), exact.grad.numpy(), tolerance, tolerance)


@pytest.mark.numpy_only
def test_k3_as_a_loss_has_the_forward_kl_gradient(device):
    # E[grad k3] = -sum_x pi_ref(x) grad log pi_theta(x) = grad KL(pi_ref || pi_theta) = softmax(theta) - pi_ref
    dtype, tolerance = usable_dtype(device)
    policy, weights, k = enumerated(device, dtype)
    (weights * k["k3"]).sum().backward()
    assert_close(policy.grad.numpy(), softmax_ref(POLICY_LOGITS) - softmax_ref(REFERENCE_LOGITS), tolerance, tolerance)
    exact = tensor(POLICY_LOGITS, device, dtype, True)
    forward_kl(exact, tensor(REFERENCE_LOGITS, device, dtype)).backward()
    assert_close(policy.grad.numpy(), exact.grad.numpy(), tolerance, tolerance)
    reverse_gradient = np.exp(log_softmax_ref(POLICY_LOGITS)) * (log_softmax_ref(POLICY_LOGITS) - log_softmax_ref(REFERENCE_LOGITS)
                                                               - kl_ref_from_logits(POLICY_LOGITS, REFERENCE_LOGITS))
    assert np.abs(policy.grad.numpy() - reverse_gradient).max() > 0.05, "k3's gradient should differ from the reverse-KL one"


@pytest.mark.numpy_only
def test_sampled_k1_and_k3_converge_to_the_exact_reverse_kl(device):
    dtype, _ = usable_dtype(device)
    probs = softmax_ref(POLICY_LOGITS)
    tokens = np.random.default_rng(81).choice(len(probs), size=20_000, p=probs)
    k = estimators(tensor(POLICY_LOGITS, device, dtype), tensor(REFERENCE_LOGITS, device, dtype), Tensor(tokens, device=device))
    exact = kl_ref_from_logits(POLICY_LOGITS, REFERENCE_LOGITS)
    for name in ("k1", "k3"):
        samples = k[name].numpy().astype(np.float64)
        standard_error = samples.std() / math.sqrt(len(samples))
        assert abs(samples.mean() - exact) < 4 * standard_error, (name, samples.mean(), exact, standard_error)


# ---- minimising cross-entropy minimises KL ----

@pytest.mark.numpy_only
def test_distillation_with_cross_entropy_drives_kl_to_zero(device):
    dtype, _ = usable_dtype(device)
    teacher_logits = tensor(rand(4, 8, low=-2, high=2, seed=82), device, dtype)
    teacher = teacher_logits.softmax()
    student = tensor(np.zeros((4, 8)), device, dtype, True)
    for _ in range(300):
        student.cross_entropy(teacher, reduction="sum").backward()
        with Tensor.no_grad():
            student.assign(student - 1.0 * student.grad)
        student.grad = None
    kl = forward_kl(student, teacher_logits).numpy()
    cross_entropy, teacher_entropy = student.cross_entropy(teacher, reduction="none").numpy(), entropy(teacher_logits).numpy()
    assert np.all(kl < 1e-4), kl
    assert_close(cross_entropy, teacher_entropy, 0, 1e-4)
