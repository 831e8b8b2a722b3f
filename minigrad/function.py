"""The primitive differentiable ops. Each one's forward and derivative are written once, here, over LazyBuffers;
everything else in Tensor is composed from these."""
import math
from minigrad.lazy import LazyBuffer
from minigrad.ops import BinaryOps, ReduceOps, TernaryOps, UnaryOps


class Function:
  """A subclass defines forward(*lazybuffers, **args) -> LazyBuffer and backward(grad) -> the gradient of each input
  (a tuple for several inputs; None for an input that gets none). Tensor._apply makes one per use, and records it only
  when the result is a float: a comparison's bool and a cast to int carry no gradient, as in PyTorch."""


class _Pointwise(Function):
  """One elementwise op, the subclass's `op`, on its inputs: x, then y for a binary op (y and a third for where); its
  backward reads x, y and the result ret. A cast's target dtype is its op's argument."""
  def forward(self, x, *others, dtype=None):
    self.x, self.y = x, others[0] if others else None
    self.ret = x.e(self.op, *others, arg=dtype)
    return self.ret


# ---- unary
class Contiguous(Function):
  def forward(self, x): return x.contiguous(own_memory=True)
  def backward(self, grad): return grad


class To(Function):
  """A copy to another device; the gradient is copied back."""
  def forward(self, x, device):
    self.device = x.device
    return x.to(device)

  def backward(self, grad): return grad.to(self.device)


class Cast(_Pointwise):
  op = UnaryOps.CAST  # Tensor.cast skips a cast to the same dtype, so the gradient always casts back
  def backward(self, grad): return grad.e(UnaryOps.CAST, arg=self.x.dtype)


class Neg(_Pointwise):
  op = UnaryOps.NEG
  def backward(self, grad): return grad.e(UnaryOps.NEG)


class Sin(_Pointwise):
  """The derivative cos(x) is computed as sin(pi/2 - x), so no cos op is needed."""
  op = UnaryOps.SIN
  def backward(self, grad): return grad.e(BinaryOps.MUL, self.x.const_like(math.pi / 2).e(BinaryOps.SUB, self.x).e(UnaryOps.SIN))


class Exp(_Pointwise):
  op = UnaryOps.EXP
  def backward(self, grad): return grad.e(BinaryOps.MUL, self.ret)


class Log(_Pointwise):
  op = UnaryOps.LOG
  def backward(self, grad): return grad.e(BinaryOps.DIV, self.x)


class Tanh(_Pointwise):
  op = UnaryOps.TANH
  def backward(self, grad): return grad.e(BinaryOps.MUL, self.ret.const_like(1).e(BinaryOps.SUB, self.ret.e(BinaryOps.MUL, self.ret)))


class Sqrt(_Pointwise):
  op = UnaryOps.SQRT
  def backward(self, grad): return grad.e(BinaryOps.DIV, self.ret.e(BinaryOps.ADD, self.ret))


class Relu(Function):
  def forward(self, x):
    self.x = x  # zeroes what is below 0, so a NaN passes through, as in PyTorch
    return x.e(BinaryOps.CMPLT, x.const_like(0)).e(TernaryOps.WHERE, x.const_like(0), x)

  def backward(self, grad): return self.x.const_like(0).e(BinaryOps.CMPLT, self.x).e(TernaryOps.WHERE, grad, grad.const_like(0))


class Sigmoid(Function):
  """A primitive rather than a composite so that its gradient stays finite where exp(-x) overflows."""
  def forward(self, x):
    self.ret = x.e(UnaryOps.NEG).e(UnaryOps.EXP).e(BinaryOps.ADD, x.const_like(1)).e(UnaryOps.RECIP)
    return self.ret

  def backward(self, grad): return grad.e(BinaryOps.MUL, self.ret.e(BinaryOps.MUL, self.ret.const_like(1).e(BinaryOps.SUB, self.ret)))


# ---- binary (same shapes and dtypes: Tensor broadcasts first)
class Add(_Pointwise):
  op = BinaryOps.ADD
  def backward(self, grad): return grad, grad


class Mul(_Pointwise):
  op = BinaryOps.MUL
  def backward(self, grad): return grad.e(BinaryOps.MUL, self.y), grad.e(BinaryOps.MUL, self.x)


class Div(_Pointwise):
  op = BinaryOps.DIV
  def backward(self, grad):
    return grad.e(BinaryOps.DIV, self.y), grad.e(BinaryOps.MUL, self.x).e(BinaryOps.DIV, self.y.e(BinaryOps.MUL, self.y)).e(UnaryOps.NEG)


class Maximum(_Pointwise):
  op = BinaryOps.MAX
  def backward(self, grad):  # x's share is 1 where it is the larger, 0 where y is: ties split the gradient in half
    larger = self.y.e(BinaryOps.CMPLT, self.x).e(UnaryOps.CAST, arg=grad.dtype)
    grad_x = grad.e(BinaryOps.MUL, self.x.e(BinaryOps.CMPEQ, self.y).e(TernaryOps.WHERE, grad.const_like(0.5), larger))
    return grad_x, grad.e(BinaryOps.SUB, grad_x)


class Less(_Pointwise):
  op = BinaryOps.CMPLT


class Equal(_Pointwise):
  op = BinaryOps.CMPEQ


class Where(_Pointwise):
  op = TernaryOps.WHERE  # x is the condition: each gradient flows to the value that it picked
  def backward(self, grad): return None, self.x.e(TernaryOps.WHERE, grad, grad.const_like(0)), self.x.e(TernaryOps.WHERE, grad.const_like(0), grad)


# ---- reduce (axes kept as size 1; Tensor drops them when keepdim=False)
class Sum(Function):
  """The reduce `op` (a subclass's own) of x over axes; a backward may read x, the axes, the result ret and the other
  inputs (a gather's)."""
  op = ReduceOps.SUM
  def forward(self, x, *others, axes):
    self.x, self.axes, self.others, self.ret = x, axes, others, x.r(self.op, axes, *others[:1])
    return self.ret

  def backward(self, grad): return grad.expand(self.x.shape)


class Max(Sum):
  op = ReduceOps.MAX
  def backward(self, grad):  # split evenly between the elements that tie for the max; a NaN max is the NaN elements'
    is_max = self.x.e(BinaryOps.CMPEQ, self.ret.expand(self.x.shape)).e(BinaryOps.CMPEQ, self.x.e(BinaryOps.CMPEQ, self.x))  # NaN: F == F
    is_max = is_max.e(UnaryOps.CAST, arg=grad.dtype)
    return is_max.e(BinaryOps.MUL, grad.e(BinaryOps.DIV, is_max.r(ReduceOps.SUM, self.axes)).expand(self.x.shape))  # over the tie count


class Gather(Sum):
  """Along its one axis, the element of x at the index that the first other input holds (x's shape, 1 along the axis;
  in range). The gradient goes to the picked elements through the second, hit (given when x needs a gradient), a
  one-hot that broadcasts to x's shape: a product, so that its sum into a broadcast table (an embedding's) is a matmul."""
  op = ReduceOps.GATHER
  def backward(self, grad): return self.others[1].expand(self.x.shape).e(BinaryOps.MUL, grad.expand(self.x.shape)), None, None


# ---- movement (views: no data moves forward or backward)
class _Movement(Function):
  """A view of x: the subclass's `move`, a LazyBuffer movement op, with its one argument (a shape, an order, bounds or
  axes); backward reads x's shape and that argument."""
  def forward(self, x, arg):
    self.input_shape, self.arg = x.shape, arg
    return self.move(x, arg)


class Reshape(_Movement):
  move = staticmethod(LazyBuffer.reshape)
  def backward(self, grad): return grad.reshape(self.input_shape)


class Permute(_Movement):
  move = staticmethod(LazyBuffer.permute)
  def backward(self, grad): return grad.permute([self.arg.index(i) for i in range(len(self.arg))])


class Expand(_Movement):
  """Broadcast to the shape arg, as NumPy: missing dims are new leading ones. The gradient sums over the repeats."""
  move = staticmethod(LazyBuffer.expand)
  def backward(self, grad):
    old = (1,) * (len(self.arg) - len(self.input_shape)) + self.input_shape
    return grad.r(ReduceOps.SUM, tuple(i for i, (before, after) in enumerate(zip(old, self.arg)) if before != after)).reshape(self.input_shape)


class Shrink(_Movement):
  """Keep the window [start, end) of each dim. A window may reach past the edges, which pads with zeros, so the
  gradient is the window of grad that puts each element back where it came from: [-start, size - start)."""
  move = staticmethod(LazyBuffer.shrink)
  def backward(self, grad): return grad.shrink(tuple((-start, size - start) for (start, _), size in zip(self.arg, self.input_shape)))


class Flip(_Movement):
  move = staticmethod(LazyBuffer.flip)
  def backward(self, grad): return grad.flip(self.arg)
