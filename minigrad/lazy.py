"""LazyBuffer: a node of the graph. A base computes an op; a view reads a base through a ShapeTracker, so movement
ops build no computation at all. Identical nodes are built once, so identical subgraphs are computed once."""
from __future__ import annotations
import functools, math, weakref
import numpy as np
from minigrad.device import Device
from minigrad.dtype import dtypes
from minigrad.ops import BinaryOps, LoadOps, TernaryOps, UnaryOps
from minigrad.shapetracker import ShapeTracker

_live_nodes: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
# flag -> make_error: checks on data without a host read now. A flag is a base that the checked values' consumers read,
# so it is computed by whatever realize needs them (and by no other); make_error(flag) is raised if any element is true
checks_of: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _node(device, st, dtype, op=None, srcs=(), arg=None, base=None) -> LazyBuffer:
  """The existing node with this exact definition, or a new one."""
  node = LazyBuffer(device, st, dtype, op, srcs, arg, base)
  return _live_nodes.setdefault(node.key, node)


@functools.lru_cache(maxsize=1024)
def _cached_const(value, _, shape, dtype, device) -> LazyBuffer:
  # not through _node, whose keys compare values: -0.0 == 0.0 would find the other zero
  return LazyBuffer(device, ShapeTracker.from_shape((1,) * len(shape)), dtype, LoadOps.CONST, arg=value).expand(shape)


class LazyBuffer:
  def __init__(self, device, st, dtype, op=None, srcs=(), arg=None, base=None, realized=None):
    self.device, self.st, self.dtype, self.shape = device, st, dtype, st.shape
    self.op, self.srcs, self.arg, self._base = op, srcs, arg, base
    self.realized = realized  # the backend's buffer once computed (bases only)
    self.key = (device, st, dtype, op, srcs, arg, base)  # its definition: how _node finds it

  @property
  def base(self): return self if self._base is None else self._base

  # ---- creation
  @staticmethod
  def from_numpy(array: np.ndarray, device) -> LazyBuffer:
    return LazyBuffer.from_realized(Device[device].from_numpy(array), array.shape, dtypes.of(array.dtype), device)

  @staticmethod
  def from_realized(buffer, shape, dtype, device) -> LazyBuffer:
    """A node that holds an existing backend buffer."""
    return LazyBuffer(device, ShapeTracker.from_shape(tuple(shape)), dtype, LoadOps.BUFFER, realized=buffer)

  @staticmethod
  def const(value, shape, dtype, device) -> LazyBuffer:
    """A constant costs no memory: a one-element node expanded to the shape."""
    value = dtype.np(value).item()
    return _cached_const(value, str(value), tuple(shape), dtype, device)  # str(value) tells -0.0 from 0.0

  def const_like(self, value) -> LazyBuffer: return LazyBuffer.const(value, self.shape, self.dtype, self.device)

  # ---- compute
  def e(self, op, *others, arg=None) -> LazyBuffer:
    """An elementwise op on same-shaped buffers (Tensor broadcasts before it gets here)."""
    if op in (BinaryOps.CMPLT, BinaryOps.CMPEQ): dtype = dtypes.bool
    elif op is UnaryOps.CAST: dtype = arg
    else: dtype = (others[0] if op is TernaryOps.WHERE else self).dtype  # WHERE's condition comes first
    return _node(self.device, ShapeTracker.from_shape(self.shape), dtype, op, (self,) + others, arg)

  def r(self, op, axes, *others) -> LazyBuffer:
    """Reduce over axes, keeping them as size 1. GATHER's other source is the index in the result's shape."""
    axes = tuple(sorted(a for a in axes if self.shape[a] != 1))
    if not axes: return self
    new_shape = tuple(1 if i in axes else s for i, s in enumerate(self.shape))
    return _node(self.device, ShapeTracker.from_shape(new_shape), self.dtype, op, (self, *others), axes)

  def contiguous(self, own_memory=False) -> LazyBuffer:
    """A base with this view's values laid out row-major (a copy kernel unless it already is one). With own_memory,
    an unrealized base gets its own kernel too, rather than being fused into its consumers."""
    if self._base is None and (self.realized is not None or not own_memory): return self
    return self.e(UnaryOps.NOOP)  # a view is never its base's whole row-major layout: _view returns the base for that

  # ---- movement: new views of the same base. An unchanged tracker gives this very node back (_node finds it); the
  # no-op checks below only skip building one (reshape's also a tracker that gives size-1 dims other strides).
  def _view(self, st: ShapeTracker) -> LazyBuffer:
    if st.contiguous and st.shape == self.base.shape: return self.base
    # a view that is all padding reads no memory at all
    return LazyBuffer.const(0, st.shape, self.dtype, self.device) if st.all_padding else _node(self.device, st, self.dtype, base=self.base)

  def reshape(self, shape): return self if tuple(shape) == self.shape else self._view(self.st.reshape(tuple(shape)))
  def permute(self, order): return self if tuple(order) == tuple(range(len(order))) else self._view(self.st.permute(tuple(order)))
  def expand(self, shape):
    """Broadcast to shape, as NumPy: missing dims are new leading ones."""
    x = self.reshape((1,) * (len(shape) - len(self.shape)) + self.shape)
    return x if tuple(shape) == x.shape else x._view(x.st.expand(tuple(shape)))
  def shrink(self, bounds): return self._view(self.st.shrink(tuple(bounds)))
  def flip(self, axes): return self if not axes else self._view(self.st.flip(tuple(axes)))

  # ---- realization
  def realize(self, *others) -> LazyBuffer:
    """Compute the bases of this buffer and of others now, sharing their common work, and run the checks computed."""
    from minigrad.schedule import create_schedule, run_schedule, schedule_lock
    if all(b.base.realized is not None for b in (self,) + others): return self
    with schedule_lock:
      schedule = create_schedule([b.base for b in (self, *others)])
      run_schedule(schedule)
    for flag in [item.out for item in schedule if item.out in checks_of]:
      if flag.numpy().any(): raise checks_of[flag](flag)
    return self

  def numpy(self) -> np.ndarray:
    if self.op is LoadOps.CONST: return np.full(self.shape, self.arg, self.dtype.np)  # unexpanded (0-d or all 1s): no kernel
    # a reshape of a computed base reads it as it lies: no copy kernel (a loss read after the step that computed it costs nothing)
    as_it_lies = self.base.realized is not None and self.st.contiguous and math.prod(self.shape) == math.prod(self.base.shape)
    base = self.base if as_it_lies else self.contiguous().realize().base
    return Device[self.device].to_numpy(base.realized, base.dtype).reshape(self.shape).copy()

  def to(self, device) -> LazyBuffer: return LazyBuffer.from_numpy(self.numpy(), device)  # Tensor.to never asks for its own device

  def mark_realized(self, buffer):
    """Keep the result and forget how it was made, so the graph above it can be freed."""
    self.realized, self.op, self.srcs, self.arg = buffer, LoadOps.BUFFER, (), None
    if _live_nodes.get(self.key) is self: del _live_nodes[self.key]
    self.key = None  # the key holds the sources too
