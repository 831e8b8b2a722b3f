"""Layers with PyTorch's parameter names, shapes and default initialisation. Each is a plain object whose Tensor
attributes are its parameters (see nn.state), called as layer(x)."""
import math
from minigrad.tensor import Tensor
from minigrad.nn import optim, state  # noqa: F401 - so that nn.optim and nn.state work after `from minigrad import nn`


def _pair(value): return (value, value) if isinstance(value, int) else tuple(value)


def _weight_and_bias(out_features, *fan_in_shape, bias=True):
  """A weight of shape (out_features, *fan_in_shape) and a bias of out_features (None without bias), both drawn from
  U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = prod(fan_in_shape): PyTorch's default init for Linear and Conv2d."""
  bound = 1 / math.sqrt(math.prod(fan_in_shape))
  weight = Tensor.uniform(out_features, *fan_in_shape, low=-bound, high=bound, requires_grad=True)
  return weight, Tensor.uniform(out_features, low=-bound, high=bound, requires_grad=True) if bias else None


class Linear:
  """y = x @ weight.T + bias, with weight of shape (out_features, in_features)."""
  def __init__(self, in_features, out_features, bias=True):
    self.weight, self.bias = _weight_and_bias(out_features, in_features, bias=bias)

  def __call__(self, x: Tensor) -> Tensor: return x.linear(self.weight, self.bias)


class Conv2d:
  """2-D convolution of (N, in_channels, H, W) with weight (out_channels, in_channels / groups, KH, KW); padding as in
  Tensor.conv2d (an int, a pair, "same" or per side)."""
  def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
    if in_channels % groups or out_channels % groups:
      raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})")
    self.kernel_size, self.stride, self.padding, self.dilation, self.groups = _pair(kernel_size), stride, padding, dilation, groups
    self.weight, self.bias = _weight_and_bias(out_channels, in_channels // groups, *self.kernel_size, bias=bias)

  def __call__(self, x: Tensor) -> Tensor: return x.conv2d(self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Embedding:
  """A lookup table: integer indices of any shape give rows of weight (num_embeddings, embedding_dim), drawn from N(0, 1)."""
  def __init__(self, num_embeddings, embedding_dim):
    self.weight = Tensor.randn(num_embeddings, embedding_dim, requires_grad=True)

  def __call__(self, indices: Tensor) -> Tensor: return self.weight._gather([(0, indices)], wrap=False)  # -1 raises, as PyTorch


class LayerNorm:
  """Normalise over the last dims (normalized_shape: an int or a tuple of trailing sizes), then scale by weight (ones)
  and shift by bias (zeros)."""
  def __init__(self, normalized_shape, eps=1e-5):
    self.weight, self.bias = Tensor.ones(normalized_shape, requires_grad=True), Tensor.zeros(normalized_shape, requires_grad=True)
    self.axes, self.eps = tuple(range(-self.weight.ndim, 0)), eps  # Tensor.ones takes an int or a tuple of sizes

  def __call__(self, x: Tensor) -> Tensor: return x.layernorm(self.axes, self.eps) * self.weight + self.bias
