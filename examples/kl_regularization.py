"""KL regularisation with nothing but cross-entropy.

A policy over a vocabulary of tokens (its logits are the trainable Tensor) learns to raise a fixed random reward per
token, while beta * KL keeps it near a fixed reference policy. minigrad ships no KL function; every divergence here is
made of cross-entropies:

    forward KL  KL(ref || pi) = logits.cross_entropy(P_ref) - ref_logits.cross_entropy(P_ref)    (CE - H)
    reverse KL  KL(pi || ref) = ref_logits.cross_entropy(pi) - logits.cross_entropy(pi)         (pi = softmax(logits))
    log pi(x)   = -logits.cross_entropy(x, reduction="none")                                    (for k1, k2, k3)

The expected reward sum_x pi(x) r(x) is computed exactly, so there is no sampling noise in training; samples are drawn
only to show the Monte Carlo estimators k1, k2, k3 of the reverse KL that RL fine-tuning uses. A last run distils a
teacher into a student with plain cross-entropy on soft targets: KL -> 0 while CE -> H(teacher).

    python examples/kl_regularization.py [--device CL] [--steps 400] [--betas 0 0.1 1] [--plot kl.png]

examples/kl_finetune.py applies the same penalty to a language model: it fine-tunes examples/char_gpt.py's transformer
with a policy gradient on sampled text, the setting of RLHF and GRPO.
"""
import argparse
import importlib.util
import math
import time
import numpy as np
from minigrad import Device, Tensor
from minigrad.nn import optim

SAMPLE_SIZES = (10, 100, 1000, 10000)


def forward_kl(logits: Tensor, ref_logits: Tensor) -> Tensor:
    """KL(ref || pi): cross-entropy H(ref, pi) minus the entropy H(ref), a constant while ref is fixed."""
    ref_probs = ref_logits.softmax()
    return logits.cross_entropy(ref_probs) - ref_logits.cross_entropy(ref_probs)


def reverse_kl(logits: Tensor, ref_logits: Tensor) -> Tensor:
    """KL(pi || ref) with pi = softmax(logits) trainable: both cross-entropies depend on pi, and both are differentiated."""
    probs = logits.softmax()
    return ref_logits.cross_entropy(probs) - logits.cross_entropy(probs)


def token_log_probs(logits: Tensor, tokens: np.ndarray) -> Tensor:
    """log pi(x) for each sampled token x: one row of logits per sample, as a language model would give."""
    rows = logits.unsqueeze(0).expand(len(tokens), logits.shape[0])
    return -rows.cross_entropy(Tensor(tokens, device=logits.device), reduction="none")


def sampled_estimates(logits: Tensor, ref_logits: Tensor, n: int, rng: np.random.Generator) -> dict:
    """Means and standard errors of k1, k2, k3 over n tokens drawn from pi; delta = log ref(x) - log pi(x).
    k1 = -delta and k3 = exp(delta) - delta - 1 are unbiased for KL(pi || ref); k2 = delta**2 / 2 is biased."""
    probs = logits.softmax().numpy().astype(np.float64)
    tokens = rng.choice(len(probs), size=n, p=probs / probs.sum())
    with Tensor.no_grad():
        delta = token_log_probs(ref_logits, tokens) - token_log_probs(logits, tokens)
        samples = {"k1": -delta, "k2": 0.5 * delta.square(), "k3": delta.exp() - delta - 1}
        samples = {name: values.numpy().astype(np.float64) for name, values in samples.items()}
    return {name: (values.mean(), values.std() / math.sqrt(n)) for name, values in samples.items()}


def largest_gradient_gap(logits: Tensor, ref_logits: Tensor) -> float:
    """max |d CE / d logits - d KL(ref || pi) / d logits|: zero, because H(ref) does not depend on the logits."""
    gradients = []
    for loss_of in (lambda x: x.cross_entropy(ref_logits.softmax()), lambda x: forward_kl(x, ref_logits)):
        copy = Tensor(logits.numpy(), device=logits.device, requires_grad=True)
        loss_of(copy).backward()
        gradients.append(copy.grad.numpy())
    return float(np.abs(gradients[0] - gradients[1]).max())


def optimum_of_reverse_penalty(ref_logits: np.ndarray, rewards: np.ndarray, beta: float) -> np.ndarray:
    """The maximiser of E_pi[r] - beta KL(pi || ref) is pi* proportional to ref * exp(r / beta) (all mass on the best
    token when beta = 0), computed in float64 NumPy as an independent check on training."""
    if beta == 0:
        return (rewards == rewards.max()) / np.sum(rewards == rewards.max())
    scores = ref_logits.astype(np.float64) + rewards / beta
    weights = np.exp(scores - scores.max())
    return weights / weights.sum()


def exact_reverse_kl(probs: np.ndarray, ref_logits: np.ndarray) -> float:
    """sum p log(p / ref) in float64, with 0 log 0 = 0."""
    ref_log_probs = ref_logits - ref_logits.max() - np.log(np.exp(ref_logits - ref_logits.max()).sum())
    kept = probs > 0
    return float(np.sum(probs[kept] * (np.log(probs[kept]) - ref_log_probs[kept])))


def train_policy(beta, ref_logits, rewards, args, rng):
    """Adam on the logits, starting at the reference. Returns the reported rows, a (step, reward, KL(pi || ref)) curve
    for every step, and the final logits."""
    logits = Tensor(ref_logits.numpy(), device=args.device, requires_grad=True)
    optimizer = optim.Adam([logits], lr=args.lr)
    penalty = reverse_kl if args.penalty == "reverse" else lambda x, ref: x.cross_entropy(ref.softmax())
    history, curve = [], []
    print(f"\nbeta = {beta}   (penalty: {'KL(pi || ref)' if args.penalty == 'reverse' else 'H(ref, pi), i.e. KL(ref || pi) + const'})")
    print(f"{'step':>5} {'reward':>8} {'CE-H=KL(ref||pi)':>16} {'max|dCE-dKL|':>12} {'KL(pi||ref)':>11}"
          f" {'k1':>8} {'k2':>8} {'k3':>8}   (k: N={args.samples} samples)")
    for step in range(args.steps + 1):
        reward = (logits.softmax() * rewards).sum()
        loss = -reward + beta * penalty(logits, ref_logits) if beta else -reward
        with Tensor.no_grad():
            curve.append((step, reward.item(), reverse_kl(logits, ref_logits).item()))
        if step % max(args.steps // args.reports, 1) == 0 or step == args.steps:
            with Tensor.no_grad():
                forward = forward_kl(logits, ref_logits).item()
            row = {"step": step, "reward": curve[-1][1], "reverse": curve[-1][2], "forward": forward,
                   "gap": largest_gradient_gap(logits, ref_logits)}
            estimates = sampled_estimates(logits, ref_logits, args.samples, rng)
            history.append(row)
            print(f"{step:>5} {row['reward']:>8.4f} {row['forward']:>16.4f} {row['gap']:>12.1e} {row['reverse']:>11.4f}"
                  + "".join(f" {estimates[name][0]:>8.4f}" for name in ("k1", "k2", "k3")))
        if step == args.steps: break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return history, curve, logits


def estimator_table(finals, ref_logits, rng):
    """k1, k2, k3 from N sampled tokens against the exact KL(pi || ref), for each trained policy."""
    print("\nMonte Carlo estimates of KL(pi || ref) from N tokens sampled from pi: mean +- standard error")
    print(f"{'beta':>6} {'exact':>8} {'N':>6} {'k1':>17} {'k2 (biased)':>17} {'k3':>17}")
    for beta, logits in finals.items():
        exact = reverse_kl(logits, ref_logits).item()
        for n in SAMPLE_SIZES:
            estimates = sampled_estimates(logits, ref_logits, n, rng)
            print(f"{beta:>6g} {exact:>8.4f} {n:>6}" + "".join(f" {estimates[name][0]:>8.4f} +- {estimates[name][1]:<5.3f}"
                                                             for name in ("k1", "k2", "k3")))


def distil(args, rng):
    """A student learns a teacher's soft targets (8 contexts) with cross-entropy; KL = CE - H(teacher) goes to 0."""
    teacher = Tensor(rng.standard_normal((8, args.vocab)) * 2, device=args.device)
    teacher_probs = teacher.softmax()
    teacher_entropy = teacher.cross_entropy(teacher_probs).item()
    student = Tensor.zeros(8, args.vocab, device=args.device, requires_grad=True)
    optimizer = optim.Adam([student], lr=args.lr)
    print(f"\ndistillation: student trained with plain cross-entropy on soft targets, H(teacher) = {teacher_entropy:.4f}")
    print(f"{'step':>5} {'CE':>8} {'KL=CE-H':>9}")
    for step in range(args.steps + 1):
        loss = student.cross_entropy(teacher_probs)
        if step % max(args.steps // args.reports, 1) == 0 or step == args.steps:
            print(f"{step:>5} {loss.item():>8.4f} {loss.item() - teacher_entropy:>9.2e}")
        if step == args.steps: break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with Tensor.no_grad():
        return {"ce": loss.item(), "entropy": teacher_entropy, "kl": forward_kl(student, teacher).item()}


def plot(path, curves):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (reward_axes, kl_axes) = plt.subplots(1, 2, figsize=(10, 4))
    for beta, curve in curves.items():
        steps, rewards, kls = zip(*curve)
        reward_axes.plot(steps, rewards, label=f"beta = {beta:g}")
        kl_axes.plot(steps, kls, label=f"beta = {beta:g}")
    reward_axes.set(xlabel="step", ylabel="expected reward", title="reward")
    kl_axes.set(xlabel="step", ylabel="KL(pi || ref)", title="distance from the reference")
    kl_axes.set_yscale("symlog", linthresh=0.01)
    reward_axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    print(f"\nplot written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=Device.DEFAULT, help="NUMPY or CL")
    parser.add_argument("--steps", type=int, default=400, help="optimiser steps per run")
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.1, 1.0], help="KL weights to compare")
    parser.add_argument("--penalty", choices=["reverse", "forward"], default="reverse",
                        help="reverse: beta KL(pi || ref), as in RL fine-tuning; forward: beta H(ref, pi), plain cross-entropy")
    parser.add_argument("--vocab", type=int, default=2000, help="number of tokens")
    parser.add_argument("--lr", type=float, default=0.2, help="Adam learning rate")
    parser.add_argument("--samples", type=int, default=1000, help="sampled tokens per k1/k2/k3 estimate in the log")
    parser.add_argument("--reports", type=int, default=5, help="log lines per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE.png", help="draw reward and KL against step for each beta")
    args = parser.parse_args()
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        print(f"--plot needs matplotlib, which is not installed (pip install matplotlib); {args.plot} will not be written")
        args.plot = None
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    Tensor.manual_seed(args.seed)
    ref_logits_np = (rng.standard_normal(args.vocab) * 2).astype(np.float32)
    rewards_np = rng.uniform(0, 1, args.vocab).astype(np.float32)
    ref_logits, rewards = Tensor(ref_logits_np, device=args.device), Tensor(rewards_np, device=args.device)
    print(f"vocabulary {args.vocab}, device {args.device}, reference reward {(ref_logits.softmax() * rewards).sum().item():.4f}"
          f", best token reward {rewards_np.max():.4f}")

    results, curves, finals = {}, {}, {}
    for beta in args.betas:
        results[beta], curves[beta], finals[beta] = train_policy(beta, ref_logits, rewards, args, rng)
    estimator_table(finals, ref_logits, rng)
    distilled = distil(args, rng)

    optimum_note = "; 'optimum': pi* proportional to ref * exp(r / beta), exact" if args.penalty == "reverse" else ""
    print(f"\nsummary after {args.steps} steps ({args.penalty} penalty{optimum_note})")
    print(f"{'beta':>6} {'reward':>8} {'KL(pi||ref)':>11} {'KL(ref||pi)':>11} {'max|dCE-dKL|':>12}"
          + (f" {'optimum reward':>14} {'optimum KL':>10}" if args.penalty == "reverse" else ""))
    for beta, history in results.items():
        last = history[-1]
        line = f"{beta:>6g} {last['reward']:>8.4f} {last['reverse']:>11.4f} {last['forward']:>11.4f} {last['gap']:>12.1e}"
        if args.penalty == "reverse":
            optimum = optimum_of_reverse_penalty(ref_logits_np, rewards_np, beta)
            line += f" {float(optimum @ rewards_np):>14.4f} {exact_reverse_kl(optimum, ref_logits_np):>10.4f}"
        print(line)
    print(f"distillation: CE {distilled['ce']:.4f}, H(teacher) {distilled['entropy']:.4f}, KL(teacher || student) "
          f"{distilled['kl']:.2e}")
    if args.plot: plot(args.plot, curves)
    print(f"total time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
