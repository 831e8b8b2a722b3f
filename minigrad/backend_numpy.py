"""The NUMPY backend: interprets a kernel's ops with NumPy. Views are strided NumPy views (no copies), and a sum of
a product becomes one batched numpy.matmul over the operands' real (non-broadcast) dims, so matmul never builds the
broadcast."""
from math import prod
import numpy as np
from minigrad.ops import BinaryOps, KernelOps, ReduceOps, TernaryOps, UnaryOps

# each op's result is then cast to the op's dtype, so NOOP and CAST are the identity here
ELEMENTWISE = {
  UnaryOps.NOOP: np.asarray, UnaryOps.CAST: np.asarray, UnaryOps.NEG: np.negative, UnaryOps.EXP: np.exp, UnaryOps.LOG: np.log,
  UnaryOps.SIN: np.sin, UnaryOps.TANH: np.tanh, UnaryOps.SQRT: np.sqrt, UnaryOps.RECIP: np.reciprocal, BinaryOps.ADD: np.add,
  BinaryOps.SUB: np.subtract, BinaryOps.MUL: np.multiply, BinaryOps.DIV: np.divide, BinaryOps.MAX: np.maximum, BinaryOps.CMPLT: np.less,
  BinaryOps.CMPEQ: np.equal, TernaryOps.WHERE: np.where,
}


def load(flat: np.ndarray, st, offset=0, pad=True) -> np.ndarray:
  """flat read through st: each view is a strided window (no copy) of the flat array before it, padded with zeros
  outside its mask (unless not `pad`: then only what lies inside the masks), and the next view reads that window's values
  row-major. `offset` moves the first view (a LOAD's offset argument)."""
  for depth, view in enumerate(st.views):
    if depth: flat, offset = np.ascontiguousarray(array).reshape(-1), 0
    mask = view.mask or ()  # an unmasked view's window is the whole view
    start = view.offset + offset + sum(lo * stride for (lo, _), stride in zip(mask, view.strides))
    window_shape = tuple(hi - lo for lo, hi in mask) or view.shape
    array = np.ndarray(window_shape, flat.dtype, flat, start * flat.itemsize, tuple(s * flat.itemsize for s in view.strides))
    if view.mask and pad:  # zeros with the window written in: numpy.pad costs ten times as much on small arrays
      window, array = array, np.zeros(view.shape, flat.dtype)
      array[tuple(slice(lo, hi) for lo, hi in mask)] = window
  return array


def contract(a: np.ndarray, b: np.ndarray, axes) -> np.ndarray:
  """sum(a * b) over axes (kept as size 1) as one batched matmul. A dim along which only one operand varies (the
  other broadcasts it with stride 0) becomes a matmul row or column, and one along which neither varies is computed
  once and broadcast, so no broadcast copy is ever built."""
  dims, shape = range(a.ndim), a.shape
  out_shape = [1 if i in axes else size for i, size in enumerate(shape)]
  if a.size == 0: return np.zeros(out_shape, np.result_type(a, b))  # an empty sum is 0; an empty result is empty
  varies = [(stride_a != 0 or size == 1, stride_b != 0 or size == 1) for size, stride_a, stride_b in zip(shape, a.strides, b.strides)]
  kept, inner = [i for i in dims if i not in axes], list(axes)
  # the kept dims grouped by (varies in a, varies in b): b alone (matmul columns), a alone (rows), both (batch), neither
  cols, rows, batch, neither = ([i for i in kept if varies[i] == kind] for kind in ((False, True), (True, False), (True, True), (False, False)))
  size = lambda group: prod(shape[i] for i in group)
  only_rows = a[tuple(slice(0, 1) if i in cols + neither else slice(None) for i in dims)]  # drop the broadcast copies
  only_cols = b[tuple(slice(0, 1) if i in rows + neither else slice(None) for i in dims)]
  left = only_rows.transpose(neither + batch + rows + inner + cols).reshape(size(batch), size(rows), size(inner))
  right = only_cols.transpose(neither + batch + inner + cols + rows).reshape(size(batch), size(inner), size(cols))
  if left.dtype == np.float32 and not (rows and cols):  # a dot, not a matrix product: BLAS would sum it in float32
    left, right = left.astype(np.float64), right.astype(np.float64)
  order = neither + batch + rows + cols  # operands in C or Fortran order (a transposed matrix) keep numpy.matmul on its BLAS path
  out = np.matmul(*(m if m.flags.c_contiguous or m.flags.f_contiguous else np.ascontiguousarray(m) for m in (left, right)))
  out = out.reshape([1] * len(neither) + [shape[i] for i in order[len(neither):]]).transpose([order.index(i) for i in kept])
  return np.broadcast_to(out.reshape([1 if i in axes or i in neither else s for i, s in enumerate(shape)]), out_shape)


def _step(kernel, op, pad=True, over=None):
  """A function (values, inputs, args) -> this op's value, with everything that doesn't depend on data decided now."""
  srcs, dtype = op.srcs, op.dtype.np
  if op.op is KernelOps.LOAD:  # an offset argument moves the view
    return lambda values, inputs, args: load(inputs[op.arg.index], op.arg.st, 0 if op.arg.offset_slot is None else args[op.arg.offset_slot], pad)
  if op.op is KernelOps.CONST:  # its st has strides 0 and offset 0: it reads a one-element buffer, 0 outside its masks
    return lambda values, inputs, args: load(np.array((args[op.arg.slot],), dtype), op.arg.st)
  if op.op is KernelOps.VALID:  # True read through st (strides 0, like a CONST's): True inside its masks, 0 outside
    valid = load(np.ones(1, np.bool_), op.arg)
    return lambda values, inputs, args: valid
  if op.op is KernelOps.RESHAPE: return lambda values, inputs, args: values[srcs[0]].reshape(op.shape)
  if isinstance(op.op, ReduceOps) and (product := kernel.product_summed_by(op)) is not None:
    return lambda values, inputs, args: contract(*[values[i] for i in product.srcs], op.arg).astype(dtype, copy=False)
  if op.op is ReduceOps.SUM:  # float32 and float16 accumulate in float64 (long sums stay accurate); int32 stays int32
    accumulator = np.float64 if dtype in (np.float32, np.float16) else dtype
    return lambda values, inputs, args: values[srcs[0]].sum(axis=op.arg, keepdims=True, dtype=accumulator).astype(dtype, copy=False)
  if op.op is ReduceOps.MAX: return lambda values, inputs, args: values[srcs[0]].max(axis=op.arg, keepdims=True)
  if op.op is ReduceOps.GATHER: return lambda values, inputs, args: np.take_along_axis(values[srcs[0]], values[srcs[1]], op.arg[0])
  function = ELEMENTWISE[op.op]
  if over is not None:  # written into the memory of source `over`, which dies here: no new memory
    return lambda values, inputs, args: function(*[values[i] for i in srcs], out=values[over], casting="unsafe")
  return lambda values, inputs, args: function(*[values[i] for i in srcs]).astype(dtype, copy=False)


def join(kernel, inputs, args):
  """A kernel that only adds loads of single masked views, each read once (a tree of adds), such as cat's padded pieces:
  each piece is added to the output where it lies, not padded to the output's size first."""
  ops, out = kernel.ops, np.zeros(kernel.ops[-1].shape, kernel.ops[-1].dtype.np)
  for op in [ops[s] for add in ops if add.op is BinaryOps.ADD for s in add.srcs if ops[s].op is KernelOps.LOAD]:  # each use of each
    out[tuple(slice(lo, hi) for lo, hi in op.arg.st.views[0].mask)] += _step(kernel, op, pad=False)(None, inputs, args)
  return out.reshape(-1)


def prepare(kernel):
  """The kernel as one Python callable (inputs, args) -> flat output array. A product that only feeds a sum is never
  built: the sum contracts its operands. Each value is dropped after its last use, so peak memory stays small."""
  tree = sum(len(op.srcs) for op in kernel.ops) == len(kernel.ops) - 1  # each value read once: join counts c's pieces once in c + c
  if tree and all(op.op is BinaryOps.ADD or op.op is KernelOps.LOAD and len(op.arg.st.views) == 1 and op.arg.st.views[0].mask for op in kernel.ops):
    return lambda inputs, args: join(kernel, inputs, args)
  skipped = {op.srcs[0] for op in kernel.ops if isinstance(op.op, ReduceOps) and kernel.product_summed_by(op) is not None}
  ops, last_use = kernel.ops, {src: i for i, op in enumerate(kernel.ops) for src in op.srcs}
  # A ufunc's value is new memory of its op's shape and dtype (a 0-d one is a NumPy scalar). Another ufunc can write over
  # it where it dies, if no other op read it: reshape, asarray and astype may return their input itself.
  by_ufunc = {i for i, op in enumerate(ops) if isinstance(ELEMENTWISE.get(op.op), np.ufunc) and op.shape}
  writable = by_ufunc - {s for i, op in enumerate(ops) if i not in by_ufunc for s in op.srcs}
  def dead(i): return [s for s in set(ops[i].srcs) if last_use[s] == i]
  def over(i): return next((s for s in dead(i) if s in writable and (ops[s].dtype, ops[s].shape) == (ops[i].dtype, ops[i].shape)), None)
  steps = [(i, _step(kernel, op, over=over(i) if i in by_ufunc else None), dead(i)) for i, op in enumerate(ops) if i not in skipped]

  def run(inputs, args):
    values = [None] * len(kernel.ops)
    with np.errstate(all="ignore"):
      for i, step, dead in steps:
        values[i] = step(values, inputs, args)
        for s in dead: values[s] = None
    return np.ascontiguousarray(values[-1]).reshape(-1)
  return run


class Backend:
  def __init__(self): self.runners = {}
  def from_numpy(self, array): return np.array(array, copy=True).reshape(-1)
  def to_numpy(self, buffer, dtype): return buffer
  def synchronize(self): pass

  def compile(self, kernel):
    """The prepared callable of a kernel, made once per kernel structure."""
    return self.runners.get(kernel) or self.runners.setdefault(kernel, prepare(kernel))  # one lookup per launch: a Kernel hashes its steps
