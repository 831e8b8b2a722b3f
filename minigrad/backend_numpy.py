"""The NUMPY backend: interprets a kernel's ops with NumPy. Views are strided NumPy views (no copies), and a sum of
a product becomes one einsum over the operands' real (non-broadcast) dims, so matmul never builds the broadcast."""
import numpy as np
from numpy.lib.stride_tricks import as_strided
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
  valid = as_strided(flat[start:], tuple(hi - lo for lo, hi in mask), tuple(st * flat.itemsize for st in view.strides),
                     writeable=False)
  if not view.mask: return valid
  return np.pad(valid, [(lo, size - hi) for (lo, hi), size in zip(mask, view.shape)])


def load(flat: np.ndarray, st) -> np.ndarray:
  array = view_of(flat, st.views[0])
  for view in st.views[1:]: array = view_of(np.ascontiguousarray(array).reshape(-1), view)
  return array


def contract(a: np.ndarray, b: np.ndarray, axes) -> np.ndarray:
  """sum(a * b) over axes, keeping them as size 1. A dim that one operand only broadcasts (stride 0) is dropped
  from that operand, so einsum sees a matmul-shaped problem and can hand it to BLAS."""
  letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
  subscripts, operands = [], []
  for x, other in ((a, b), (b, a)):
    dropped = [st == 0 and size > 1 and other_st != 0 for size, st, other_st in zip(x.shape, x.strides, other.strides)]
    subscripts.append("".join(letters[i] for i, drop in enumerate(dropped) if not drop))
    operands.append(x[tuple(0 if drop else slice(None) for drop in dropped)])
  kept = "".join(letters[i] for i in range(a.ndim) if i not in axes)
  result = np.einsum(f"{subscripts[0]},{subscripts[1]}->{kept}", *operands, optimize=True)
  return result.reshape(tuple(1 if i in axes else size for i, size in enumerate(a.shape)))


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
