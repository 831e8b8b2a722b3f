"""A small character-level transformer in the style of nanoGPT, trained on the sources of Python's standard library.

Token and position embeddings, 2 blocks of pre-LayerNorm causal self-attention (4 heads) and an MLP, a final
LayerNorm and a linear head, trained with AdamW and a warmup + cosine learning-rate schedule. It prints the validation
loss as it falls and samples text at the end. The text is a fixed list of standard-library modules, so every machine
with Python has it and nothing is downloaded.

    python examples/char_gpt.py [--device CL] [--steps 300] [--no-jit] [--seed 0] [--save char_gpt.safetensors]

The training step runs under TinyJit by default: its first call runs plainly, its second is captured, and later
calls replay the captured kernels (the learning rate set between steps is read on every replay).
"""
import argparse
import math
import os
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before NumPy loads: at these sizes BLAS threads only add overhead
import sys
import time
from dataclasses import dataclass
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing minigrad
from minigrad import Device, Tensor, TinyJit, nn  # noqa: E402
from minigrad.nn import optim, state  # noqa: E402

# modules present in every CPython 3.8+; the text is their concatenation, in this order
STDLIB_MODULES = ("os.py", "functools.py", "collections/__init__.py", "argparse.py", "textwrap.py", "string.py",
                                    "random.py", "heapq.py", "bisect.py", "contextlib.py", "fractions.py", "statistics.py", "calendar.py",
                                    "shutil.py", "tempfile.py", "abc.py", "copy.py", "pprint.py", "glob.py", "fnmatch.py")
# the vocabulary: newline and the 95 printable ASCII characters; tabs become 4 spaces and other characters are dropped
VOCABULARY = "\n" + "".join(chr(code) for code in range(32, 127))


def stdlib_text() -> str:
    """The concatenated sources of STDLIB_MODULES, found next to the os module."""
    folder = os.path.dirname(os.__file__)
    parts = [Path(folder, name).read_text(encoding="utf-8") for name in STDLIB_MODULES if Path(folder, name).exists()]
    return "\n".join(parts)


def encode(text: str) -> np.ndarray:
    """Characters to token ids (int32), dropping those outside VOCABULARY."""
    lookup = {char: i for i, char in enumerate(VOCABULARY)}
    return np.array([lookup[char] for char in text.replace("\t", "    ") if char in lookup], dtype=np.int32)


def decode(tokens) -> str: return "".join(VOCABULARY[int(t)] for t in tokens)


@dataclass
class Config:
    vocab_size: int = len(VOCABULARY)
    block_size: int = 32
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64


class CausalSelfAttention:
    def __init__(self, config: Config):
        self.n_head = config.n_head
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd)

    def __call__(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = [t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v)]  # (B, nh, T, hs)
        y = Tensor.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


class MLP:
    def __init__(self, config: Config):
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)

    def __call__(self, x: Tensor) -> Tensor: return self.c_proj(self.c_fc(x).gelu())


class Block:
    def __init__(self, config: Config):
        self.ln_1, self.attn = nn.LayerNorm(config.n_embd), CausalSelfAttention(config)
        self.ln_2, self.mlp = nn.LayerNorm(config.n_embd), MLP(config)

    def __call__(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT:
    def __init__(self, config: Config):
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.h = [Block(config) for _ in range(config.n_layer)]
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # nanoGPT's init: N(0, 0.02) weights, zero biases, and residual projections scaled down by sqrt(2 * n_layer)
        for name, param in state.get_state_dict(self).items():
            if name.endswith("bias"): param.assign(Tensor.zeros(*param.shape))
            elif name.endswith("weight") and not name.startswith("ln") and ".ln_" not in name:
                std = 0.02 / math.sqrt(2 * config.n_layer) if name.endswith("c_proj.weight") else 0.02
                param.assign(Tensor.normal(*param.shape, mean=0.0, std=std))

    def __call__(self, idx: Tensor) -> Tensor:
        """Logits (B, T, vocab_size) for token ids idx (B, T), T <= block_size."""
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(Tensor.arange(T))
        for block in self.h: x = block(x)
        return self.lm_head(self.ln_f(x))

    def loss(self, idx: Tensor, targets: Tensor) -> Tensor:
        logits = self(idx)
        return logits.reshape(-1, logits.shape[-1]).cross_entropy(targets.reshape(-1))


class Sampler:
    """Continues prompts with tokens drawn one at a time from a model's softmax. The model always reads a window of
    one width, filled left to right (zeros after the last token): causal attention makes position t's logits
    independent of the positions after it, so every draw is a forward pass of the same shape, which TinyJit replays
    (and which CL compiles once), instead of a new shape for every length of the context."""
    def __init__(self, model: GPT, temperature=1.0):
        self.model, self.temperature = model, temperature
        self.probs = TinyJit(self._probs)

    def _probs(self, window: Tensor) -> Tensor:
        with Tensor.no_grad(): return (self.model(window) / self.temperature).softmax(dim=-1)

    def __call__(self, prompts: np.ndarray, new_tokens: int) -> np.ndarray:
        """prompts (B, P) of token ids -> (B, P + new_tokens), the last new_tokens sampled."""
        tokens = np.concatenate([prompts, np.zeros((len(prompts), new_tokens), np.int32)], axis=1)
        width = min(self.model.config.block_size, tokens.shape[1])
        for t in range(prompts.shape[1], tokens.shape[1]):
            start = max(t - width, 0)
            window = np.zeros((len(tokens), width), np.int32)
            window[:, :t - start] = tokens[:, start:t]
            next_token = self.probs(Tensor(window))[:, t - 1 - start, :].multinomial(num_samples=1)
            tokens[:, t] = next_token.numpy()[:, 0]
        return tokens


def get_batch(data: np.ndarray, batch_size: int, block_size: int, rng: np.random.Generator):
    """batch_size random windows of block_size tokens and the same windows shifted by one (the targets)."""
    starts = rng.integers(0, len(data) - block_size - 1, batch_size)
    x = np.stack([data[i:i + block_size] for i in starts])
    y = np.stack([data[i + 1:i + block_size + 1] for i in starts])
    return Tensor(x), Tensor(y)


def learning_rate(step: int, max_lr: float, warmup: int, total: int, min_lr: float) -> float:
    """Linear warmup to max_lr over `warmup` steps, then a cosine decay to min_lr at `total`."""
    if step < warmup: return max_lr * (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=Device.DEFAULT, help="NUMPY (default) or CL")
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--warmup", type=int, default=30, help="warmup steps (at most a tenth of --steps)")
    parser.add_argument("--eval-every", type=int, default=50, help="steps between validation losses")
    parser.add_argument("--jit", action=argparse.BooleanOptionalAction, default=True, help="TinyJit the training step")
    parser.add_argument("--sample-chars", type=int, default=200, help="characters sampled at the end")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", metavar="FILE", help="write the trained weights here (safetensors)")
    return parser.parse_args(argv)


def train(model: GPT, data: np.ndarray, args, log=print) -> list:
    """Train model on data (90% train, the last 10% for validation) with AdamW and the lr schedule; returns the
    (step, validation loss) pairs it printed."""
    config, rng = model.config, np.random.default_rng(args.seed)
    split = int(0.9 * len(data))
    train_data, val_data = data[:split], data[split:]
    val_batches = [get_batch(val_data, args.batch_size, config.block_size, np.random.default_rng(1000 + i)) for i in range(4)]
    optimizer = optim.AdamW(state.get_parameters(model), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.1)

    def train_step(x: Tensor, y: Tensor) -> Tensor:
        loss = model.loss(x, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    def val_loss(x: Tensor, y: Tensor) -> Tensor:
        with Tensor.no_grad(): return model.loss(x, y)

    # val_loss runs plainly: it is called every eval_every steps, so a TinyJit would rarely get past its capture
    if args.jit: train_step = TinyJit(train_step)
    warmup = min(args.warmup, max(args.steps // 10, 1))
    history, start = [], time.perf_counter()
    for step in range(args.steps + 1):
        if step % args.eval_every == 0 or step == args.steps:
            loss = sum(val_loss(x, y).item() for x, y in val_batches) / len(val_batches)
            history.append((step, loss))
            log(f"step {step:4d}/{args.steps}  val loss {loss:.4f}  lr {optimizer.lr:.2e}  {time.perf_counter() - start:6.1f} s")
        if step == args.steps: break
        optimizer.lr = learning_rate(step, args.lr, warmup, args.steps, args.lr / 10)
        with Tensor.train(): train_step(*get_batch(train_data, args.batch_size, config.block_size, rng))
    return history


def main():
    args = parse_args()
    Device.DEFAULT = Device.canonicalize(args.device)
    Tensor.manual_seed(args.seed)
    start = time.perf_counter()
    data = encode(stdlib_text())
    model = GPT(Config())
    parameter_count = sum(p.numel() for p in state.get_parameters(model))
    print(f"{len(data):,} characters of standard-library source, vocabulary {len(VOCABULARY)}, {parameter_count:,} parameters, "
                f"device {Device.DEFAULT}, {'TinyJit' if args.jit else 'no JIT'}")
    history = train(model, data, args)
    train_time = time.perf_counter() - start
    if args.save:
        state.save(state.get_state_dict(model), args.save)
        print(f"weights written to {args.save}")
    sample = Sampler(model)(encode("def ").reshape(1, -1), args.sample_chars)[0]
    print(f"\nsample:\n{decode(sample)}\n")
    print(f"val loss {history[0][1]:.4f} -> {history[-1][1]:.4f} in {args.steps} steps; training {train_time:.1f} s, "
                f"total {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
