"""KL-regularised fine-tuning of the character transformer: the RLHF / GRPO setting, with every KL made of cross-entropies.

A pretrained copy of examples/char_gpt.py's model is frozen as the reference pi_ref. The policy pi starts as a copy
and is trained with a policy-gradient loss to write more vowels: each step samples continuations of prompts from pi,
scores each by the fraction of its characters that are vowels, and raises the log-probability of the better-than-average
ones, while beta * KL(pi || pi_ref) keeps it near the reference. Nothing here is a KL function:

    log pi(x_t)           = -logits.cross_entropy(tokens, reduction="none")              per sampled token
    KL(pi || pi_ref) at t = ref_logits.cross_entropy(pi) - logits.cross_entropy(pi)      exact, pi = logits.softmax()
    k1 = log pi(x) - log pi_ref(x),   k3 = exp(d) - d - 1 with d = log pi_ref(x) - log pi(x)   (GRPO's estimators)

The exact KL, summed over the whole vocabulary at every generated position, is the penalty that is trained; k1 and k3,
computed from the sampled tokens alone as RL fine-tuning does when the vocabulary is too large to sum, are printed
beside it with their standard errors. Several beta are run from the same start: beta = 0 drifts far from the
reference, and a large beta stays near it.

    python examples/kl_finetune.py [--load char_gpt.safetensors] [--device CL] [--steps 20] [--betas 0 0.1 1] [--plot kl.png]

Without --load, the reference is pretrained here for --pretrain-steps steps (examples/char_gpt.py --save writes one).
"""
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: at these sizes BLAS threads only add overhead
import argparse
import importlib.util
import math
import sys
import time
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from char_gpt import GPT, VOCABULARY, Config, Sampler, decode, encode, stdlib_text, train  # noqa: E402
from minigrad import Device, Tensor, TinyJit  # noqa: E402
from minigrad.nn import optim, state  # noqa: E402

IS_VOWEL = np.array([char in "aeiouAEIOU" for char in VOCABULARY])


def kl_terms(logits: Tensor, ref_logits: Tensor, tokens: Tensor):
    """Per generated token: log pi(x), log pi_ref(x) and the exact KL(pi || pi_ref) over the vocabulary."""
    log_pi = -logits.cross_entropy(tokens, reduction="none")
    log_ref = -ref_logits.cross_entropy(tokens, reduction="none")
    pi = logits.softmax(dim=-1)
    exact_kl = ref_logits.cross_entropy(pi, reduction="none") - logits.cross_entropy(pi, reduction="none")
    return log_pi, log_ref, exact_kl


def estimates(log_pi: np.ndarray, log_ref: np.ndarray, exact_kl: np.ndarray) -> dict:
    """Means of the exact KL and of the k1 and k3 estimators over the sampled tokens; each estimator's standard error
    is that of its difference from the exact KL at the same positions, the noise that sampling the token adds."""
    delta = log_ref.astype(np.float64) - log_pi
    result = {"exact": float(exact_kl.mean())}
    for name, values in (("k1", -delta), ("k3", np.exp(delta) - delta - 1)):
        result[name] = (float(values.mean()), float((values - exact_kl).std() / math.sqrt(values.size)))
    return result


def finetune(beta: float, reference: GPT, prompts_from, args) -> dict:
    """GRPO-style policy gradient with an exact KL penalty, starting from a copy of the reference."""
    Tensor.manual_seed(args.seed)  # every beta sees the same first rollouts
    policy = GPT(Config())
    state.load_state_dict(policy, {name: value.numpy() for name, value in state.get_state_dict(reference).items()})
    optimizer = optim.Adam(state.get_parameters(policy), lr=args.lr)
    sampler, prompt_length = Sampler(policy), args.prompt_length

    @TinyJit
    def update(sequences: Tensor, advantages: Tensor):
        inputs, generated = sequences[:, :-1], sequences[:, prompt_length:]
        logits = policy(inputs)[:, prompt_length - 1:, :]  # the positions that predict the generated tokens
        with Tensor.no_grad(): ref_logits = reference(inputs)[:, prompt_length - 1:, :]
        log_pi, log_ref, exact_kl = kl_terms(logits, ref_logits, generated)
        # policy gradient of the mean reward (advantage times the sequence's log-probability), plus beta * exact KL per token
        loss = -(advantages * log_pi.sum(dim=1)).mean() + beta * exact_kl.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return log_pi.detach(), log_ref, exact_kl.detach()

    print(f"\nbeta = {beta}")
    print(f"{'step':>5} {'reward':>7} {'KL exact':>9} {'k1':>8} {'k3':>8}")
    rng, curve = np.random.default_rng(args.seed), []
    for step in range(args.steps + 1):
        sequences = sampler(prompts_from(rng, args.batch_size), args.new_tokens)
        rewards = IS_VOWEL[sequences[:, prompt_length:]].mean(axis=1)
        if step == args.steps: break
        advantages = (rewards - rewards.mean()).astype(np.float32)
        found = estimates(*[t.numpy() for t in update(Tensor(sequences), Tensor(advantages))])
        curve.append((step, float(rewards.mean()), found["exact"]))
        if step % args.log_every == 0 or step == args.steps - 1:
            print(f"{step:>5} {rewards.mean():>7.3f} {found['exact']:>9.4f} {found['k1'][0]:>8.4f} {found['k3'][0]:>8.4f}")

    # a larger rollout from the final policy: its reward, the exact KL, and the estimators with their standard errors
    sequences = np.concatenate([sampler(prompts_from(rng, args.batch_size), args.new_tokens) for _ in range(args.eval_batches)])
    with Tensor.no_grad():
        inputs = Tensor(sequences[:, :-1])
        terms = kl_terms(policy(inputs)[:, prompt_length - 1:, :], reference(inputs)[:, prompt_length - 1:, :],
                         Tensor(sequences[:, prompt_length:]))
    final = estimates(*[t.numpy() for t in terms])
    final.update(beta=beta, reward=float(IS_VOWEL[sequences[:, prompt_length:]].mean()), curve=curve,
                 sample=decode(sequences[0]), tokens=sequences[:, prompt_length:].size)
    return final


def plot(path, results):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axes = plt.subplots(figsize=(6, 4))
    for result in results:
        _, rewards, kls = zip(*result["curve"])
        axes.plot(kls, rewards, marker=".", label=f"beta = {result['beta']:g}")
    axes.set(xlabel="KL(pi || pi_ref) per token, exact", ylabel="reward (vowel fraction)", title="reward against KL")
    axes.set_xscale("symlog", linthresh=0.01)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    print(f"\nplot written to {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=Device.DEFAULT, help="NUMPY (default) or CL")
    parser.add_argument("--load", metavar="FILE", help="reference weights written by char_gpt.py --save")
    parser.add_argument("--pretrain-steps", type=int, default=100, help="steps of char_gpt training without --load")
    parser.add_argument("--steps", type=int, default=20, help="policy-gradient steps per beta")
    parser.add_argument("--betas", type=float, nargs="+", default=[0.0, 0.1, 1.0], help="KL weights to compare")
    parser.add_argument("--batch-size", type=int, default=16, help="rollouts per step")
    parser.add_argument("--prompt-length", type=int, default=8, help="prompt characters from the validation text")
    parser.add_argument("--new-tokens", type=int, default=16, help="characters sampled after each prompt (and rewarded)")
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate of the fine-tuning")
    parser.add_argument("--eval-batches", type=int, default=4, help="batches of rollouts for the final KL estimates")
    parser.add_argument("--log-every", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE.png", help="draw reward against KL for each beta")
    args = parser.parse_args()
    if args.prompt_length + args.new_tokens > Config().block_size:
        parser.error(f"--prompt-length + --new-tokens must fit the model's context of {Config().block_size} characters")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        print(f"--plot needs matplotlib, which is not installed (pip install matplotlib); {args.plot} will not be written")
        args.plot = None
    Device.DEFAULT = Device.canonicalize(args.device)
    Tensor.manual_seed(args.seed)
    start = time.perf_counter()
    data = encode(stdlib_text())
    reference = GPT(Config())
    if args.load:
        state.load_state_dict(reference, state.load(args.load))
        print(f"reference loaded from {args.load}")
    else:
        print(f"pretraining the reference for {args.pretrain_steps} steps (char_gpt.py --save FILE, then --load FILE, skips this)")
        pretrain_args = argparse.Namespace(steps=args.pretrain_steps, batch_size=32, lr=3e-3, warmup=30, jit=True, seed=args.seed,
                                           eval_every=max(args.pretrain_steps // 4, 1))
        train(reference, data, pretrain_args)
    for param in state.get_parameters(reference): param.requires_grad = False  # frozen

    validation = data[int(0.9 * len(data)):]
    prompts_from = lambda rng, count: np.stack([validation[i:i + args.prompt_length]
                                                for i in rng.integers(0, len(validation) - args.prompt_length, count)])
    results = [finetune(beta, reference, prompts_from, args) for beta in args.betas]

    print(f"\nafter {args.steps} steps: reward and KL(pi || pi_ref) per generated token over {results[0]['tokens']} tokens; "
          "k1, k3: mean +- standard error")
    print(f"{'beta':>6} {'reward':>7} {'KL exact':>9} {'k1':>18} {'k3':>18}")
    for result in results:
        print(f"{result['beta']:>6g} {result['reward']:>7.3f} {result['exact']:>9.4f}"
              + "".join(f" {result[name][0]:>9.4f} +- {result[name][1]:<6.4f}" for name in ("k1", "k3")))
    for result in results: print(f"sample, beta = {result['beta']:g}: {result['sample']!r}")
    if args.plot: plot(args.plot, results)
    print(f"total time {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
