"""Tensor: the user API. Composite ops are built here from the primitives in function.py; autograd is a tape of
Function contexts walked in reverse topological order."""
from __future__ import annotations
import contextlib, functools, itertools, math, threading, weakref
from math import prod
import numpy as np
import minigrad.function as F
from minigrad.device import Device
from minigrad.dtype import DType, dtypes
from minigrad.helpers import toposort
from minigrad.lazy import LazyBuffer, checks_of


def _axes(axis, ndim) -> tuple[int, ...]:
  """Normalise an axis argument (None, int or tuple; negative counts from the end) to sorted non-negative ints."""
  if axis is None: return tuple(range(ndim))
  axes, n = axis if isinstance(axis, (tuple, list)) else (axis,), max(ndim, 1)  # a 0-d tensor takes axis 0 or -1, as in PyTorch
  if not all(isinstance(a, (int, np.integer)) and -n <= a < n for a in axes): raise IndexError(f"axis {axis!r} must be ints in [{-n}, {n})")
  if len({a % n for a in axes}) < len(axes): raise IndexError(f"axis {axis!r} names a dim more than once")  # a kernel would read past its row
  return tuple(sorted(a % n for a in axes))


def _axis(axis, ndim) -> int:
  """One axis, for the methods that take a single dim (as PyTorch, a tuple or a bool is refused, not read as its first)."""
  if isinstance(axis, (tuple, list, bool)): raise TypeError(f"expected a single int dim, got {axis!r}")
  return _axes(axis, ndim)[0]


CAT_GROUP = 16  # cat joins at most this many pieces in one kernel

# NumPy's broadcast shape (a ValueError names the two shapes that clash), remembered: a model asks the same few again and again
_broadcast_shape = functools.lru_cache(maxsize=4096)(np.broadcast_shapes)


def _flatten_args(shape) -> tuple[int, ...]:
  """Accept both f(2, 3) and f((2, 3)) (and f(a, b) and f([a, b]) for tensors)."""
  return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else tuple(shape)


def _shape(args, allow_infer=False) -> tuple[int, ...]:
  """A shape from f(2, 3) or f((2, 3)): non-negative ints (and -1, to be inferred, where allowed), else a clear error."""
  shape = _flatten_args(args)
  if all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= (-1 if allow_infer else 0) for s in shape): return shape
  raise ValueError(f"a shape needs {'ints >= -1' if allow_infer else 'non-negative ints'}, got {shape}")


def _takes_dim(method, accumulates=False):
  """Let a method that takes axis= take PyTorch's spelling, dim=, too. With accumulates, the method runs on self in the
  dtype that sums and divides (Tensor._accumulating: float16 as float32) and its result is rounded back once."""
  @functools.wraps(method)
  def with_dim(self, *args, dim=None, **kwargs):
    if dim is not None and (args or "axis" in kwargs): raise TypeError(f"{method.__name__}() got both axis and dim")
    x, dtype = self._accumulating() if accumulates else (self, None)
    result = method(x, *args, **kwargs) if dim is None else method(x, dim, **kwargs)
    return result if dtype is None else result.cast(dtype)
  return with_dim


@contextlib.contextmanager
def _setting(owner, name, value):
  """A block with owner.name set to value (a mode: grad, training), restored after it whatever happens."""
  previous = getattr(owner, name, True)  # (grad mode is on in a thread that never set it)
  setattr(owner, name, value)
  try: yield
  finally: setattr(owner, name, previous)


# _takes_dim for the methods that accumulate (mean, var, softmax, ...): float16 works in float32, rounded once
_accumulates = functools.partial(_takes_dim, accumulates=True)


@functools.lru_cache(maxsize=64)  # uploaded once: a cross-entropy over 100,000 classes compares with it every step
def _arange(n, device) -> LazyBuffer: return Tensor.arange(n, device=device).lazydata


class Tensor:
  training = False
  _grad_mode = threading.local()  # grad mode is per thread, as in PyTorch
  _rng = np.random.default_rng()
  __array_ufunc__ = None  # NumPy defers to Tensor's operators: np.float32(2) * t is a Tensor, not an array of Tensors
  # for TinyJit: every live tensor ever assigned (id -> tensor: the state a replay reads), how many times a tensor was assigned
  # for the first time or had requires_grad set, and, for each capture under way (nested ones too), a list that receives
  # (redraw, buffer) per random draw
  _assigned: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
  _state_changes = 0
  _jit_logs: list[list] = []

  def __init__(self, data, dtype=None, device=None, requires_grad=False):
    """From a Python scalar, nested list or NumPy array; dtype is a DType, a NumPy dtype or a name ("float32")."""
    if not isinstance(data, LazyBuffer):
      array = np.asarray(data)  # (a Tensor's values, read on the host)
      # without a dtype, NumPy data and a Tensor's keep their own; Python floats (and empty lists) become float32, ints int32, bools bool
      keeps_dtype = isinstance(data, (np.ndarray, np.generic, Tensor)) or (array.dtype.kind != "f" and array.size)
      dtype = dtypes.of(dtype if dtype is not None else array.dtype if keeps_dtype else dtypes.float32)
      if dtype == dtypes.int32 and array.dtype.kind in "iuf":  # refused, not wrapped (NaN fails both comparisons)
        outside = array[~((array >= -2**31) & (array <= 2**31 - 1))]
        if outside.size: raise OverflowError(f"value {outside.flat[0]} does not fit in int32 [-2**31, 2**31 - 1]; minigrad has no int64")
      # a bool array may hold bytes other than 0 and 1 (np.frombuffer, a safetensors file): each true one becomes 1
      data = LazyBuffer.from_numpy(array != 0 if dtype == dtypes.bool else array.astype(dtype.np), Device.canonicalize(device))
    # shape (so ndim), dtype and device are fixed for the tensor's life: assign() keeps them, so they are plain attributes (fast to read)
    self.lazydata, self.shape, self.ndim, self.dtype, self.device = data, data.shape, len(data.shape), data.dtype, data.device
    self._requires_grad, self.grad, self._ctx, self._loss = False, None, None, None  # _loss: see backward()
    if requires_grad: self.requires_grad = True

  # ---- properties
  @property
  def T(self) -> Tensor: return self.permute(*reversed(range(self.ndim)))

  @property
  def requires_grad(self) -> bool: return self._requires_grad

  @requires_grad.setter
  def requires_grad(self, value):  # (a TinyJit captured before differentiated as the flags were then: it captures again)
    if value and not self.dtype.is_float: raise TypeError(f"only floating tensors can require grad, not {self.dtype}")
    self._requires_grad, Tensor._state_changes = bool(value), Tensor._state_changes + (bool(value) != self._requires_grad)

  def numel(self) -> int: return prod(self.shape)
  def __len__(self):
    if not self.shape: raise TypeError("len() of a 0-d tensor")
    return self.shape[0]

  def __repr__(self): return f"<Tensor shape={self.shape} dtype={self.dtype} device={self.device} requires_grad={self.requires_grad}>"
  def __hash__(self): return id(self)

  # ---- realization and conversion
  def realize(self, *others: Tensor) -> Tensor:
    """Compute this tensor (and others, in one schedule) now; returns self."""
    self.lazydata.realize(*[t.lazydata for t in others])
    return self

  def numpy(self) -> np.ndarray: return self.lazydata.numpy()
  def tolist(self): return self.numpy().tolist()

  def item(self): return self.numpy().item()  # NumPy's ValueError names a size other than 1
  def __array__(self, dtype=None, copy=None): return self.numpy() if dtype is None else self.numpy().astype(dtype)  # np.asarray(t)

  def detach(self) -> Tensor: return Tensor(self.lazydata)

  def _check_range(self, low, high, make_error) -> Tensor:
    """self, checked: the realize that computes what reads the result raises make_error(value), naming the first element
    outside [low, high) (low there: such an element never reaches a kernel). Building the graph reads nothing on the host."""
    outside = ((self < low) == (self < high)).contiguous()  # below low or at least high (low < high: an empty range has no inside)
    # (the error takes the flag, not outside, whose key would then live on; a check built alike before keeps its error)
    checks_of.setdefault(outside.lazydata, lambda flag: make_error(self.numpy()[flag.numpy()].flat[0]))
    return outside.where(low, self)  # the result reads the flag, so its realize computes the flag too

  def to(self, device) -> Tensor:
    """This tensor on another device; differentiable, as in PyTorch: the gradient moves back."""
    device = Device.canonicalize(device)
    return self if device == self.device else self._apply(F.To, device=device)

  def cast(self, dtype) -> Tensor:
    dtype = dtypes.of(dtype)
    return self if dtype == self.dtype else self._apply(F.Cast, dtype=dtype)
  def float(self) -> Tensor: return self.cast(dtypes.float32)
  def half(self) -> Tensor: return self.cast(dtypes.float16)
  def contiguous(self) -> Tensor: return self._apply(F.Contiguous)

  # ---- creation
  @staticmethod
  def manual_seed(seed: int):
    """Same seed, same numbers on every device: random numbers are drawn on the host."""
    Tensor._rng = np.random.default_rng(seed)

  @staticmethod
  def full(shape, value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A constant: it takes no memory until a kernel reads it."""
    if dtype is None: dtype = dtypes.bool if isinstance(value, bool) else dtypes.int32 if isinstance(value, int) else dtypes.float32
    return Tensor(LazyBuffer.const(value, _shape((shape,)), dtypes.of(dtype), Device.canonicalize(device)), requires_grad=requires_grad)

  @staticmethod
  def zeros(*shape, **kwargs) -> Tensor: return Tensor.full(_shape(shape), 0.0, **kwargs)
  @staticmethod
  def ones(*shape, **kwargs) -> Tensor: return Tensor.full(_shape(shape), 1.0, **kwargs)

  def full_like(self, value, **kwargs) -> Tensor:
    """A constant of self's shape; dtype and device default to self's."""
    return Tensor.full(self.shape, value, **{"dtype": self.dtype, "device": self.device, **kwargs})
  def zeros_like(self, **kwargs) -> Tensor: return self.full_like(0, **kwargs)
  def ones_like(self, **kwargs) -> Tensor: return self.full_like(1, **kwargs)

  @staticmethod
  def arange(start, stop=None, step=1, dtype=None, **kwargs) -> Tensor:
    if step == 0: raise ValueError("arange needs a nonzero step")
    if dtype is None: dtype = dtypes.int32 if all(isinstance(v, int) for v in (start, stop, step) if v is not None) else dtypes.float32
    return Tensor(np.arange(start, stop, step), dtype=dtype, **kwargs)  # NumPy reads a lone bound as stop, as PyTorch does

  @staticmethod
  def eye(n, dtype=dtypes.float32, **kwargs) -> Tensor: return Tensor(np.eye(n), dtype=dtype, **kwargs)

  @staticmethod
  def _random(draw, shape, dtype=dtypes.float32, device=None, requires_grad=False) -> Tensor:
    """Every random tensor comes from here: draw(rng, shape) runs on the host, so a seed gives the same numbers on
    every device, and a TinyJit replay draws anew."""
    def make(): return Tensor(draw(Tensor._rng, _shape(shape)), dtype=dtype, device=device, requires_grad=requires_grad)
    result = make()
    for log in Tensor._jit_logs: log.append((lambda: make().lazydata, result.lazydata))
    return result

  @staticmethod
  def rand(*shape, **kwargs) -> Tensor: return Tensor.uniform(*shape, low=0.0, high=1.0, **kwargs)

  @staticmethod
  def randn(*shape, **kwargs) -> Tensor: return Tensor._random(lambda rng, size: rng.standard_normal(size), shape, **kwargs)

  @staticmethod
  def uniform(*shape, low=-1.0, high=1.0, dtype=dtypes.float32, **kwargs) -> Tensor:
    """Uniform in [low, high): a draw that would round up to high in dtype becomes the value just below it."""
    below_high = np.nextafter(dtypes.of(dtype).np(high), low)
    return Tensor._random(lambda rng, size: np.minimum(rng.uniform(low, high, size), below_high), shape, dtype, **kwargs)

  @staticmethod
  def normal(*shape, mean=0.0, std=1.0, **kwargs) -> Tensor: return Tensor._random(lambda rng, size: rng.normal(mean, std, size), shape, **kwargs)

  @staticmethod
  def randint(low, high=None, size=(), dtype=dtypes.int32, **kwargs) -> Tensor:
    """Integers uniform in [low, high), or in [0, low) without high; randint(high, size) works too, as in PyTorch."""
    if isinstance(high, (tuple, list)): high, size = None, high
    # NumPy's integers reads a lone bound as [0, low), as PyTorch does, and refuses an empty range
    return Tensor._random(lambda rng, shape: rng.integers(low, high, shape, np.int32), (size,), dtype, **kwargs)  # bounds past int32 raise

  def multinomial(self, num_samples=1, replacement=False) -> Tensor:
    """num_samples class indices drawn from each row of self's non-negative weights (int32, drawn on the host)."""
    weights = self.numpy().astype(np.float64)
    if self.ndim not in (1, 2) or not np.isfinite(weights).all() or (weights < 0).any() or (weights.sum(-1) <= 0).any():
      raise ValueError(f"multinomial needs 1-D or 2-D finite, non-negative weights with a positive sum per row, got shape {self.shape}")
    rows = weights.reshape(-1, weights.shape[-1]) / weights.sum(-1).reshape(-1, 1)

    def draw(rng, shape): return np.stack([rng.choice(len(p), num_samples, replacement, p) for p in rows]).reshape(shape)
    return Tensor._random(draw, (*self.shape[:-1], num_samples), dtypes.int32, self.device)

  # ---- autograd
  @staticmethod
  def grad_enabled() -> bool: return getattr(Tensor._grad_mode, "enabled", True)

  # blocks: no graph is recorded inside no_grad() (in this thread); Tensor.training (dropout acts only while it is True) is
  # mode inside train(). Tensor.training is one flag for the whole process, as tinygrad's: train() blocks that threads
  # enter and leave at the same time overlap, and may leave it changed (grad mode has no such problem: it is per thread)
  @staticmethod
  def no_grad(): return _setting(Tensor._grad_mode, "enabled", False)
  @staticmethod
  def train(mode=True): return _setting(Tensor, "training", mode)

  def _apply(self, function_class, *others: Tensor, **kwargs) -> Tensor:
    """Run a primitive Function on self and others, recording it on the tape when a gradient is needed."""
    parents = (self,) + others
    if others and any(t.device != self.device for t in others): raise RuntimeError(f"tensors on different devices: {[t.device for t in parents]}")
    ctx = function_class()
    result = Tensor(ctx.forward(*[t.lazydata for t in parents], **kwargs))
    if result.dtype.is_float and any(t._requires_grad for t in parents) and Tensor.grad_enabled():  # comparisons carry none
      result._requires_grad, result._ctx, ctx.parents = True, ctx, parents
    return result

  def backward(self, gradient: Tensor | None = None) -> Tensor:
    """Accumulate d(self)/d(leaf) into every leaf's .grad; a non-scalar needs `gradient` (its upstream gradient)."""
    if gradient is None and self.numel() != 1: raise RuntimeError(f"backward() without a gradient needs a scalar, not shape {self.shape}")
    gradient = self._to_tensor(1.0 if gradient is None else gradient)  # ones; a list or an array is refused, as PyTorch
    if not self.requires_grad: raise RuntimeError("backward() on a tensor that does not require grad (no graph leads to it)")
    if (gradient.shape, gradient.device) != (self.shape, self.device):
      raise ValueError(f"gradient of shape {gradient.shape} on {gradient.device} for a tensor of shape {self.shape} on {self.device}")
    order = toposort([self], lambda node: None if node._ctx is None else node._ctx.parents)  # the graph's nodes, parents first
    grads = {self: gradient.cast(self.dtype).lazydata}
    for node in reversed(order):
      if node not in grads: continue
      parent_grads = node._ctx.backward(grads.pop(node))
      if not isinstance(parent_grads, tuple): parent_grads = (parent_grads,)
      for parent, grad in zip(node._ctx.parents, parent_grads):
        if grad is None or not parent.requires_grad: continue
        grads[parent] = grads[parent].e(F.BinaryOps.ADD, grad) if parent in grads else grad
    # previous gradients are realized first, so accumulating costs the memory and work of one gradient, not a chain
    previous = [leaf.grad for leaf in grads if leaf.grad is not None]
    if previous: previous[0].realize(*previous[1:])
    # each gradient in its leaf's dtype (each Function's backward gives its inputs' dtypes); an optimiser step of the leaf
    # computes this loss too, so a loss read after the step is ready
    for leaf, grad in grads.items(): leaf.grad, leaf._loss = Tensor(grad) if leaf.grad is None else leaf.grad + Tensor(grad), weakref.ref(self)
    return self

  # ---- broadcasting
  def _to_tensor(self, other) -> Tensor:
    if isinstance(other, Tensor): return other
    if isinstance(other, np.generic): other = other.item()  # a NumPy scalar is a Python one, as in PyTorch
    if isinstance(other, bool): dtype = dtypes.bool
    elif isinstance(other, int): dtype = self.dtype if self.dtype != dtypes.bool else dtypes.int32
    elif isinstance(other, float): dtype = self.dtype if self.dtype.is_float else dtypes.float32
    else: raise TypeError(f"cannot combine a Tensor with {type(other).__name__}: make it a Tensor first")
    return Tensor(LazyBuffer.const(other, self.shape, dtype, self.device))

  def _broadcasted(self, *others, reverse=False) -> list[Tensor]:
    """self and others with NumPy's broadcast shape and a common dtype (reverse puts self last, for `2 - t`)."""
    tensors = [self] + [self._to_tensor(other) for other in others]
    if reverse: tensors = tensors[::-1]
    dtype, shape = functools.reduce(dtypes.promote, {t.dtype for t in tensors}), _broadcast_shape(*[t.shape for t in tensors])
    return [t.cast(dtype)._broadcast_to(shape) for t in tensors]

  def _broadcast_to(self, shape) -> Tensor: return self if shape == self.shape else self._apply(F.Expand, arg=shape)  # a shape known to fit

  # ---- elementwise
  def _binary(self, function_class, other, reverse=False) -> Tensor:
    x, y = self._broadcasted(other, reverse=reverse)
    return x._apply(function_class, y)

  def _floating(self) -> Tensor: return self if self.dtype.is_float else self.float()

  def add(self, other, reverse=False) -> Tensor: return self._binary(F.Add, other, reverse)
  def sub(self, other, reverse=False) -> Tensor: return (-self).add(other) if reverse else self.add(-other)  # no primitive of its own
  def mul(self, other, reverse=False) -> Tensor: return self._binary(F.Mul, other, reverse)

  def div(self, other, reverse=False) -> Tensor:
    """True division: integer operands are divided as float32."""
    x, y = self._broadcasted(other, reverse=reverse)
    return x._floating()._apply(F.Div, y._floating())

  def pow(self, exponent, reverse=False) -> Tensor:
    """x ** y as PyTorch (and C's pow). Integer scalar powers multiply (exact). Otherwise |x| ** y = exp(y * log|x|),
    negated for negative x and odd integer y, NaN for negative x and non-integer y; x ** 0 and 1 ** y are 1, even for NaN."""
    scalar_exponent = not reverse and isinstance(exponent, (int, float))
    if scalar_exponent and float(exponent).is_integer() and abs(exponent) <= 1024:
      # (1 / x) ** n for a negative n: x ** n may underflow where the result and its gradient don't. An integer tensor to a
      # float power is float, as in PyTorch
      base = self.reciprocal() if exponent < 0 else self._floating() if isinstance(exponent, float) else self
      result, n = Tensor.full(self.shape, False, device=self.device).where(base, 1), int(abs(exponent))  # 1, zero gradient
      while n:  # square and multiply
        if n & 1: result = result * base
        base, n = base * base, n >> 1
      return result
    if scalar_exponent and exponent == 0.5: return self.sqrt()
    (x, dtype), (y, _) = [t._accumulating() for t in self._broadcasted(exponent, reverse=reverse)]  # float16 in float32
    # y's gradient, out * log|x|, is 0 where x is 0, as PyTorch's (not 0 * -inf). Floats past 2**30 are even integers, as inf is in C
    raw, within = (x.abs().log() * (x == 0).where(y.detach(), y)).exp(), y.clip(-2**30, 2**30)
    magnitude = (raw == raw).where(raw, (y == 0).where(True, x.abs() == 1).where(1, raw))  # x ** 0 and 1 ** y are 1, NaN too
    is_integer, is_odd = within.cast(dtypes.int32).cast(y.dtype) == within, (within * 0.5).cast(dtypes.int32).cast(y.dtype) != within * 0.5
    negative_base = is_integer.where(is_odd.where(-magnitude, magnitude), (x == -math.inf).where(magnitude, math.nan))  # -inf as C
    return (x < 0).where(negative_base, magnitude).cast(dtype)

  def neg(self) -> Tensor:
    if self.dtype == dtypes.bool: raise TypeError("negation of a bool tensor is not supported (as in PyTorch): use t == False")
    return self._apply(F.Neg)
  # (exp, log, sqrt, sin, sigmoid and tanh, each a primitive on self as a float, are set after the class)
  def reciprocal(self) -> Tensor: return 1 / self._floating()
  def relu(self) -> Tensor: return self._apply(F.Relu)
  def exp2(self) -> Tensor: return (self * math.log(2)).exp()
  def log2(self) -> Tensor: return self.log() * (1 / math.log(2))
  def rsqrt(self) -> Tensor: return self.sqrt().reciprocal()
  def square(self) -> Tensor: return self * self
  def abs(self) -> Tensor: return self.relu() + (-self).relu()
  def sign(self) -> Tensor: return (self > 0).where(1, (self < 0).where(-1, (self == self).where(self * 0 + 0, 0)))  # NaN and -0.0: 0
  def cos(self) -> Tensor: return 1 - 2 * (self * 0.5).sin().square()  # x / 2 is exact; pi / 2 - x rounds a large x
  def silu(self) -> Tensor: return self * self.sigmoid()
  def leaky_relu(self, neg_slope=0.01) -> Tensor: return (self > 0).where(self, self * neg_slope)  # slope at 0, as PyTorch

  def gelu(self) -> Tensor:
    """GELU in its tanh form (PyTorch's approximate="tanh"), within 1e-3 of the erf form."""
    return 0.5 * self * (1 + (math.sqrt(2 / math.pi) * (self + 0.044715 * self * self * self)).tanh())

  def maximum(self, other) -> Tensor: return self._binary(F.Maximum, other)
  def minimum(self, other) -> Tensor:
    x, y = self._broadcasted(other)  # floats through maximum, which propagates NaN; others compare (-x wraps at -2**31)
    return -((-x).maximum(-y)) if x.dtype.is_float else (x < y).where(x, y)

  def clip(self, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Clamp to [min, max]; the gradient passes where the value was inside, boundaries included; NaN stays NaN."""
    result = self if min is None else (self < min).where(min, self)
    return result if max is None else (result > max).where(max, result)

  def where(self, x, y) -> Tensor:
    """Elementwise `x if self else y`, broadcasting all three. A Python scalar meets the other operand's dtype as in
    PyTorch's type promotion (where(c, 0.5, int_tensor) is float32, where(c, 2, half_tensor) float16)."""
    condition = self.cast(dtypes.bool)
    x = (y if isinstance(y, Tensor) else condition)._to_tensor(x)  # a scalar meets the other operand's dtype, as in y + x
    x, y = x._broadcasted(y)
    shape = _broadcast_shape(condition.shape, x.shape)
    return condition._broadcast_to(shape)._apply(F.Where, x._broadcast_to(shape), y._broadcast_to(shape))

  def __lt__(self, other) -> Tensor: return self._binary(F.Less, other)
  def __gt__(self, other) -> Tensor: return self._binary(F.Less, other, reverse=True)
  def __eq__(self, other) -> Tensor: return self._binary(F.Equal, other)  # type: ignore[override]
  def __ne__(self, other) -> Tensor: return (self == other).where(False, True)  # type: ignore[override]
  def __le__(self, other) -> Tensor: return (self < other).where(True, self == other)
  def __ge__(self, other) -> Tensor: return (self > other).where(True, self == other)

  def __neg__(self): return self.neg()
  def __matmul__(self, other): return self.matmul(other)

  # ---- reductions
  def _reduce(self, function_class, axis, keepdim) -> Tensor:
    axes = _axes(axis, self.ndim)
    result = self._apply(function_class, axes=axes) if self.ndim else self
    return result if keepdim else result._reshaped(tuple(s for i, s in enumerate(self.shape) if i not in axes))

  def _accumulating(self) -> tuple[Tensor, DType]:
    """(self in the dtype that sums and divides, the dtype to round the result to once): float16 works in float32,
    where neither its sums nor its element counts overflow; integers and bools give float32."""
    return (self if self.dtype in (dtypes.float32, dtypes.float64) else self.float()), (self.dtype if self.dtype.is_float else dtypes.float32)

  def _peak(self, axis) -> Tensor:
    """The max along axis (kept), detached, to shift exp by; zeros when there is nothing to reduce."""
    return self._reduce(F.Max, axis, keepdim=True).detach() if self.numel() else self.sum(axis, keepdim=True)

  def _count(self, axis) -> int: return prod(self.shape[a] for a in _axes(axis, self.ndim)) if self.ndim else 1

  @_takes_dim
  def sum(self, axis=None, keepdim=False) -> Tensor:
    """float16 accumulates in float32 and bools count in int32. An int32 sum wraps past the int32 range, as C's does
    (PyTorch would give int64, which minigrad lacks): cast to float64 first for sums that may leave it."""
    if self.dtype == dtypes.float16: return self.float().sum(axis, keepdim).half()
    return (self.cast(dtypes.int32) if self.dtype == dtypes.bool else self)._reduce(F.Sum, axis, keepdim)

  @_takes_dim
  def max(self, axis=None, keepdim=False) -> Tensor:
    """The largest element along axis; NaN where one of the elements is NaN, as in PyTorch (every backend's MAX keeps NaN)."""
    if self.numel() == 0 and prod(s for i, s in enumerate(self.shape) if i not in _axes(axis, self.ndim)):
      raise ValueError(f"max or min over zero elements (axis {axis} of a {self.shape} tensor) has no value")
    return self._reduce(F.Max, axis, keepdim)

  @_takes_dim
  def min(self, axis=None, keepdim=False) -> Tensor:
    # integers: ~max(~x), ~x = -x - 1 (-x wraps at -2**31; bool can't negate)
    return -((-self).max(axis, keepdim)) if self.dtype.is_float else (-((-self.cast(dtypes.int32) - 1).max(axis, keepdim)) - 1).cast(self.dtype)

  @_accumulates
  def mean(self, axis=None, keepdim=False) -> Tensor:
    """NaN over zero elements, as in PyTorch; float16 accumulates and divides in float32."""
    return self.sum(axis, keepdim) / self._count(axis)

  @_accumulates
  def var(self, axis=None, keepdim=False, correction=1) -> Tensor:
    """Divides by max(0, n - correction), so n <= correction gives inf or NaN, as in PyTorch."""
    return (self - self.mean(axis, keepdim=True)).square().sum(axis, keepdim) / max(self._count(axis) - correction, 0)

  @_accumulates
  def std(self, axis=None, keepdim=False, correction=1) -> Tensor:
    """sqrt(var); where var is 0 (a constant row) the gradient is 0, as in PyTorch, not sqrt's 0 * inf."""
    variance = self.var(axis, keepdim, correction)
    return (variance == 0).where(0, variance).sqrt()

  @_accumulates
  def logsumexp(self, axis=None, keepdim=False) -> Tensor:
    """log(sum(exp(x))) computed around the max, so large inputs don't overflow; all -inf gives -inf and a +inf +inf."""
    peak = self._peak(axis)
    peak = ((peak - peak) == 0).where(peak, 0)  # an infinite peak would turn x - peak into NaN
    return (self - peak).exp().sum(axis, keepdim).log() + (peak if keepdim else peak.squeeze(axis))

  @_takes_dim
  def prod(self, axis=None, keepdim=False) -> Tensor:
    """Product along axes by pairwise multiplication (log2(n) steps), so zeros and signs are exact."""
    if self.dtype == dtypes.float16: return self.float().prod(axis, keepdim).half()  # multiplies in float32, rounded once
    axes = _axes(axis, self.ndim) if self.ndim else ()  # a 0-d tensor reduces over nothing, whatever the axis
    kept = [i for i in range(self.ndim) if i not in axes]
    x = self.permute(*kept, *axes).reshape(*[self.shape[i] for i in kept], self._count(axis))  # not -1: a kept dim may be 0
    x = x._pad_along(x.ndim - 1, 0, 2 ** math.ceil(math.log2(max(x.shape[-1], 1))) - x.shape[-1], value=1)  # ones up to a power of 2
    while x.shape[-1] > 1:
      pairs = x.reshape(*x.shape[:-1], x.shape[-1] // 2, 2)
      x = pairs[..., 0] * pairs[..., 1]
    return x.reshape(*[1 if i in axes else s for i, s in enumerate(self.shape) if keepdim or i not in axes])

  @_takes_dim
  def argmax(self, axis=None, keepdim=False) -> Tensor:
    """Index of the first maximum, or of the first NaN, as in PyTorch (int32, no gradient)."""
    return self._first_index_of(Tensor.max, axis, keepdim)

  @_takes_dim
  def argmin(self, axis=None, keepdim=False) -> Tensor: return self._first_index_of(Tensor.min, axis, keepdim)

  def _first_index_of(self, extreme, axis, keepdim) -> Tensor:
    if axis is None or self.ndim == 0: return self.flatten()._first_index_of(extreme, 0, False).reshape(*([1] * self.ndim if keepdim else []))
    axis, x = _axis(axis, self.ndim), self.detach()
    hit = (x == extreme(x, axis, keepdim=True)).where(True, x != x)  # a NaN extreme equals nothing: its index is the NaN's
    return x.shape[axis] - (hit * (x.shape[axis] - x._positions(axis))).max(axis, keepdim)  # the first hit counts down the most

  # ---- movement
  def reshape(self, *shape) -> Tensor:
    shape = _shape(shape, allow_infer=True)
    if shape.count(-1) > 1: raise ValueError(f"reshape to {shape}: only one dimension can be -1")
    known = prod(s for s in shape if s != -1)
    if -1 in shape: shape = tuple(self.numel() // known if known and s == -1 else s for s in shape)
    if prod(shape) != self.numel() or min(shape, default=0) < 0: raise ValueError(f"cannot reshape {self.shape} ({self.numel()} elements) to {shape}")
    return self._reshaped(shape)

  def _reshaped(self, shape) -> Tensor: return self if shape == self.shape else self._apply(F.Reshape, arg=tuple(shape))  # a shape known to fit

  def permute(self, *order) -> Tensor:
    order = tuple(_axis(o, self.ndim) for o in _flatten_args(order))
    if sorted(order) != list(range(self.ndim)): raise ValueError(f"permute order {order} is not a permutation of the dims of {self.shape}")
    return self._apply(F.Permute, arg=order)

  def transpose(self, dim0=-2, dim1=-1) -> Tensor:
    dim0, dim1 = _axis(dim0, self.ndim), _axis(dim1, self.ndim)
    return self.permute(*[dim1 if i == dim0 else dim0 if i == dim1 else i for i in range(self.ndim)])

  def flatten(self, start_dim=0, end_dim=-1) -> Tensor:
    start, end = _axis(start_dim, self.ndim), _axis(end_dim, self.ndim)  # a 0-d tensor becomes (1,)
    if start > end: raise ValueError(f"flatten of {self.shape}: start_dim {start_dim} comes after end_dim {end_dim}")
    return self._reshaped((*self.shape[:start], prod(self.shape[start:end + 1]), *self.shape[end + 1:]))

  def unsqueeze(self, dim) -> Tensor:
    dim = _axis(dim, self.ndim + 1)
    return self._reshaped((*self.shape[:dim], 1, *self.shape[dim:]))

  def squeeze(self, dim=None) -> Tensor:
    dims = _axes(dim, self.ndim)
    return self._reshaped(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

  def expand(self, *shape) -> Tensor:
    shape = _shape(shape, allow_infer=True)  # -1 keeps a size; new dims lead
    shape = tuple(old if new == -1 else new for old, new in zip((-1,) * (len(shape) - self.ndim) + self.shape, shape))
    if len(shape) < self.ndim or -1 in shape or any(old not in (1, new) for old, new in zip(self.shape[::-1], shape[::-1])):
      raise ValueError(f"cannot expand shape {self.shape} to {shape}: a size stays or grows from 1, and -1 keeps an old one (new dims have none)")
    return self._broadcast_to(shape)

  def pad(self, pads, value=0.0) -> Tensor:
    """Pad with one (before, after) pair per dim, in order: a shrink to a window that reaches past the edges."""
    pads = tuple(tuple(p) for p in pads)
    if len(pads) != self.ndim or any(len(p) != 2 or min(p) < 0 or not all(isinstance(v, (int, np.integer)) for v in p) for p in pads):
      raise ValueError(f"pad needs one non-negative (before, after) pair per dim of {self.shape}, got {pads}")
    padded = self._apply(F.Shrink, arg=tuple((-before, size + after) for (before, after), size in zip(pads, self.shape)))
    # a value other than 0: a bool mask, True inside and padded with False, picks padded inside and value in the padding
    return padded if value == 0 else self.full_like(True, dtype=dtypes.bool).pad(pads).where(padded, value).cast(self.dtype)

  def shrink(self, bounds) -> Tensor:
    """Keep [start, end) along each dim: a view, no copy."""
    bounds = tuple(tuple(b) for b in bounds)
    if len(bounds) != self.ndim or any(len(b) != 2 or not 0 <= b[0] <= b[1] <= size for b, size in zip(bounds, self.shape)):
      raise ValueError(f"shrink needs one (start, end) pair with 0 <= start <= end <= size per dim of {self.shape}, got {bounds}")
    return self._apply(F.Shrink, arg=bounds)

  def _positions(self, dim) -> Tensor:
    """0, 1, ..., shape[dim] - 1 laid along dim (size 1 elsewhere): what one-hot comparisons compare with."""
    return Tensor(_arange(self.shape[dim], self.device)).reshape(*[s if i == dim else 1 for i, s in enumerate(self.shape)])

  def _pad_along(self, dim, before, after, value=0.0) -> Tensor:
    """Pad only dim, with before and after elements."""
    return self.pad(tuple((before, after) if i == dim else (0, 0) for i in range(self.ndim)), value)

  @_takes_dim
  def flip(self, axis) -> Tensor: return self._apply(F.Flip, arg=_axes(axis, self.ndim) if self.ndim else ())  # a 0-d tensor is its own flip

  def __getitem__(self, index) -> Tensor:
    """PyTorch's indexing: ints, slices (any step), None, ..., integer Tensors and lists of any shape (gathers,
    differentiable; several broadcast together) and bool masks (they select their true positions, read on the host)."""
    index = [Tensor(i if np.size(i) else np.zeros(np.shape(i), np.int32), device=self.device) if isinstance(i, (list, np.ndarray)) else i
             for i in (index if isinstance(index, tuple) else (index,))]
    real = sum(i.ndim if isinstance(i, Tensor) and i.dtype == dtypes.bool else 1 for i in index if i is not None and i is not Ellipsis)
    ellipses = [at for at, i in enumerate(index) if i is Ellipsis]
    if len(ellipses) > 1: raise IndexError("an index can only have a single ellipsis ('...')")
    if real > self.ndim: raise IndexError(f"too many indices ({real}) for a tensor of shape {self.shape}")
    at = ellipses[0] if ellipses else len(index)
    index[at:at + len(ellipses)] = [slice(None)] * (self.ndim - real)  # the ellipsis, or the end, stands for the dims not indexed
    bounds, flips, steps, final_shape, gathers, dim = [], [], [], [], [], 0
    for item in index:
      if item is None: final_shape.append(1); continue
      if isinstance(item, Tensor):
        if item.dtype == dtypes.bool and (item.ndim == 0 or item.shape != self.shape[dim:dim + item.ndim]):
          raise IndexError(f"a bool mask needs at least 1 dim and the shape of the dims it indexes: got {item.shape} at dim {dim} of {self.shape}")
        positions = [Tensor(p.astype(np.int32), device=self.device) for p in item.numpy().nonzero()] if item.dtype == dtypes.bool else [item]
        for p in positions:
          gathers.append((len(final_shape), p))
          bounds.append((0, self.shape[dim])); final_shape.append(self.shape[dim]); dim += 1
        continue
      size = self.shape[dim]
      if isinstance(item, slice):
        picked = range(*item.indices(size))
        bounds.append((min(picked[0], picked[-1]), max(picked[0], picked[-1]) + 1) if picked else (0, 0))
        if picked.step < 0: flips.append(dim)
        if abs(picked.step) > 1 and picked: steps.append((dim, abs(picked.step)))
        final_shape.append(len(picked))
      elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
        if not -size <= item < size: raise IndexError(f"index {item} is out of range for dim {dim} of size {size}")
        bounds.append((item % size, item % size + 1))
      else: raise TypeError(f"cannot index a Tensor with {type(item).__name__}")
      dim += 1
    x = self.shrink(bounds).flip(flips)
    for d, step in steps: x = x.transpose(d, -1)._windows(1, step, 1).squeeze(-1).transpose(d, -1)  # windows of one element
    x = x.reshape(*final_shape)
    return x._gather(gathers) if gathers else x

  def _index(self, idx: Tensor, dim, wrap=True) -> Tensor:
    """An integer index into dim with negatives wrapped, as NumPy's indexing, or refused (wrap=False: gather and
    Embedding, as PyTorch); an out-of-range one raises IndexError, naming it."""
    if idx.dtype.is_float or idx.dtype == dtypes.bool: raise IndexError(f"tensors used as indices must be integers, got {idx.dtype}")
    size = self.shape[dim]
    idx = idx._check_range(-size if wrap else 0, size, lambda index: IndexError(f"index {index} is out of range for dim {dim} of size {size}"))
    return (idx < 0).where(idx + size, idx) if wrap else idx  # refused negatives never reach a kernel

  def _take(self, index: Tensor, axis) -> Tensor:
    """Along axis, the element at index (int32, size 1 along axis, broadcasting with self elsewhere), with that axis
    dropped: a gather kernel reads the picked elements alone. Callers pass an index checked by _check_range, which puts
    its low bound (row 0 here) in place of an element out of range, so no kernel reads outside its buffer whatever the
    index held; an empty axis gives zeros."""
    shape = tuple(n if s == 1 and d != axis else s for d, (s, n) in enumerate(zip(self.shape, index.shape)))
    if not self.shape[axis]: return (self.expand(*shape).sum(axis) + index.squeeze(axis) * 0).cast(self.dtype)  # read index: it is checked
    # where the gradient goes, made only when one is needed: a one-hot of index's shape that broadcasts to self's
    hit = [(index == self._positions(axis)).cast(self.dtype)] if self.requires_grad else []
    return self.expand(*shape)._apply(F.Gather, index.expand(*shape[:axis], 1, *shape[axis + 1:]), *hit, axes=(axis,)).squeeze(axis)

  def _gather(self, gathers, wrap=True) -> Tensor:
    """x[..., idx, ...] for integer index tensors at the given dims (in order): the indices broadcast together, and each
    picks one element of the gathered dims (flattened into one). PyTorch's rule places the result's dims: where the
    indices were if no other dim lies between them, else first. Ints dropped their dims before (NumPy counts them as
    indices: x[0, :, idx] would put idx's dims first), and 0-d indices, which PyTorch reads as ints, place nothing."""
    if prod(self.shape[d] for d, _ in gathers) > 2**31: raise IndexError(f"dims {[d for d, _ in gathers]} of {self.shape} outgrow int32 indices")
    dims, flat = [d for d, _ in gathers], self._index(gathers[0][1], gathers[0][0], wrap)
    for d, idx in gathers[1:]: flat = flat * self.shape[d] + self._index(idx, d, wrap)  # row-major over the gathered dims, broadcast
    table = self.permute(*dims, *[i for i in range(self.ndim) if i not in dims]).flatten(0, len(dims) - 1).unsqueeze(0)  # (1, gathered, rest)
    result = table._take(flat.reshape(-1, 1, *[1] * (table.ndim - 2)), 1).reshape(*flat.shape, *table.shape[2:])
    places = {d - j for j, (d, idx) in enumerate(gathers) if idx.ndim}  # how many dims that stay lie before each index
    at = places.pop() if len(places) == 1 else 0
    return result.permute(*range(flat.ndim, flat.ndim + at), *range(flat.ndim), *range(flat.ndim + at, result.ndim)) if at else result

  def gather(self, dim, index: Tensor) -> Tensor:
    """out[i][j][k] = self[i][index[i][j][k]][k] for dim=1 (PyTorch's gather): index has self's ndim and sizes no
    larger than self's outside dim."""
    dim = _axis(dim, self.ndim)
    if index.ndim != self.ndim or any(n > s for d, (n, s) in enumerate(zip(index.shape, self.shape)) if d != dim):
      raise IndexError(f"gather along dim {dim} needs an index of {self.ndim} dims no larger than {self.shape} elsewhere, got {index.shape}")
    if self.ndim == 0: return self.reshape(1).gather(0, index.reshape(1)).reshape(())
    x = self.shrink(tuple((0, s if d == dim else n) for d, (n, s) in enumerate(zip(index.shape, self.shape)))).unsqueeze(dim)
    return x._take(self._index(index, dim, wrap=False).unsqueeze(dim + 1), dim + 1)

  def cat(self, *others, dim=0) -> Tensor:
    """Join tensors along an existing dim: Tensor.cat(a, b), a.cat(b) or Tensor.cat([a, b]). One kernel: each piece is
    read through its padded view, so memory stays O(output)."""
    tensors = _flatten_args((self,) + others)
    if not tensors or any(t.ndim == 0 for t in tensors):
      raise ValueError(f"cat needs at least one tensor, each of at least 1 dim (stack joins 0-d ones), got shapes {[t.shape for t in tensors]}")
    first, dim = tensors[0], _axis(dim, tensors[0].ndim)
    if any(t.ndim != first.ndim or t.shape[:dim] + t.shape[dim + 1:] != first.shape[:dim] + first.shape[dim + 1:] for t in tensors):
      raise ValueError(f"cat along dim {dim} needs equal shapes elsewhere, got {[t.shape for t in tensors]}")
    if len(tensors) > CAT_GROUP:  # bounded kernel arguments: join groups first, each into memory
      tensors = [Tensor.cat(*tensors[i:i + CAT_GROUP], dim=dim).contiguous() for i in range(0, len(tensors), CAT_GROUP)]
    starts = [0, *itertools.accumulate(t.shape[dim] for t in tensors)]
    return functools.reduce(Tensor.add, [t._pad_along(dim, start, starts[-1] - start - t.shape[dim]) for t, start in zip(tensors, starts)])

  def stack(self, *others, dim=0) -> Tensor:
    """Join tensors along a new dim: Tensor.stack(a, b), a.stack(b) or Tensor.stack([a, b])."""
    return Tensor.cat([t.unsqueeze(dim) for t in _flatten_args((self,) + others)], dim=dim)  # a negative dim counts in the result's dims

  def split(self, size, dim=0) -> list[Tensor]:
    """Pieces of `size` along dim (the last may be smaller), or of the listed sizes."""
    dim = _axis(dim, self.ndim)
    total = self.shape[dim]
    if isinstance(size, (list, tuple)): sizes = list(size)
    else: sizes = [min(size, total - start) for start in range(0, max(total, 1), size)] if size > 0 else [size]  # [0] fits an empty dim
    if sum(sizes) != total or min(sizes) < 0:
      raise ValueError(f"split size {size} must be positive, or a list of non-negative sizes adding up to {total} (dim {dim} of {self.shape})")
    starts = itertools.accumulate([0] + sizes)
    return [self.shrink(tuple((s, s + n) if i == dim else (0, d) for i, d in enumerate(self.shape))) for s, n in zip(starts, sizes)]

  def chunk(self, n, dim=0) -> list[Tensor]:
    """At most n pieces of equal size along dim (the last may be smaller), as PyTorch's chunk."""
    if n <= 0: raise ValueError(f"chunk needs a positive number of chunks, got {n}")
    return self.split(-(-self.shape[_axis(dim, self.ndim)] // n) or [0] * n, dim)  # an empty dim: n empty pieces, as PyTorch

  def repeat(self, *times) -> Tensor:
    """Tile the tensor times[i] times along each dim (extra leading times add dims), as PyTorch's repeat."""
    times = _flatten_args(times)
    if len(times) < self.ndim or min(times, default=0) < 0:
      raise ValueError(f"repeat needs a non-negative count for each of the {self.ndim} dims of {self.shape}, got {times}")
    x = self.reshape(*(1,) * (len(times) - self.ndim), *self.shape)
    expanded = x.reshape(*[d for size in x.shape for d in (1, size)]).expand(*[d for t, size in zip(times, x.shape) for d in (t, size)])
    return expanded.reshape(*[t * size for t, size in zip(times, x.shape)])

  def roll(self, shifts, dims=None) -> Tensor:
    """Shift elements along dims, wrapping around (dims=None rolls the flattened tensor): the two pieces of each dim
    joined the other way round, as cat joins them (one kernel, each piece read where it lies)."""
    if dims is None: return self.flatten().roll(shifts, 0).reshape(self.shape)
    shifts, dims = [tuple(v) if isinstance(v, (tuple, list)) else (v,) for v in (shifts, dims)]
    if len(shifts) != len(dims): raise ValueError(f"roll needs one shift per dim, got shifts {shifts} and dims {dims}")
    x = self
    for shift, dim in zip(shifts, [_axis(d, self.ndim) for d in dims]):
      start = -shift % max(self.shape[dim], 1)
      x = Tensor.cat(*reversed(x.split([start, self.shape[dim] - start], dim)), dim=dim) if start else x
    return x

  def cumsum(self, dim=0) -> Tensor:
    """Running sum along dim, by log2(n) shifted adds (a parallel scan): no n x n matrix. bool sums as int32."""
    dim = _axis(dim, self.ndim)
    x = self.float() if self.dtype == dtypes.float16 else self.cast(dtypes.int32) if self.dtype == dtypes.bool else self
    size, shift = self.shape[dim] if self.ndim else 1, 1
    while shift < size:
      x = x + x.pad(tuple((shift, 0) if i == dim else (0, 0) for i in range(self.ndim))).shrink(tuple((0, s) for s in self.shape))
      shift *= 2
    return x.cast(dtypes.float16) if self.dtype == dtypes.float16 else x

  def tril(self, diagonal=0) -> Tensor:
    """Zero the elements above the diagonal-th diagonal of the last two dims."""
    if self.ndim < 2: raise ValueError(f"tril and triu need at least 2 dims, got shape {self.shape}")
    return (self._positions(self.ndim - 2) + diagonal >= self._positions(self.ndim - 1)).where(self, self.zeros_like())

  def triu(self, diagonal=0) -> Tensor:
    """Zero the elements below the diagonal-th diagonal: those that tril(diagonal - 1) keeps."""
    return self.full_like(True, dtype=dtypes.bool).tril(diagonal - 1).where(self.zeros_like(), self)

  def masked_fill(self, mask: Tensor, value) -> Tensor:
    """value where the bool mask (broadcast against self) is True, else self; the result keeps self's dtype."""
    if not isinstance(mask, Tensor) or mask.dtype != dtypes.bool: raise TypeError(f"masked_fill needs a bool Tensor mask, got {mask!r}")
    return mask.where(value, self).cast(self.dtype)

  # ---- linear algebra
  def matmul(self, other: Tensor) -> Tensor:
    """NumPy's matmul: batched, broadcasting, with 1-D operands promoted and then dropped."""
    x, w = self, other if isinstance(other, Tensor) else Tensor(other, device=self.device)  # a scalar is 0-d: refused below
    if x.ndim == 0 or w.ndim == 0: raise ValueError(f"matmul needs at least 1-D operands, got shapes {x.shape} and {w.shape}")
    x2, w2 = x.reshape(1, -1) if x.ndim == 1 else x, w.reshape(-1, 1) if w.ndim == 1 else w
    if x2.shape[-1] != w2.shape[-2]: raise ValueError(f"matmul shapes {x.shape}, {w.shape} don't match: {x2.shape[-1]} columns, {w2.shape[-2]} rows")
    dtype = dtypes.promote(x.dtype, w.dtype)
    inner = dtypes.float32 if dtype == dtypes.float16 else dtype  # accumulate half in float32
    out = (x2.cast(inner).unsqueeze(-2) * w2.cast(inner).transpose(-1, -2).unsqueeze(-3)).sum(-1).cast(dtype)  # rows times columns
    if x.ndim == 1: out = out.squeeze(-2)
    return out.squeeze(-1) if w.ndim == 1 else out

  def dot(self, other: Tensor) -> Tensor: return self.matmul(other)

  def linear(self, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """self @ weight.T + bias, with weight laid out (out_features, in_features) as in PyTorch."""
    out = self.matmul(weight.T)
    return out if bias is None else out + bias

  # ---- functional
  @_accumulates
  def softmax(self, axis=-1) -> Tensor:
    exps = (self - self._peak(axis)).exp()
    return exps / exps.sum(axis, keepdim=True)

  @_accumulates
  def log_softmax(self, axis=-1) -> Tensor:
    """x - logsumexp(x), in log space around the max, so logits of +-1e4 stay exact."""
    shifted = self - self._peak(axis)
    return shifted - shifted.exp().sum(axis, keepdim=True).log()

  def dropout(self, p=0.5) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p), only while Tensor.training is True."""
    if not 0 <= p <= 1: raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not Tensor.training or p == 0: return self
    # a product, as PyTorch: inf * 0 is nan
    return self * (Tensor.rand(*self.shape, device=self.device) >= p).where(1 / (1 - p) if p < 1 else 0.0, 0.0).cast(self.dtype)

  @_accumulates
  def layernorm(self, axis=-1, eps=1e-5) -> Tensor:
    centered = self - self.mean(axis, keepdim=True)
    return centered * (centered.square().mean(axis, keepdim=True) + eps).rsqrt()

  def one_hot(self, num_classes) -> Tensor:
    """int32 rows with a 1 at each class index; a class outside [0, num_classes) raises a ValueError naming it."""
    if self.dtype.is_float or self.dtype == dtypes.bool: raise TypeError(f"one_hot needs integer class indices, got {self.dtype}")
    classes = self._check_range(0, num_classes, lambda index: ValueError(f"class {index} is out of range for one_hot with {num_classes} classes"))
    return (classes.unsqueeze(-1) == Tensor(_arange(num_classes, self.device))).cast(dtypes.int32)

  def round(self) -> Tensor:
    """Round half to even, as torch.round, with a zero gradient. Adding and removing 2**mantissa_bits lets the float
    unit round to nearest even; floats that large are integers already."""
    if not self.dtype.is_float: return self
    x = (self.float() if self.dtype == dtypes.float16 else self).detach()
    big = 2.0 ** (52 if x.dtype == dtypes.float64 else 23)
    rounded = (x.abs() < big).where((x < 0).where((x - big) + big, (x + big) - big), x)
    return (x == x).where(rounded.cast(self.dtype), self)  # self only where it is nan: connected, with gradient 0

  def floor(self) -> Tensor: return self.round() - (self.round() > self).cast(self.dtype)  # no bool in a subtraction, as PyTorch
  def ceil(self) -> Tensor: return self.round() + (self.round() < self)
  def trunc(self) -> Tensor: return (self < 0).where(self.ceil(), self.floor())
  def tan(self) -> Tensor: return self.sin() / self.cos()

  def softplus(self, beta=1.0, threshold=20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold, as PyTorch."""
    scaled = self * beta
    return (scaled > threshold).where(self, (1 + scaled.clip(None, threshold).exp()).log() / beta)

  def elu(self, alpha=1.0) -> Tensor: return (self > 0).where(self, alpha * (self.clip(None, 0).exp() - 1))

  def _windows(self, size, stride, dilation) -> Tensor:
    """(..., n) -> (..., out, size): every window along the last dim, as one view of self (no copy per offset).
    Overlapping windows repeat the row `size` times and pad it by size * dilation, so that row j of its
    (size, n + dilation) reshape starts j * dilation elements on; windows that don't overlap are a reshape."""
    n, lead, no_pad = self.shape[-1], self.shape[:-1], ((0, 0),) * (self.ndim - 1)
    if min(size, stride, dilation) <= 0: raise ValueError(f"kernel {size}, stride {stride} and dilation {dilation} must be positive")
    out = (n - dilation * (size - 1) - 1) // stride + 1
    if out <= 0: raise ValueError(f"kernel {size} with dilation {dilation} is larger than the (padded) input size {n}")
    if size <= stride and dilation == 1:
      return self.pad(no_pad + ((0, max(out * stride - n, 0)),))[..., :out * stride].reshape(*lead, out, stride)[..., :size]
    repeated = self.unsqueeze(-2).expand(*lead, size, n).reshape(*lead, size * n).pad(no_pad + ((0, size * dilation),))
    return repeated.reshape(*lead, size, n + dilation)[..., :(out - 1) * stride + 1:stride].transpose(-1, -2)

  def _windows2d(self, kernel, stride=None, dilation=1) -> Tensor:
    """(..., H, W) -> (..., OH, OW, KH, KW); stride defaults to the kernel's size, as pooling's does."""
    (kh, kw), (sh, sw), (dh, dw) = [(v, v) if isinstance(v, int) else tuple(v) for v in (kernel, kernel if stride is None else stride, dilation)]
    x = self.transpose(-2, -1)._windows(kh, sh, dh).transpose(-3, -1)._windows(kw, sw, dw)  # (..., KH, OH, OW, KW)
    return x.permute(*range(x.ndim - 4), x.ndim - 3, x.ndim - 2, x.ndim - 4, x.ndim - 1)

  def conv2d(self, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of (N, C, H, W) with weight (O, C / groups, KH, KW).
    padding: an int, a pair (ph, pw), "same", or per side ((top, bottom), (left, right)) as in pad()."""
    if self.ndim != 4 or weight.ndim != 4 or self.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
      raise ValueError(f"conv2d needs input (N, C, H, W) and weight (O, C / groups, KH, KW), got {self.shape}, {weight.shape}, groups={groups}")
    out_channels, group_channels, kh, kw = weight.shape
    dilation = (dilation, dilation) if isinstance(dilation, int) else tuple(dilation)
    if padding == "same" and set(np.ravel(stride)) == {1}: padding = [(d * (k - 1) // 2, (d * (k - 1) + 1) // 2) for k, d in zip((kh, kw), dilation)]
    pads = [(p, p) if isinstance(p, int) else tuple(p) for p in ((padding, padding) if isinstance(padding, int) else padding)]
    if len(pads) != 2 or any(len(p) != 2 for p in pads):
      raise ValueError(f"conv2d padding must be an int, (ph, pw), ((top, bottom), (left, right)) or 'same' (at stride 1), got {padding!r}")
    windows = self.pad(((0, 0), (0, 0), *pads))._windows2d((kh, kw), stride, dilation)
    n, _, oh, ow = windows.shape[:4]
    grouped = windows.reshape(n, groups, 1, group_channels, oh, ow, kh, kw) * weight.reshape(1, groups, -1, group_channels, 1, 1, kh, kw)
    out = grouped.sum((3, 6, 7)).reshape(n, out_channels, oh, ow)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)

  def max_pool2d(self, kernel_size=2, stride=None) -> Tensor: return self._windows2d(kernel_size, stride).max((-2, -1))
  def avg_pool2d(self, kernel_size=2, stride=None) -> Tensor: return self._windows2d(kernel_size, stride).mean((-2, -1))

  def scaled_dot_product_attention(self, key: Tensor, value: Tensor, attn_mask: Tensor | None = None, dropout_p=0.0,
                                   is_causal=False, scale=None) -> Tensor:
    """softmax(self @ key^T * scale + mask) @ value, as PyTorch: a bool attn_mask keeps where True, a float one is
    added; is_causal keeps the lower triangle; dropout acts only while Tensor.training is True."""
    if is_causal and attn_mask is not None: raise ValueError("scaled_dot_product_attention takes attn_mask or is_causal, not both")
    scores = self @ key.transpose(-2, -1) * (1 / math.sqrt(self.shape[-1]) if scale is None else scale)
    if is_causal: attn_mask = Tensor.ones(self.shape[-2], key.shape[-2], dtype=dtypes.bool, device=self.device).tril()
    if attn_mask is not None: scores = attn_mask.where(scores, -math.inf) if attn_mask.dtype == dtypes.bool else scores + attn_mask
    # a row masked whole reads nothing (0), as PyTorch, rather than softmax's 0 / 0; its scores, zeroed, keep NaN out of the gradient
    empty = scores.max(-1, keepdim=True) == -math.inf
    return empty.where(0, empty.where(0, scores).softmax(-1)).dropout(dropout_p) @ value

  # ---- the divergence primitive
  def cross_entropy(self, target: Tensor, axis=-1, reduction="mean", label_smoothing=0.0, ignore_index=-100, dim=None) -> Tensor:
    """-sum_c target_c * log_softmax(self)_c along axis (or dim), with 0 * log 0 = 0. target holds class indices (self's
    shape without axis) or probabilities (self's shape). reduction: "none", "sum" or "mean" (over non-ignored samples)."""
    if reduction not in ("none", "sum", "mean"): raise ValueError(f"unknown reduction {reduction!r}: use 'none', 'sum' or 'mean'")
    if not 0.0 <= label_smoothing <= 1.0: raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(target, Tensor): target = Tensor(target, device=self.device)
    axis = _axis(axis if dim is None else dim, self.ndim)
    classes, (logits, dtype) = self.shape[axis], self._accumulating()  # float32 inside for half
    samples = self.shape[:axis] + self.shape[axis + 1:]
    if target.shape != (self.shape if target.dtype.is_float else samples):
      raise ValueError(f"a {target.dtype} target of shape {target.shape}: probabilities are floats of shape {self.shape}, classes ints of {samples}")
    # the samples that count, and logits in log space around the max, where nothing cancels
    counted, shifted = Tensor.full(samples, True, device=self.device), logits - logits._peak(axis)
    if not target.dtype.is_float:
      counted = target != ignore_index
      target = counted.where(target, 0)._check_range(0, classes, lambda index: IndexError(f"class index {index} is out of range for "
                                                                                          f"{classes} classes (ignore_index={ignore_index})"))
    # -sum p * (shifted - log_sum_exp) as two terms, both >= 0, whose gradient (p_total * softmax - p) needs no other
    # reduce. Class indices are one-hot probabilities (summing to 1), and without smoothing their term is one element of
    # shifted, read by a gather (an ignored sample reads class 0, which counted then zeroes)
    if target.dtype.is_float or label_smoothing:
      probs = (target if target.dtype.is_float else target.unsqueeze(axis) == self._positions(axis)).cast(logits.dtype)
      if label_smoothing: probs = probs * (1 - label_smoothing) + label_smoothing / classes
      log_q = (probs == 0).where(logits == -math.inf, False).where(0, shifted)  # 0 * log 0 = 0 (0 * -inf would be nan)
      expected, p_total = (probs * log_q).sum(axis), probs.sum(axis) if target.dtype.is_float else 1
    else: expected, p_total = shifted._take(target.unsqueeze(axis), axis), 1
    per_sample = counted.where(shifted.exp().sum(axis).log() * p_total - expected, 0)
    loss = per_sample if reduction == "none" else per_sample.sum()
    if reduction == "mean": loss = loss / counted.sum()  # over the samples that count; none: nan
    return loss.cast(dtype)

  def assign(self, other) -> Tensor:
    """Make this tensor hold other's value (used by optimisers and the in-place operators); the tape is not affected."""
    other = self._to_tensor(other)
    if (other.shape, other.device) != (self.shape, self.device):
      raise ValueError(f"assign of shape {other.shape} on {other.device} to a tensor of shape {self.shape} on {self.device}")
    if id(self) not in Tensor._assigned: Tensor._state_changes += 1  # a TinyJit captured before may read its old value
    Tensor._assigned[id(self)] = self
    self.lazydata = other.cast(self.dtype).lazydata
    return self

  def _in_place(self, op, other) -> Tensor:
    """x += y and friends: x now holds op(x, y), as tinygrad's assign. A graph that read x before (x = a * 2; x += 1;
    x *= x) goes on reading the old value from a tensor that takes x's old place in it, so gradients reach a."""
    if self.requires_grad and self._ctx is None and Tensor.grad_enabled():
      raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation")
    before = Tensor(self.lazydata)
    before._ctx, before._requires_grad = self._ctx, self._requires_grad
    result = op(before, before if other is self else other)
    if (result.dtype.is_float, result.dtype != dtypes.bool) > (self.dtype.is_float, self.dtype != dtypes.bool):  # float > int > bool
      raise TypeError(f"result type {result.dtype} can't be cast to {self.dtype} in place, as PyTorch: write x = x op y to get a new dtype")
    self.assign(result)
    if result._ctx is not None: self._ctx, self._requires_grad = result.cast(self.dtype)._ctx, True
    return self


for _method in ("exp", "log", "sqrt", "sin", "sigmoid", "tanh"):  # each runs its primitive Function (F.Exp, ...) on self as a float
  setattr(Tensor, _method, lambda self, function=getattr(F, _method.capitalize()): self._floating()._apply(function))
# functions whose steps cancel (1 - 2 * sin(x / 2) ** 2, log(1 + exp(x))), overflow (sigmoid(-12) takes exp(12)) or
# round twice (exp2's x * log(2)): float16 computes them in float32, rounded once, as PyTorch
for _method in ("cos", "tan", "gelu", "softplus", "elu", "sigmoid", "silu", "exp2", "log2", "rsqrt"):
  setattr(Tensor, _method, _accumulates(getattr(Tensor, _method)))
# a one-element tensor as a Python value, as in PyTorch (`if loss < best:`); item() refuses more elements
for _name, _convert in (("__bool__", bool), ("__float__", float), ("__int__", int)):
  setattr(Tensor, _name, lambda self, convert=_convert: convert(self.item()))
# each arithmetic method as an operator: t + 1, then 1 + t (reflected: Python calls __radd__), then t += 1 (in place)
for _method, _name in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("div", "truediv"), ("pow", "pow")):
  setattr(Tensor, f"__{_name}__", lambda self, other, method=getattr(Tensor, _method): method(self, other))
  setattr(Tensor, f"__r{_name}__", lambda self, other, method=getattr(Tensor, _method): method(self, other, reverse=True))
  setattr(Tensor, f"__i{_name}__", lambda self, other, method=getattr(Tensor, _method): self._in_place(method, other))
