"""Optimisers with PyTorch's update rules. Their state is lazy Tensors, and each step realizes every updated
parameter, gradient and state tensor together, in one schedule. What changes from step to step (the lr, Adam's bias
corrections) is tensor data: a compiled step is reused as it changes, and a TinyJit replay of a step reads it."""
from minigrad.tensor import Tensor


class Optimizer:
  """The parameters to update (each once, even if listed twice; all on one device: one optimiser per device), and the
  learning rate. A subclass defines _update(i, param, grad): it assigns the new value of params[i] (and of its state)
  and returns the tensors that changed."""
  def __init__(self, params, lr, **hyperparameters):
    """Refuses what could never train (non-leaf tensors, tensors without requires_grad) and negative hyperparameters."""
    if isinstance(params, Tensor): raise TypeError("params must be an iterable of Tensors (a list), not a single Tensor")
    self.params: list[Tensor] = list(dict.fromkeys(params))
    if not self.params: raise ValueError("optimizer got an empty parameter list")
    for param in self.params:
      if param._ctx is not None: raise ValueError("can't optimize a non-leaf Tensor (one computed from others; create it with requires_grad=True)")
      if not param.requires_grad: raise ValueError(f"can't optimize a tensor that does not require grad ({param}): it would never change")
    for name, value in {"lr": lr, **hyperparameters}.items():
      if not value >= 0: raise ValueError(f"invalid {name}: {value} (must be >= 0)")
    self.lr_tensor = Tensor(float(lr), device=self.params[0].device)  # on the parameters' device
    self.lr = lr

  @property  # (the value set, unless the lr tensor was assigned since, by a loaded state dict: then its value)
  def lr(self) -> float: return self._lr_value if self.lr_tensor.lazydata is self._lr_data else self.lr_tensor.item()

  @lr.setter
  def lr(self, value):
    """Setting lr (a schedule) assigns tensor data, which a TinyJit replay reads as state."""
    self.lr_tensor.assign(Tensor(float(value), device=self.lr_tensor.device))
    self._lr_value, self._lr_data = value, self.lr_tensor.lazydata

  def zero_grad(self, set_to_none=True):
    """Forget the gradients accumulated so far: .grad becomes None, or zeros with set_to_none=False, as in PyTorch."""
    for param in self.params: param.grad = None if set_to_none or param.grad is None else param.grad.zeros_like()

  def step(self):
    """Update every parameter that has a gradient; parameters without one (unused by the loss) stay as they are."""
    with Tensor.no_grad():
      # the losses differentiated since the last step share its kernels: computed now, a read after the step costs nothing
      changed = [p.grad for p in self.params if p.grad is not None] + [p._loss() for p in self.params if p._loss and p._loss() is not None]
      for param in self.params: param._loss = None  # (a loss that reached these parameters: computed with them, read after the step)
      for i, param in enumerate(self.params):
        if param.grad is not None: changed += self._update(i, param, param.grad.detach())
    if changed: Tensor.realize(*changed)


class SGD(Optimizer):
  """g = grad + weight_decay * p; with momentum, buf = momentum * buf + g (buf starts at zero, so it is the first g after
  one step) and g becomes buf, or g + momentum * buf with nesterov; then p = p - lr * g."""
  def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
    super().__init__(params, lr, momentum=momentum, weight_decay=weight_decay)
    if nesterov and momentum <= 0: raise ValueError(f"nesterov needs a positive momentum, got momentum={momentum}")
    self.momentum, self.weight_decay, self.nesterov = momentum, weight_decay, nesterov
    self.buffers = [p.zeros_like() for p in self.params] if momentum else []

  def _update(self, i, param, grad):
    if self.weight_decay: grad = grad + self.weight_decay * param
    if not self.momentum: return [param.assign(param - self.lr_tensor * grad)]
    buf = self.buffers[i].assign(self.momentum * self.buffers[i] + grad)
    return [param.assign(param - self.lr_tensor * (grad + self.momentum * buf if self.nesterov else buf)), buf]


class AdamW(Optimizer):
  """Adam with decoupled weight decay: p = p * (1 - lr * weight_decay), then m and v, the moving averages of grad and
  grad**2, give p = p - lr * m_hat / (sqrt(v_hat) + eps) with the bias-corrected m_hat = m / (1 - b1**t), v_hat likewise."""
  def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01, betas=None):
    """betas=(b1, b2), PyTorch's spelling, overrides b1 and b2; each must be in [0, 1) (b1 = 1 would divide by zero)."""
    super().__init__(params, lr, eps=eps, weight_decay=weight_decay)
    b1, b2 = (b1, b2) if betas is None else betas
    if not (0 <= b1 < 1 and 0 <= b2 < 1): raise ValueError(f"invalid betas ({b1}, {b2}): each must be in [0, 1)")
    self.b1, self.b2, self.eps, self.weight_decay = b1, b2, eps, weight_decay
    self.m, self.v = [p.zeros_like() for p in self.params], [p.zeros_like() for p in self.params]
    # each parameter's bias corrections 1 - b**t, t counting its own steps (as PyTorch: a step without its gradient
    # skips it), kept as c = c * b + (1 - b): a sum of positive terms, accurate in float32
    self.corrections = [(Tensor(0.0, device=p.device), Tensor(0.0, device=p.device)) for p in self.params]

  def _update(self, i, param, grad):
    c1, c2 = [c.assign(c * b + (1 - b)) for c, b in zip(self.corrections[i], (self.b1, self.b2))]
    m = self.m[i].assign(self.b1 * self.m[i] + (1 - self.b1) * grad)
    v = self.v[i].assign(self.b2 * self.v[i] + (1 - self.b2) * grad.square())
    decayed = param * (1 - self.lr_tensor * self.weight_decay) if self.weight_decay else param
    return [param.assign(decayed - self.lr_tensor * (m / c1) / ((v / c2).sqrt() + self.eps)), m, v, c1, c2]


class Adam(AdamW):
  """Adam: AdamW without weight decay."""
  def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, betas=None):
    super().__init__(params, lr, b1, b2, eps, weight_decay=0.0, betas=betas)
