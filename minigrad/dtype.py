"""The five dtypes minigrad knows, with their NumPy types."""
from typing import NamedTuple
import numpy as np


class DType(NamedTuple):  # one object per dtype, so equal fields mean the same dtype
  name: str
  itemsize: int
  np: type
  is_float: bool

  def __repr__(self): return f"dtypes.{self.name}"


class dtypes:
  bool = DType("bool", 1, np.bool_, False)
  int32 = DType("int32", 4, np.int32, False)
  float16 = DType("float16", 2, np.float16, True)
  float32 = DType("float32", 4, np.float32, True)
  float64 = DType("float64", 8, np.float64, True)

  @staticmethod
  def of(spec) -> DType:
    """The DType that spec names: a DType, a NumPy dtype or type (np.float32; every integer type narrows to int32, as
    in most frameworks' defaults), or a name ("float32", or PyTorch's "half")."""
    if isinstance(spec, DType): return spec
    if isinstance(spec, (np.dtype, type)):  # a NumPy dtype is looked up by its name, which no PyTorch alias shares
      spec = "int32" if np.dtype(spec).kind in "iu" else np.dtype(spec).name
    if isinstance(spec, str) and spec in DTYPE_NAMES: return DTYPE_NAMES[spec]
    raise TypeError(f"unsupported dtype {spec!r}: minigrad has bool, int32, float16, float32 and float64; give a minigrad dtype "
                    f"(dtypes.float32), a NumPy dtype (np.float32) or one of the names {', '.join(DTYPE_NAMES)}")

  # the dtype two operands meet in: a float beats an integer or a bool, and of two floats (or two others) the wider wins
  @staticmethod
  def promote(a: DType, b: DType) -> DType: return max(a, b, key=lambda dtype: (dtype.is_float, dtype.itemsize))


# PyTorch's short names too, with PyTorch's meaning ("float" is float32, as torch.float, not NumPy's float64)
DTYPE_NAMES = {"bool": dtypes.bool, "int32": dtypes.int32, "int": dtypes.int32, "float16": dtypes.float16, "half": dtypes.float16,
               "float32": dtypes.float32, "float": dtypes.float32, "float64": dtypes.float64, "double": dtypes.float64}
