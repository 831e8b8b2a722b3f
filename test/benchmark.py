"""Benchmarks (a script, not a test): python test/benchmark.py
Each figure is a ratio to hand-written NumPy (or PyTorch) measured in the same process, so it means something on a
noisy machine. BLAS and PyTorch run on one thread unless OPENBLAS_NUM_THREADS / OMP_NUM_THREADS say otherwise."""
import math
import os
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ.setdefault(_variable, "1")  # before numpy loads
import re
import sys
import time
from pathlib import Path
import numpy as np
from minigrad import Device, Tensor, TinyJit, nn
from minigrad.nn import optim, state

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import char_gpt  # noqa: E402


def best_of(fn, repeats=5, number=1):
  """The fastest of `repeats` timings of `number` calls, in seconds per call."""
  fn()  # warm up: compile, allocate
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    for _ in range(number): fn()
    times.append((time.perf_counter() - start) / number)
  return min(times)


def tiny_graph_us(device="NUMPY"):
  x = Tensor(np.ones((4, 4), np.float32), device=device).realize()
  return best_of(lambda: ((x * 2 + 1) * x).realize(), number=200) * 1e6


def matmul_ratio(device="NUMPY", n=1024):
  a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
  ta, tb = Tensor(a, device=device).realize(), Tensor(b, device=device).realize()
  ours, reference = best_of(lambda: (ta @ tb).realize()), best_of(lambda: a @ b)
  return ours, reference


def mlp_numpy_step(x, labels, w1, b1, w2, b2, lr):
  """Forward and backward of a 784-128-10 ReLU MLP with mean cross-entropy, by hand."""
  hidden = np.maximum(x @ w1.T + b1, 0)
  logits = hidden @ w2.T + b2
  shifted = logits - logits.max(1, keepdims=True)
  probs = np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)
  loss = -np.log(probs[np.arange(len(labels)), labels]).mean()
  dlogits = probs
  dlogits[np.arange(len(labels)), labels] -= 1
  dlogits /= len(labels)
  dhidden = (dlogits @ w2) * (hidden > 0)
  for param, grad in ((w2, dlogits.T @ hidden), (b2, dlogits.sum(0)), (w1, dhidden.T @ x), (b1, dhidden.sum(0))): param -= lr * grad
  return loss


def mlp_ratio(device="NUMPY", batch=128):
  rng = np.random.default_rng(0)
  x, labels = rng.standard_normal((batch, 784)).astype(np.float32), rng.integers(0, 10, batch)
  arrays = [rng.uniform(-0.05, 0.05, s).astype(np.float32) for s in ((128, 784), (128,), (10, 128), (10,))]
  params = [Tensor(a.copy(), device=device, requires_grad=True) for a in arrays]
  tx, tlabels = Tensor(x, device=device), Tensor(labels.astype(np.int32), device=device)

  def minigrad_step():
    w1, b1, w2, b2 = params
    loss = tx.linear(w1, b1).relu().linear(w2, b2).cross_entropy(tlabels)
    loss.backward()
    with Tensor.no_grad():
      for p in params:
        p.assign(p - 0.01 * p.grad)
        p.grad = None
    Tensor.realize(loss, *params)

  ours = best_of(minigrad_step, repeats=5, number=10)
  reference = best_of(lambda: mlp_numpy_step(x, labels, *arrays, 0.01), repeats=5, number=10)
  return ours, reference


def mlp_nn_ratio(device="NUMPY", batch=128):
  """The same step written the way users write it: nn.Linear layers and optim.SGD."""
  from minigrad import nn
  from minigrad.nn import optim
  rng = np.random.default_rng(0)
  x, labels = rng.standard_normal((batch, 784)).astype(np.float32), rng.integers(0, 10, batch)
  arrays = [rng.uniform(-0.05, 0.05, s).astype(np.float32) for s in ((128, 784), (128,), (10, 128), (10,))]
  l1, l2 = nn.Linear(784, 128), nn.Linear(128, 10)
  optimizer = optim.SGD([l1.weight, l1.bias, l2.weight, l2.bias], lr=0.01)
  tx, tlabels = Tensor(x, device=device), Tensor(labels.astype(np.int32), device=device)

  def minigrad_step():
    loss = l2(l1(tx).relu()).cross_entropy(tlabels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

  ours = best_of(minigrad_step, repeats=5, number=10)
  reference = best_of(lambda: mlp_numpy_step(x, labels, *arrays, 0.01), repeats=5, number=10)
  return ours, reference


# ---- Workloads: three small programs written as their authors write them, and the MLP above through TinyJit. Each is
# timed per training step (ending with the loss read on the host) on NUMPY, without and with TinyJit, beside the same
# program in PyTorch (CPU, eager) in this process when torch is installed.
def per_step(step, warmup=3, repeats=3, number=5):
  """Seconds per call of a training step: the fastest of `repeats` runs of `number` steps, after `warmup` steps (a
  TinyJit needs two calls before it replays)."""
  for _ in range(warmup): step()
  return best_of(step, repeats=repeats, number=number)


def per_step_side_by_side(steps, warmup=3, repeats=5, number=3):
  """per_step for several programs, their timed runs taken in turn, so that a change in the machine's load hits
  them all alike and their ratios stay meaningful."""
  for step in steps:
    for _ in range(warmup): step()
  best = [math.inf] * len(steps)
  for _ in range(repeats):
    for i, step in enumerate(steps):
      start = time.perf_counter()
      for _ in range(number): step()
      best[i] = min(best[i], (time.perf_counter() - start) / number)
  return best


def try_import_torch():
  try: import torch
  except ImportError: return None
  torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
  return torch


def make_moons(n=100, noise=0.1, seed=0):
  """scikit-learn's make_moons: two interleaved half circles with Gaussian noise, labelled -1 and 1 as micrograd's demo does."""
  rng = np.random.default_rng(seed)
  upper, lower = np.linspace(0, np.pi, n - n // 2), np.linspace(0, np.pi, n // 2)
  points = np.concatenate([np.stack([np.cos(upper), np.sin(upper)], 1), np.stack([1 - np.cos(lower), 0.5 - np.sin(lower)], 1)])
  points += rng.normal(scale=noise, size=points.shape)
  return points.astype(np.float32), np.concatenate([-np.ones(n - n // 2), np.ones(n // 2)]).astype(np.float32)


class MoonsMLP:
  """micrograd's MLP(2, [16, 16, 1]): ReLU after every layer but the last."""
  def __init__(self): self.layers = [nn.Linear(2, 16), nn.Linear(16, 16), nn.Linear(16, 1)]

  def __call__(self, x):
    for layer in self.layers[:-1]: x = layer(x).relu()
    return self.layers[-1](x)


def moons_steps(torch):
  """micrograd's demo: all 100 points each step, the SVM hinge loss plus 1e-4 * L2, and p -= lr * p.grad with a
  decaying lr. Under TinyJit the lr is a Tensor argument, since a Python number inside a jitted function is frozen."""
  x_np, y_np = make_moons()
  plain, jitted = [_moons_loop(minigrad_moons_step(jit), Tensor(x_np), Tensor(y_np), Tensor if jit else float) for jit in (False, True)]
  if torch is None: return plain, jitted, None
  torch.manual_seed(0)
  model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))

  def torch_step(inputs, labels, learning_rate):
    scores = model(inputs).reshape(-1)
    total_loss = (1 + -labels * scores).relu().mean() + 1e-4 * sum((p * p).sum() for p in model.parameters())
    accuracy = ((labels > 0) == (scores > 0)).float().mean()
    model.zero_grad()
    total_loss.backward()
    with torch.no_grad():
      for p in model.parameters(): p -= learning_rate * p.grad
    return total_loss, accuracy
  return plain, jitted, _moons_loop(torch_step, torch.tensor(x_np), torch.tensor(y_np), float)


def minigrad_moons_step(jit):
  Tensor.manual_seed(0)
  model = MoonsMLP()
  params = state.get_parameters(model)

  def step(inputs, labels, learning_rate):
    scores = model(inputs).reshape(-1)
    data_loss = (1 + -labels * scores).relu().mean()
    reg_loss = 1e-4 * sum((p * p).sum() for p in params)
    total_loss = data_loss + reg_loss
    accuracy = ((labels > 0) == (scores > 0)).float().mean()
    for p in params: p.grad = None
    total_loss.backward()
    with Tensor.no_grad():
      for p in params: p -= learning_rate * p.grad
    return total_loss, accuracy
  return TinyJit(step) if jit else step


def _moons_loop(step, inputs, labels, as_lr):
  k = [0]

  def run():
    loss, accuracy = step(inputs, labels, as_lr(1.0 - 0.9 * (k[0] % 100) / 100))
    k[0] += 1
    return loss.item(), accuracy.item()
  return run


def stdlib_words():
  """makemore's dataset shape (lowercase words of up to 15 letters) from the identifiers in char_gpt's standard-library text."""
  return sorted({word for word in re.findall(r"[a-z]+", char_gpt.stdlib_text()) if 2 <= len(word) <= 15})


def makemore_dataset(words):
  """makemore's CharDataset: x is <START>=0 then the word, y the word then 0, and -1 (ignored) past its end."""
  stoi = {char: i + 1 for i, char in enumerate(sorted(set("".join(words))))}
  length = max(len(word) for word in words) + 1
  x, y = np.zeros((len(words), length), np.int32), np.zeros((len(words), length), np.int32)
  for row, word in enumerate(words):
    codes = [stoi[char] for char in word]
    x[row, 1:1 + len(codes)], y[row, :len(codes)], y[row, len(codes) + 1:] = codes, codes, -1
  return x, y, len(stoi) + 1


class MakemoreMLP:
  """makemore's MLP: the embeddings of the previous block_size characters (a <BLANK> token before the word),
  concatenated, then Linear, tanh, Linear; cross-entropy that ignores -1 targets."""
  def __init__(self, vocab_size, block_size, n_embd=64, n_embd2=64):
    self.vocab_size, self.block_size = vocab_size, block_size
    self.wte = nn.Embedding(vocab_size + 1, n_embd)
    self.mlp = [nn.Linear(block_size * n_embd, n_embd2), nn.Linear(n_embd2, vocab_size)]

  def __call__(self, idx, targets):
    embs, first_column = [], Tensor.arange(idx.shape[1]) == 0
    for _ in range(self.block_size):
      embs.append(self.wte(idx))
      idx = first_column.where(self.vocab_size, idx.roll(1, 1))  # torch: idx = torch.roll(idx, 1, 1); idx[:, 0] = vocab_size
    logits = self.mlp[1](self.mlp[0](Tensor.cat(embs, dim=-1)).tanh())
    return logits.reshape(-1, logits.shape[-1]).cross_entropy(targets.reshape(-1), ignore_index=-1)


def makemore_steps(torch, batch_size=32):
  """makemore's training loop for its MLP: random batches of 32 words, AdamW(lr=5e-4, betas=(0.9, 0.99), weight_decay=0.01)."""
  x_np, y_np, vocab_size = makemore_dataset(stdlib_words())
  steps = {}
  for jit in (False, True):
    Tensor.manual_seed(0)
    model = MakemoreMLP(vocab_size, x_np.shape[1])
    optimizer = optim.AdamW(state.get_parameters(model), lr=5e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)

    def step(x, y, model=model, optimizer=optimizer):
      loss = model(x, y)
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()
      return loss
    steps[jit] = _batches_loop(TinyJit(step) if jit else step, x_np, y_np, batch_size, Tensor)
  if torch is None: return steps[False], steps[True], None
  F = torch.nn.functional

  class TorchMakemoreMLP(torch.nn.Module):
    def __init__(self, vocab_size, block_size, n_embd=64, n_embd2=64):
      super().__init__()
      self.vocab_size, self.block_size = vocab_size, block_size
      self.wte = torch.nn.Embedding(vocab_size + 1, n_embd)
      self.mlp = torch.nn.Sequential(torch.nn.Linear(block_size * n_embd, n_embd2), torch.nn.Tanh(), torch.nn.Linear(n_embd2, vocab_size))

    def forward(self, idx, targets):
      embs = []
      for _ in range(self.block_size):
        embs.append(self.wte(idx))
        idx = torch.roll(idx, 1, 1)
        idx[:, 0] = self.vocab_size
      logits = self.mlp(torch.cat(embs, -1))
      return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
  torch.manual_seed(0)
  model = TorchMakemoreMLP(vocab_size, x_np.shape[1])
  optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.01)

  def torch_step(x, y):
    loss = model(x, y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss
  return steps[False], steps[True], _batches_loop(torch_step, x_np, y_np, batch_size, lambda a: torch.tensor(a, dtype=torch.long))


def _batches_loop(step, x_np, y_np, batch_size, as_tensor):
  rng = np.random.default_rng(0)

  def run():
    rows = rng.integers(0, len(x_np), batch_size)
    return step(as_tensor(x_np[rows]), as_tensor(y_np[rows])).item()
  return run


def char_gpt_steps(torch, batch_size=32):
  """examples/char_gpt.py's model and step (n_embd 64, 4 heads, 2 blocks, block 32), AdamW(betas=(0.9, 0.99),
  weight_decay=0.1), on random windows of its text."""
  data = char_gpt.encode(char_gpt.stdlib_text())
  config = char_gpt.Config()
  windows = lambda rng: rng.integers(0, len(data) - config.block_size - 1, batch_size)
  steps = {}
  for jit in (False, True):
    Tensor.manual_seed(0)
    model = char_gpt.GPT(config)
    optimizer = optim.AdamW(state.get_parameters(model), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

    def step(x, y, model=model, optimizer=optimizer):
      loss = model.loss(x, y)
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()
      return loss
    steps[jit] = _windows_loop(TinyJit(step) if jit else step, data, config.block_size, windows, Tensor)
  if torch is None: return steps[False], steps[True], None
  torch.manual_seed(0)
  model = torch_char_gpt(torch, config)
  optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)

  def torch_step(x, y):
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss
  return steps[False], steps[True], _windows_loop(torch_step, data, config.block_size, windows, lambda a: torch.tensor(a, dtype=torch.long))


def _windows_loop(step, data, block_size, windows, as_tensor):
  rng = np.random.default_rng(0)

  def run():
    starts = windows(rng)
    x = np.stack([data[i:i + block_size] for i in starts])
    y = np.stack([data[i + 1:i + block_size + 1] for i in starts])
    return step(as_tensor(x), as_tensor(y)).item()
  return run


def torch_char_gpt(torch, config):
  """char_gpt's model in PyTorch, module for module (nanoGPT's layout)."""
  nn_, F = torch.nn, torch.nn.functional

  class Block(nn_.Module):
    def __init__(self):
      super().__init__()
      self.ln_1, self.ln_2 = nn_.LayerNorm(config.n_embd), nn_.LayerNorm(config.n_embd)
      self.c_attn, self.attn_proj = nn_.Linear(config.n_embd, 3 * config.n_embd), nn_.Linear(config.n_embd, config.n_embd)
      self.c_fc, self.mlp_proj = nn_.Linear(config.n_embd, 4 * config.n_embd), nn_.Linear(4 * config.n_embd, config.n_embd)

    def forward(self, x):
      B, T, C = x.shape
      q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
      q, k, v = [t.view(B, T, config.n_head, C // config.n_head).transpose(1, 2) for t in (q, k, v)]
      y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(B, T, C)
      x = x + self.attn_proj(y)
      return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))

  class GPT(nn_.Module):
    def __init__(self):
      super().__init__()
      self.wte, self.wpe = nn_.Embedding(config.vocab_size, config.n_embd), nn_.Embedding(config.block_size, config.n_embd)
      self.h = nn_.ModuleList([Block() for _ in range(config.n_layer)])
      self.ln_f, self.lm_head = nn_.LayerNorm(config.n_embd), nn_.Linear(config.n_embd, config.vocab_size, bias=False)

    def forward(self, idx):
      x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
      for block in self.h: x = block(x)
      return self.lm_head(self.ln_f(x))
  return GPT()


def mlp_steps(torch, batch=128):
  """mlp_nn_ratio's step (nn.Linear + optim.SGD) plain and under TinyJit, the hand-written NumPy step, and PyTorch's."""
  rng = np.random.default_rng(0)
  x, labels = rng.standard_normal((batch, 784)).astype(np.float32), rng.integers(0, 10, batch)
  arrays = [rng.uniform(-0.05, 0.05, s).astype(np.float32) for s in ((128, 784), (128,), (10, 128), (10,))]
  steps = []
  for jit in (False, True):
    l1, l2 = nn.Linear(784, 128), nn.Linear(128, 10)
    optimizer = optim.SGD([l1.weight, l1.bias, l2.weight, l2.bias], lr=0.01)

    def step(images, targets, l1=l1, l2=l2, optimizer=optimizer):
      loss = l2(l1(images).relu()).cross_entropy(targets)
      optimizer.zero_grad()
      loss.backward()
      optimizer.step()
      return loss
    step = TinyJit(step) if jit else step
    steps.append(lambda step=step, images=Tensor(x), targets=Tensor(labels.astype(np.int32)): step(images, targets))
  steps.append(lambda: mlp_numpy_step(x, labels, *arrays, 0.01))
  if torch is None: return steps
  tx, tlabels = torch.tensor(x), torch.tensor(labels)
  model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
  optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

  def torch_step():
    loss = torch.nn.functional.cross_entropy(model(tx), tlabels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
  return steps + [torch_step]


def workload_rows():
  torch = try_import_torch()
  threads = f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}" + (f", torch threads {torch.get_num_threads()}" if torch else "")
  print(f"\nworkloads, seconds per training step on NUMPY ({threads}); "
        + ("PyTorch CPU eager in this process" if torch else "torch is not installed: no PyTorch column"))
  plain_s, jit_s, numpy_s, *torch_s = per_step_side_by_side(mlp_steps(torch), number=10)
  print(f"MLP 784-128-10 train step, batch 128, nn.Linear + optim.SGD: {plain_s * 1e3:.2f} ms ({plain_s / numpy_s:.2f}x NumPy), "
        f"TinyJit {jit_s * 1e3:.2f} ms ({jit_s / numpy_s:.2f}x NumPy), hand-written NumPy {numpy_s * 1e3:.2f} ms"
        + (f", PyTorch CPU {torch_s[0] * 1e3:.2f} ms" if torch_s else ""))
  print(f"{'program':<46} {'minigrad':>10} {'TinyJit':>10} {'PyTorch':>10} {'minigrad/PyTorch':>17} {'TinyJit/PyTorch':>16}")
  for name, make in (("micrograd moons MLP 2-16-16-1, 100 points", moons_steps),
                     ("makemore MLP (embedding, cat, tanh, AdamW), B=32", makemore_steps),
                     ("char transformer 2x(64, 4 heads), block 32, B=32", char_gpt_steps)):
    programs = [program for program in make(torch) if program is not None]
    plain_s, jit_s, *torch_s = per_step_side_by_side(programs)
    row = f"{name:<46} {plain_s * 1e3:>8.2f}ms {jit_s * 1e3:>8.2f}ms"
    if torch_s: row += f" {torch_s[0] * 1e3:>8.2f}ms {plain_s / torch_s[0]:>16.2f}x {jit_s / torch_s[0]:>15.2f}x"
    print(row, flush=True)


def schedule_cache_rows(repeats=4, number=5):
  """Each program's plain step with the schedule lookup on and off (every graph cut and lowered anew), timed in turns
  in this process."""
  from minigrad import schedule

  class NeverFound(dict):
    def get(self, key, default=None): return None
  print("\nplain steps with the schedule cache on / off (NUMPY)")
  cached = schedule.schedules
  for name, make in (("micrograd moons MLP", moons_steps), ("makemore MLP", makemore_steps), ("char transformer", char_gpt_steps)):
    step, best = make(None)[0], {"on": float("inf"), "off": float("inf")}
    for _ in range(3): step()
    for _ in range(repeats):
      for mode, table in (("on", cached), ("off", NeverFound())):
        schedule.schedules = table
        start = time.perf_counter()
        for _ in range(number): step()
        best[mode] = min(best[mode], (time.perf_counter() - start) / number)
    schedule.schedules = cached
    print(f"{name:<22} {best['on'] * 1e3:8.2f} ms on, {best['off'] * 1e3:8.2f} ms off", flush=True)


# ---- CL (OpenCL) rows. CL kernels run asynchronously, so every timed call ends by waiting for the queue.
def cl_synchronized(fn):
  def run():
    fn()
    Device["CL"].synchronize()
  return run


def interleaved(functions, repeats):
  """The fastest time of each function, timed in turns so that a noisy machine slows all of them alike."""
  for fn in functions: fn()  # warm up: compile, allocate
  best = [float("inf")] * len(functions)
  for _ in range(repeats):
    for i, fn in enumerate(functions):
      start = time.perf_counter()
      fn()
      best[i] = min(best[i], time.perf_counter() - start)
  return best


# Hand-written OpenCL references: the best kernels we could write for a CPU (PoCL), run on the same queue as minigrad's,
# in vectors of the device's width W (its preferred float vector width, 4 to 16). Each work-item of `matmul` accumulates
# 6 rows x 2W columns of the output in 12 vector registers; rows past the end read the last row again and are not
# stored. N and W are set when the program is built.
REFERENCE_KERNELS = """
#define ROW(i) int r##i = min(m0 + i, N - 1) * N; floatW c##i##0 = 0.0f, c##i##1 = 0.0f;
#define FMA(i) { floatW a_i = (floatW)(a[r##i + k]); c##i##0 = fma(a_i, b0, c##i##0); c##i##1 = fma(a_i, b1, c##i##1); }
#define STORE(i) if (m0 + i < N) { vstoreW(c##i##0, 0, out + (m0 + i) * N + n0); vstoreW(c##i##1, 0, out + (m0 + i) * N + n0 + W); }
__kernel void matmul(__global float* out, __global const float* restrict a, __global const float* restrict b) {
  int m0 = get_global_id(0) * 6, n0 = get_global_id(1) * 2 * W;
  ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
  for (int k = 0; k < N; k++) {
    floatW b0 = vloadW(0, b + k * N + n0), b1 = vloadW(0, b + k * N + n0 + W);
    FMA(0) FMA(1) FMA(2) FMA(3) FMA(4) FMA(5)
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
}
__kernel void chain(__global float* out, __global const float* restrict x) {
  int i = get_global_id(0);
  floatW v = vloadW(i, x);
  vstoreW(fmax(log(exp(v * 2.0f + 1.0f)) * v, 0.0f), i, out);
}"""


def cl_rows(batch=32, classes=100_000):
  """python test/benchmark.py --device CL: each row beside its reference, timed in turns in this process. A GPU-shaped
  device gets the GPU sizes: a 4096^3 matmul and a chain over 64M floats."""
  try: backend = Device["CL"]
  except RuntimeError as error:
    print(f"CL rows skipped: {error}")
    return
  cl, queue, (n, elements) = backend.cl, backend.queue, (4096, 64 * 2**20) if backend.shape.gpu else (1024, 4 * 2**20)
  print(f"CL device: {backend.device.name.strip()} ({'GPU' if backend.shape.gpu else 'CPU'}-shaped kernels, vector width "
        f"{backend.shape.width}, {backend.shape.compute_units} compute units)")
  w = min(16, max(4, backend.shape.width))  # the hand kernels' vector width
  source = REFERENCE_KERNELS.replace("floatW", f"float{w}").replace("vloadW", f"vload{w}").replace("vstoreW", f"vstore{w}")
  reference = cl.Program(backend.context, source).build(options=[f"-D N={n}", f"-D W={w}"])
  hand_matmul_kernel, hand_chain_kernel = reference.matmul, reference.chain
  a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
  ta, tb = Tensor(a, device="CL").realize(), Tensor(b, device="CL").realize()
  product = cl.Buffer(backend.context, cl.mem_flags.READ_WRITE, n * n * 4)

  def hand_matmul():
    hand_matmul_kernel(queue, (-(-n // 6), n // (2 * w)), (1, 1), product, ta.lazydata.base.realized.mem, tb.lazydata.base.realized.mem)
    queue.finish()
  ours, hand = interleaved([cl_synchronized(lambda: (ta @ tb).realize()), hand_matmul], repeats=5)
  print(f"CL {n}^3 matmul: {2 * n ** 3 / ours / 1e9:.1f} GFLOP/s ({ours * 1e3:.1f} ms), hand-written OpenCL kernel "
        f"{2 * n ** 3 / hand / 1e9:.1f} GFLOP/s: {hand / ours:.2f}x its speed")

  x = Tensor(np.random.rand(elements).astype(np.float32), device="CL").realize()
  chained = cl.Buffer(backend.context, cl.mem_flags.READ_WRITE, elements * 4)

  def hand_chain():
    hand_chain_kernel(queue, (elements // w,), (64,), chained, x.lazydata.base.realized.mem)
    queue.finish()
  chain = TinyJit(lambda x: ((x * 2 + 1).exp().log() * x).relu())  # replayed: the kernel's launch alone, no graph to build
  ours, replayed, hand = interleaved([cl_synchronized(lambda: ((x * 2 + 1).exp().log() * x).relu().realize()), cl_synchronized(lambda: chain(x)),
                                      hand_chain], repeats=20)
  print(f"CL ((x*2+1).exp().log()*x).relu() on {elements // 2**20}M floats: {2 * elements * 4 / ours / 1e9:.1f} GB/s effective ({ours * 1e3:.2f} ms), "
        f"hand-written kernel {hand * 1e3:.2f} ms: {hand / ours:.2f}x its speed; its TinyJit replay {replayed * 1e3:.2f} ms: {hand / replayed:.2f}x")

  rng = np.random.default_rng(0)
  logits_np, labels_np = rng.standard_normal((batch, classes)).astype(np.float32), rng.integers(0, classes, batch).astype(np.int32)
  logits, labels = Tensor(logits_np, device="CL", requires_grad=True).realize(), Tensor(labels_np, device="CL").realize()

  def cross_entropy_step():
    logits.grad = None
    loss = logits.cross_entropy(labels)
    loss.backward()
    Tensor.realize(loss, logits.grad)
  row = f"CL cross-entropy forward+backward, {batch}x{classes:,} logits"
  torch = try_import_torch()
  if torch is None: print(f"{row}: {best_of(cl_synchronized(cross_entropy_step), repeats=10) * 1e3:.2f} ms (torch not installed: no reference)")
  else:
    torch.set_num_threads(os.cpu_count())  # the OpenCL device uses every core too
    torch_logits, torch_labels = torch.tensor(logits_np, requires_grad=True), torch.tensor(labels_np, dtype=torch.long)

    def torch_step():
      torch_logits.grad = None
      torch.nn.functional.cross_entropy(torch_logits, torch_labels).backward()
    ours, reference_time = interleaved([cl_synchronized(cross_entropy_step), torch_step], repeats=10)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    print(f"{row}: {ours * 1e3:.2f} ms, torch CPU ({os.cpu_count()} threads) {reference_time * 1e3:.2f} ms, ratio {ours / reference_time:.2f}x")

  previous, Device.DEFAULT = Device.DEFAULT, "CL"  # mlp_steps makes its layers and batch on the default device
  plain, jitted, by_hand = mlp_steps(None)[:3]
  Device.DEFAULT = previous
  plain_s, jit_s, numpy_s = per_step_side_by_side([cl_synchronized(plain), cl_synchronized(jitted), by_hand], number=10)
  print(f"CL MLP 784-128-10 train step, batch 128, nn.Linear + optim.SGD: {plain_s * 1e3:.2f} ms ({plain_s / numpy_s:.2f}x "
        f"hand-written NumPy), TinyJit {jit_s * 1e3:.2f} ms ({jit_s / numpy_s:.2f}x), hand-written NumPy {numpy_s * 1e3:.2f} ms")

  y = Tensor(np.ones((4, 4), np.float32), device="CL").realize()
  ours = best_of(cl_synchronized(lambda: [((y * 2 + 1) * y).realize() for _ in range(200)])) / 200
  print(f"CL tiny graph build+realize: {ours * 1e6:.1f} us")


def python_calls_rows():
  """python test/benchmark.py --calls: the Python function calls (Python and C) one plain training step makes, a measure
  of the interpreter's work that does not drift with the machine's load as times do. Run it with PYTHONPATH pointing at
  another checkout of minigrad to compare two versions."""
  def calls_in(step):
    for _ in range(3): step()
    count = [0]

    def counter(frame, event, arg):
      if event in ("call", "c_call"): count[0] += 1
    sys.setprofile(counter)
    try: step()
    finally: sys.setprofile(None)
    return count[0]
  x = Tensor(np.ones((4, 4), np.float32)).realize()
  print(f"Python calls: tiny graph build+realize {calls_in(lambda: ((x * 2 + 1) * x).realize())}, one plain step of: "
        f"MLP {calls_in(mlp_steps(None)[0])}, moons {calls_in(moons_steps(None)[0])}, makemore {calls_in(makemore_steps(None)[0])}, "
        f"transformer {calls_in(char_gpt_steps(None)[0])}")


if __name__ == "__main__":
  if sys.argv[1:] == ["--device", "CL"]:
    cl_rows()
    sys.exit()
  if sys.argv[1:] == ["--calls"]:
    python_calls_rows()
    sys.exit()
  print(f"tiny graph build+realize (NUMPY): {tiny_graph_us():.1f} us")
  ours, ref = matmul_ratio()
  print(f"1024^3 matmul (NUMPY): {ours * 1e3:.1f} ms, numpy.matmul {ref * 1e3:.1f} ms, ratio {ours / ref:.2f}x")
  ours, ref = mlp_ratio()
  print(f"MLP 784-128-10 train step, batch 128, tensors + plain SGD (NUMPY): {ours * 1e3:.2f} ms, hand-written NumPy "
        f"{ref * 1e3:.2f} ms, ratio {ours / ref:.2f}x")
  ours, ref = mlp_nn_ratio()
  print(f"MLP 784-128-10 train step, batch 128, nn.Linear + optim.SGD (NUMPY): {ours * 1e3:.2f} ms, hand-written NumPy "
        f"{ref * 1e3:.2f} ms, ratio {ours / ref:.2f}x")
  workload_rows()
  schedule_cache_rows()
  cl_rows()
