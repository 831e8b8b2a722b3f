"""minigrad: a tiny lazy tensor and autograd engine."""
from minigrad.device import Device
from minigrad.dtype import dtypes
from minigrad.helpers import GlobalCounters
from minigrad.tensor import Tensor
from minigrad.jit import TinyJit
from minigrad import nn

__all__ = ["Tensor", "dtypes", "Device", "GlobalCounters", "TinyJit", "nn"]
