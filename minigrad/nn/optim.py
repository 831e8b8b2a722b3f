"""Optimisers with PyTorch's update rules. Their state is lazy Tensors, and each step realizes every updated
parameter and state tensor together, in one schedule."""
from typing import List
from minigrad.tensor import Tensor


class Optimizer:
  """The parameters to update (each once, even if listed twice) and the learning rate."""
  def __init__(self, params, lr):
    self.params: List[Tensor] = list(dict.fromkeys(params))
    self.lr = lr

  def zero_grad(self):
    """Forget the gradients accumulated so far."""
    for param in self.params: param.grad = None

  def step(self):
    """Update every parameter that has a gradient; parameters without one (unused by the loss) stay as they are."""
    changed = []
    with Tensor.no_grad():
      self._advance()
      for i, param in enumerate(self.params):
        if param.grad is not None: changed += self._update(i, param, param.grad.detach())
    if changed: Tensor.realize(*changed)

  def _advance(self):
    """Per-step bookkeeping before the parameters are updated."""

  def _update(self, i: int, param: Tensor, grad: Tensor) -> List[Tensor]:
    """Assign the new value of params[i] (and of its state); return the tensors that changed."""
    raise NotImplementedError


class SGD(Optimizer):
  """g = grad + weight_decay * p; with momentum, buf = momentum * buf + g (buf starts as the first g) and g becomes buf,
  or g + momentum * buf with nesterov; then p = p - lr * g."""
  def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    super().__init__(params, lr)
    if nesterov and momentum <= 0: raise ValueError(f"nesterov needs a positive momentum, got momentum={momentum}")
    self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
    self.buffers: List = [None] * len(self.params)

  def _update(self, i, param, grad):
    if self.weight_decay: grad = grad + self.weight_decay * param
    if not self.momentum: return [param.assign(param - self.lr * grad)]
    buf = self.buffers[i]
    buf = self.buffers[i] = grad if buf is None else buf.assign(self.momentum * buf + grad)
    direction = grad + self.momentum * buf if self.nesterov else buf
    return [param.assign(param - self.lr * direction), buf]


class AdamW(Optimizer):
  """Adam with decoupled weight decay: p = p * (1 - lr * weight_decay), then m and v, the moving averages of grad and
  grad**2, give p = p - lr * m_hat / (sqrt(v_hat) + eps) with the bias-corrected m_hat = m / (1 - b1**t), v_hat likewise."""
  def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01):
    super().__init__(params, lr)
    self.b1, self.b2, self.eps, self.weight_decay, self.t = b1, b2, eps, weight_decay, 0
    self.m = [Tensor.zeros(*p.shape, dtype=p.dtype, device=p.device) for p in self.params]
    self.v = [Tensor.zeros(*p.shape, dtype=p.dtype, device=p.device) for p in self.params]

  def _advance(self): self.t += 1

  def _update(self, i, param, grad):
    m = self.m[i].assign(self.b1 * self.m[i] + (1 - self.b1) * grad)
    v = self.v[i].assign(self.b2 * self.v[i] + (1 - self.b2) * grad.square())
    # the corrections are computed in double precision and enter as data, not as constants baked into the kernel
    correction1, correction2 = (Tensor(1 - b ** self.t, dtype=param.dtype, device=param.device) for b in (self.b1, self.b2))
    decayed = param * (1 - self.lr * self.weight_decay) if self.weight_decay else param
    return [param.assign(decayed - self.lr * (m / correction1) / ((v / correction2).sqrt() + self.eps)), m, v]


class Adam(AdamW):
  """Adam: AdamW without weight decay."""
  def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    super().__init__(params, lr, b1, b2, eps, weight_decay=0.0)
