"""The primitive ops every backend implements, and the Kernel: what the scheduler hands a backend to run."""
from enum import Enum
from typing import Any, NamedTuple, Optional, Tuple


class Op(Enum):
  __hash__ = object.__hash__  # members are singletons; Enum's own hash is slow Python and kernels hash ops a lot


UnaryOps = Op("UnaryOps", "NOOP NEG EXP LOG SIN SQRT RECIP CAST TANH")
BinaryOps = Op("BinaryOps", "ADD SUB MUL DIV MAX CMPLT CMPEQ")
TernaryOps = Op("TernaryOps", "WHERE")
# GATHER reduces its one axis to the element at the index that its second source gives (in the result's shape, in range)
ReduceOps = Op("ReduceOps", "SUM MAX GATHER")
LoadOps = Op("LoadOps", "BUFFER CONST")
# Kernel leaves and glue: LOAD reads an input and CONST a scalar argument through a ShapeTracker (outside its mask they
# read 0), VALID tells where a view reads inside its masks, RESHAPE relabels a reduce's output without moving data.
KernelOps = Op("KernelOps", "LOAD CONST RESHAPE VALID")


class MemBuffer(NamedTuple):
  """What a LOAD reads: kernel input `index` through `st`. When offset_slot is not None, the kernel argument
  args[offset_slot] is added to the offset of st's first view, so batches cut at any offset share one kernel."""
  index: int
  st: Any
  offset_slot: Optional[int]


class ConstBuffer(NamedTuple):
  """What a CONST reads: the scalar kernel argument args[slot], seen through `st` (outside its mask it reads 0)."""
  slot: int
  st: Any


class KOp(NamedTuple):
  """One step of a kernel: srcs index earlier steps; arg is a MemBuffer for LOAD, a ConstBuffer for CONST, the reduced
  axes for a reduce, the dtype for CAST and the new shape for RESHAPE. VALID is 1 inside st's masks and 0 outside
  (arg: st, whose first view has strides 0 and offset 0, as a CONST's: it reads no buffer), so a value computed
  through padding reads as 0 there."""
  op: Enum
  srcs: Tuple[int, ...]
  arg: Any
  dtype: Any
  shape: Tuple[int, ...]


class Kernel(NamedTuple):
  """A fused computation with one output: ops are in dependency order and the last one is the result. It holds no
  data (scalars and offsets are arguments), so it is the compile-cache key."""
  ops: Tuple[KOp, ...]

  def arg_dtypes(self):
    """The dtype of each scalar argument, by slot: a CONST's own dtype, or None for an offset (an index)."""
    slots = {op.arg.slot: op.dtype for op in self.ops if op.op is KernelOps.CONST}
    slots.update({op.arg.offset_slot: None for op in self.ops if op.op is KernelOps.LOAD and op.arg.offset_slot is not None})
    return [slots[i] for i in range(len(slots))]

  def product_summed_by(self, reduce: KOp) -> Optional[KOp]:
    """The MUL that a SUM reduces directly (a contraction: matmul, conv, dot), else None. Both backends lower it
    without building the broadcast product."""
    src = self.ops[reduce.srcs[0]]
    return src if reduce.op is ReduceOps.SUM and src.op is BinaryOps.MUL else None

  @property
  def reduce(self): return next((op for op in self.ops if isinstance(op.op, ReduceOps)), None)

  @property
  def name(self): return ("r_" if self.reduce else "E_") + "_".join(str(s) for s in (self.reduce or self.ops[-1]).shape)


class ScheduleItem(NamedTuple):
  """One kernel launch: the kernel, the base it computes, the bases it reads (kernel inputs, by MemBuffer.index) and
  the values of its scalar arguments (by slot)."""
  kernel: Kernel
  out: Any
  inputs: Tuple[Any, ...]
  args: Tuple[Any, ...]
