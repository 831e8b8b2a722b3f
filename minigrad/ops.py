"""The primitive ops every backend implements, and the Kernel: what the scheduler hands a backend to run."""
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple, Tuple


class Op(Enum):
  __hash__ = object.__hash__  # members are singletons; Enum's own hash is slow Python and kernels hash ops a lot


UnaryOps = Op("UnaryOps", "NOOP NEG EXP LOG SIN SQRT RECIP CAST")
BinaryOps = Op("BinaryOps", "ADD SUB MUL DIV MAX CMPLT CMPEQ")
TernaryOps = Op("TernaryOps", "WHERE")
ReduceOps = Op("ReduceOps", "SUM MAX")
LoadOps = Op("LoadOps", "BUFFER CONST")
# Kernel leaves and glue: LOAD reads an input through a ShapeTracker, CONST is a literal seen through one (its mask
# still applies), RESHAPE relabels a reduce's output without moving data.
KernelOps = Op("KernelOps", "LOAD CONST RESHAPE")


class KOp(NamedTuple):
  """One step of a kernel: srcs index earlier steps; arg is (input number, st) for LOAD, (value, st) for CONST,
  the reduced axes for a reduce, the dtype for CAST and the new shape for RESHAPE."""
  op: Enum
  srcs: Tuple[int, ...]
  arg: Any
  dtype: Any
  shape: Tuple[int, ...]


@dataclass
class Kernel:
  """A fused computation with one output: ops are in dependency order and the last one is the result."""
  ops: Tuple[KOp, ...]

  @property
  def out(self): return self.ops[-1]

  @property
  def reduce(self): return next((op for op in self.ops if isinstance(op.op, ReduceOps)), None)

  @property
  def name(self): return ("r_" if self.reduce else "E_") + "_".join(str(s) for s in (self.reduce or self.out).shape)
