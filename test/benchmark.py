"""Benchmarks (a script, not a test): python test/benchmark.py
Each figure is a ratio to hand-written NumPy measured in the same process, so it means something on a noisy machine."""
import time
import numpy as np
from minigrad import Device, Tensor


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


# ---- CL (OpenCL) rows. CL kernels run asynchronously, so every timed call ends by waiting for the queue.
def cl_synchronized(fn):
  def run():
    fn()
    Device["CL"].synchronize()
  return run


def cl_rows(n=1024, elements=4 * 1024 * 1024, batch=32, classes=100_000):
  try: Device["CL"]
  except RuntimeError as error:
    print(f"CL rows skipped: {error}")
    return
  a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
  ta, tb = Tensor(a, device="CL").realize(), Tensor(b, device="CL").realize()
  ours, reference = best_of(cl_synchronized(lambda: (ta @ tb).realize())), best_of(lambda: a @ b)
  print(f"CL 1024^3 matmul: {2 * n ** 3 / ours / 1e9:.1f} GFLOP/s ({ours * 1e3:.1f} ms), numpy.matmul "
        f"{2 * n ** 3 / reference / 1e9:.1f} GFLOP/s, ratio {ours / reference:.2f}x")

  x = Tensor(np.random.rand(elements).astype(np.float32), device="CL").realize()
  ours = best_of(cl_synchronized(lambda: ((x * 2 + 1).exp().log() * x).relu().realize()), repeats=20)
  print(f"CL ((x*2+1).exp().log()*x).relu() on 4M floats: {2 * elements * 4 / ours / 1e9:.1f} GB/s effective ({ours * 1e3:.2f} ms)")

  rng = np.random.default_rng(0)
  logits_np, labels_np = rng.standard_normal((batch, classes)).astype(np.float32), rng.integers(0, classes, batch).astype(np.int32)
  logits, labels = Tensor(logits_np, device="CL", requires_grad=True).realize(), Tensor(labels_np, device="CL").realize()

  def cross_entropy_step():
    logits.grad = None
    loss = logits.cross_entropy(labels)
    loss.backward()
    Tensor.realize(loss, logits.grad)
  ours = best_of(cl_synchronized(cross_entropy_step), repeats=10)
  row = f"CL cross-entropy forward+backward, {batch}x{classes:,} logits: {ours * 1e3:.2f} ms"
  try:
    import torch
    torch_logits, torch_labels = torch.tensor(logits_np, requires_grad=True), torch.tensor(labels_np, dtype=torch.long)

    def torch_step():
      torch_logits.grad = None
      torch.nn.functional.cross_entropy(torch_logits, torch_labels).backward()
    reference = best_of(torch_step)
    row += f", torch CPU {reference * 1e3:.2f} ms, ratio {ours / reference:.2f}x"
  except ImportError: row += " (torch not installed: no reference)"
  print(row)

  y = Tensor(np.ones((4, 4), np.float32), device="CL").realize()
  ours = best_of(cl_synchronized(lambda: [((y * 2 + 1) * y).realize() for _ in range(200)])) / 200
  print(f"CL tiny graph build+realize: {ours * 1e6:.1f} us")


if __name__ == "__main__":
  print(f"tiny graph build+realize (NUMPY): {tiny_graph_us():.1f} us")
  ours, ref = matmul_ratio()
  print(f"1024^3 matmul (NUMPY): {ours * 1e3:.1f} ms, numpy.matmul {ref * 1e3:.1f} ms, ratio {ours / ref:.2f}x")
  ours, ref = mlp_ratio()
  print(f"MLP 784-128-10 train step, batch 128, tensors + plain SGD (NUMPY): {ours * 1e3:.2f} ms, hand-written NumPy "
        f"{ref * 1e3:.2f} ms, ratio {ours / ref:.2f}x")
  ours, ref = mlp_nn_ratio()
  print(f"MLP 784-128-10 train step, batch 128, nn.Linear + optim.SGD (NUMPY): {ours * 1e3:.2f} ms, hand-written NumPy "
        f"{ref * 1e3:.2f} ms, ratio {ours / ref:.2f}x")
  cl_rows()
