"""The five dtypes minigrad knows, with their NumPy types."""
from typing import NamedTuple
import numpy as np


class DType(NamedTuple):  # one object per dtype, so equal fields mean the same dtype
  name: str
  itemsize: int
  np: type
  priority: int  # promotion order: the higher of two operands' priorities wins

  def __repr__(self): return f"dtypes.{self.name}"

  @property
  def is_float(self): return self.name.startswith("float")


class dtypes:
  bool = DType("bool", 1, np.bool_, 0)
  int32 = DType("int32", 4, np.int32, 1)
  float16 = DType("float16", 2, np.float16, 2)
  float32 = DType("float32", 4, np.float32, 3)
  float64 = DType("float64", 8, np.float64, 4)

  @staticmethod
  def from_np(np_dtype) -> DType:
    """The minigrad dtype of a NumPy dtype; int64 narrows to int32 as in most frameworks' defaults."""
    kind = np.dtype(np_dtype)
    if kind.kind in "iu": return dtypes.int32
    if kind.name in ("bool", "float16", "float32", "float64"): return DTYPE_NAMES[kind.name]
    raise TypeError(f"unsupported dtype {kind}: use bool, int32, float16, float32 or float64")

  @staticmethod
  def of(spec) -> DType:
    """The DType that spec names: a DType, a NumPy dtype or type (np.float32), or a name ("float32", or PyTorch's "half")."""
    if isinstance(spec, DType): return spec
    if isinstance(spec, str) and spec in DTYPE_NAMES: return DTYPE_NAMES[spec]
    if isinstance(spec, (np.dtype, type)) and np.dtype(spec).kind in "biuf": return dtypes.from_np(spec)
    raise TypeError(f"unknown dtype {spec!r}: give a minigrad dtype (dtypes.float32), a NumPy dtype (np.float32) or one of "
                    f"the names {', '.join(DTYPE_NAMES)}")

  @staticmethod
  def promote(a: DType, b: DType) -> DType: return a if a.priority >= b.priority else b


# PyTorch's short names too, with PyTorch's meaning ("float" is float32, as torch.float, not NumPy's float64)
DTYPE_NAMES = {"bool": dtypes.bool, "int32": dtypes.int32, "int": dtypes.int32, "float16": dtypes.float16, "half": dtypes.float16,
               "float32": dtypes.float32, "float": dtypes.float32, "float64": dtypes.float64, "double": dtypes.float64}
