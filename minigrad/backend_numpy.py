"""The NUMPY backend: interprets a kernel's ops with NumPy. Views are strided NumPy views (no copies), and a sum of
a product becomes one batched numpy.matmul over the operands' real (non-broadcast) dims, so matmul never builds the
broadcast."""
import numpy as np
from minigrad.ops import BinaryOps, KernelOps, ReduceOps, TernaryOps, UnaryOps

ELEMENTWISE = {
  UnaryOps.NOOP: lambda x: x, UnaryOps.NEG: np.negative, UnaryOps.EXP: np.exp, UnaryOps.LOG: np.log, UnaryOps.SIN: np.sin,
  UnaryOps.SQRT: np.sqrt, UnaryOps.RECIP: np.reciprocal, BinaryOps.ADD: np.add, BinaryOps.SUB: np.subtract,
  BinaryOps.MUL: np.multiply, BinaryOps.DIV: np.divide, BinaryOps.MAX: np.maximum, BinaryOps.CMPLT: np.less,
  BinaryOps.CMPEQ: np.equal, TernaryOps.WHERE: np.where,
}


def view_of(flat: np.ndarray, view) -> np.ndarray:
  """One View of a flat array: a strided window, padded with zeros outside its mask."""
  mask = view.mask or tuple((0, size) for size in view.shape)
  start = view.offset + sum(lo * st for (lo, _), st in zip(mask, view.strides))
  valid = np.ndarray(tuple(hi - lo for lo, hi in mask), flat.dtype, flat, start * flat.itemsize,
                     tuple(st * flat.itemsize for st in view.strides))
  if not view.mask: return valid
  return np.pad(valid, [(lo, size - hi) for (lo, hi), size in zip(mask, view.shape)])


def load(flat: np.ndarray, st) -> np.ndarray:
  array = view_of(flat, st.views[0])
  for view in st.views[1:]: array = view_of(np.ascontiguousarray(array).reshape(-1), view)
  return array


def contract(a: np.ndarray, b: np.ndarray, axes) -> np.ndarray:
  """sum(a * b) over axes (kept as size 1) as one batched matmul. A dim along which only one operand varies (the
  other broadcasts it with stride 0) becomes a matmul row or column, so the broadcast product is never built."""
  dims, shape = range(a.ndim), a.shape
  varies_a = [st != 0 or size == 1 for size, st in zip(a.shape, a.strides)]
  varies_b = [st != 0 or size == 1 for size, st in zip(b.shape, b.strides)]
  kept, inner = [i for i in dims if i not in axes], list(axes)
  cols = [i for i in kept if varies_b[i] and not varies_a[i]]
  rows = [i for i in kept if varies_a[i] and not varies_b[i]]
  batch = [i for i in kept if i not in cols and i not in rows]
  size = lambda group: int(np.prod([shape[i] for i in group], dtype=np.int64))
  only_rows = a[tuple(slice(0, 1) if i in cols else slice(None) for i in dims)]  # drop the broadcast copies
  only_cols = b[tuple(slice(0, 1) if i in rows else slice(None) for i in dims)]
  left = only_rows.transpose(batch + rows + inner + cols).reshape(size(batch), size(rows), size(inner))
  right = only_cols.transpose(batch + inner + cols + rows).reshape(size(batch), size(inner), size(cols))
  order = batch + rows + cols
  out = np.matmul(left, right).reshape([shape[i] for i in order]).transpose([order.index(i) for i in kept])
  return out.reshape([1 if i in axes else s for i, s in enumerate(shape)])


class Backend:
  def from_numpy(self, array): return np.array(array, copy=True).reshape(-1)
  def to_numpy(self, buffer, dtype): return buffer
  def synchronize(self): pass

  def run(self, kernel, inputs):
    # a product that only feeds a sum is never built: the sum contracts its operands directly
    fused = {op.srcs[0] for op in kernel.ops if op.op is ReduceOps.SUM and kernel.ops[op.srcs[0]].op is BinaryOps.MUL}
    values = []
    with np.errstate(all="ignore"):
      for i, op in enumerate(kernel.ops):
        values.append(None if i in fused else np.asarray(self._compute(op, values, inputs, kernel)).astype(op.dtype.np, copy=False))
    return np.ascontiguousarray(values[-1]).reshape(-1)

  def _compute(self, op, values, inputs, kernel):
    srcs = [values[i] for i in op.srcs]
    if op.op is KernelOps.LOAD: return load(inputs[op.arg[0]], op.arg[1])
    if op.op is KernelOps.CONST: return load(np.array([op.arg[0]], op.dtype.np), op.arg[1])
    if op.op is KernelOps.RESHAPE: return srcs[0].reshape(op.shape)
    if op.op is UnaryOps.CAST: return srcs[0].astype(op.dtype.np)
    if op.op is ReduceOps.SUM and kernel.ops[op.srcs[0]].op is BinaryOps.MUL:
      return contract(*[values[i] for i in kernel.ops[op.srcs[0]].srcs], op.arg)
    if op.op is ReduceOps.SUM: return srcs[0].sum(axis=op.arg, keepdims=True)
    if op.op is ReduceOps.MAX: return srcs[0].max(axis=op.arg, keepdims=True)
    return ELEMENTWISE[op.op](*srcs)
