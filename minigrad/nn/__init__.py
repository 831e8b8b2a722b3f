"""Layers with PyTorch's parameter names, shapes and default initialisation. Each is a plain object whose Tensor
attributes are its parameters (see nn.state), called as layer(x)."""
import math
from minigrad.helpers import prod
from minigrad.tensor import Tensor
from minigrad.nn import optim, state  # noqa: F401 - so that nn.optim and nn.state work after `from minigrad import nn`


def _pair(value): return (value, value) if isinstance(value, int) else tuple(value)


def _kaiming_uniform(*shape, fan_in):
  """U(-1/sqrt(fan_in), 1/sqrt(fan_in)): what PyTorch's default init gives Linear and Conv2d weights and biases."""
  bound = 1 / math.sqrt(fan_in)
  return Tensor.uniform(*shape, low=-bound, high=bound, requires_grad=True)


class Linear:
  """y = x @ weight.T + bias, with weight of shape (out_features, in_features)."""
  def __init__(self, in_features, out_features, bias=True):
    self.weight = _kaiming_uniform(out_features, in_features, fan_in=in_features)
    self.bias = _kaiming_uniform(out_features, fan_in=in_features) if bias else None

  def __call__(self, x: Tensor) -> Tensor: return x.linear(self.weight, self.bias)


class Conv2d:
  """2-D convolution of (N, in_channels, H, W) with weight (out_channels, in_channels / groups, KH, KW); padding as in
  Tensor.conv2d (an int, a pair, "same" or per side)."""
  def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
    if in_channels % groups or out_channels % groups:
      raise ValueError(f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})")
    self.kernel_size, self.stride, self.padding, self.dilation, self.groups = _pair(kernel_size), stride, padding, dilation, groups
    fan_in = in_channels // groups * prod(self.kernel_size)
    self.weight = _kaiming_uniform(out_channels, in_channels // groups, *self.kernel_size, fan_in=fan_in)
    self.bias = _kaiming_uniform(out_channels, fan_in=fan_in) if bias else None

  def __call__(self, x: Tensor) -> Tensor: return x.conv2d(self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Embedding:
  """A lookup table: integer indices of any shape give rows of weight (num_embeddings, embedding_dim), drawn from N(0, 1)."""
  def __init__(self, num_embeddings, embedding_dim):
    self.weight = Tensor.randn(num_embeddings, embedding_dim, requires_grad=True)

  def __call__(self, indices: Tensor) -> Tensor: return self.weight[indices]


class LayerNorm:
  """Normalise over the last dims (normalized_shape: an int or a tuple of trailing sizes), then scale by weight (ones)
  and shift by bias (zeros)."""
  def __init__(self, normalized_shape, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    self.axes, self.eps = tuple(range(-len(shape), 0)), eps
    self.weight, self.bias = Tensor.ones(*shape, requires_grad=True), Tensor.zeros(*shape, requires_grad=True)

  def __call__(self, x: Tensor) -> Tensor: return x.layernorm(self.axes, self.eps) * self.weight + self.bias
