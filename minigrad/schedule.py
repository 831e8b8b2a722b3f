"""The scheduler: cut the graph into kernels and run them in order.

A base is inlined into the kernel of its consumer when that costs nothing: it has a single consumer, and its
consumer reads it through a view that neither repeats elements (expand) nor reads padding (mask). A kernel holds at
most one reduce; elementwise ops before it run inside its loop, and those after it join it when they read its
output in the same row-major order.
"""
import time
from minigrad.device import Device
from minigrad.helpers import DEBUG, GlobalCounters, prod
from minigrad.ops import KernelOps, KOp, Kernel, LoadOps, ReduceOps, UnaryOps


def _is_leaf(base): return base.realized is not None or base.op is LoadOps.CONST


def _toposort(outs):
  """Unrealized bases reachable from outs, dependencies first, with the distinct consumers and views of each."""
  order, consumers, views, seen, stack = [], {}, {}, set(), [(b, False) for b in outs]
  while stack:
    base, children_done = stack.pop()
    if children_done: order.append(base); continue
    if base in seen or _is_leaf(base): continue
    seen.add(base)
    stack.append((base, True))
    for src in base.srcs:
      consumers.setdefault(src.base, set()).add(base)
      views.setdefault(src.base, set()).add(src)
      stack.append((src.base, False))
  return order, consumers, views


def _same_order(st, base):
  """True when st reads all of base row-major: a reshape at most, so the linear index is unchanged."""
  return st is base.st or (st.contiguous and prod(st.shape) == prod(base.shape))


def _inlinable(view, has_reduce, consumers, views, realize):
  base = view.base  # read twice through different views, it would be computed twice (and nesting that doubles it again)
  if base in realize or len(consumers[base]) > 1 or len(views[base]) > 1: return False
  if has_reduce[base]: return _same_order(view.st, base)
  return not view.st.expands and not view.st.masked


def _choose_kernels(outs):
  """Decide which bases get a kernel (are realized); everything else is inlined into its consumer."""
  order, consumers, views = _toposort(outs)
  realize, has_reduce = {b for b in outs if not _is_leaf(b)}, {}
  for base in order:
    if base.op is UnaryOps.NOOP: realize.add(base)  # contiguous() asks for memory
    reduce_seen = isinstance(base.op, ReduceOps)
    for src in dict.fromkeys(base.srcs):
      if _is_leaf(src.base): continue
      if not _inlinable(src, has_reduce, consumers, views, realize): realize.add(src.base)
      elif has_reduce[src.base]:
        if reduce_seen: realize.add(src.base)
        reduce_seen = True
    has_reduce[base] = reduce_seen
  _share_within_kernels(order, consumers, views, realize, has_reduce, outs)
  return [b for b in order if b in realize]


def _share_within_kernels(order, consumers, views, realize, has_reduce, outs):
  """A reduce-free base read by several ops that all land in one kernel, all through one view, is computed once
  inside that kernel (relu reads its input twice, for example). Walks consumers before sources, so each consumer's
  kernel is known."""
  kernel_of = {}
  for base in reversed(order):
    kernels = {kernel_of[c] for c in consumers.get(base, ())}
    if (base in realize and len(kernels) == 1 and not has_reduce[base] and base not in outs and base.op is not UnaryOps.NOOP
        and len(views[base]) == 1 and not any(v.st.expands or v.st.masked for v in views[base])):
      realize.discard(base)
    kernel_of[base] = base if base in realize else kernels.pop()


def _lower(root, realize):
  """The kernel computing root: an iterative walk, so deep graphs don't hit Python's recursion limit."""
  ops, index_of, inputs, memo = [], {}, [], {}

  def emit(kop):
    if kop not in index_of:
      index_of[kop] = len(ops)
      ops.append(kop)
    return index_of[kop]

  def resolve(view, outer):
    """A reference to `view`, read through `outer` (a view of the consumer inlined above it), as (base, st)."""
    return view.base, view.st if outer is None else view.st.compose(outer)

  def children(base, st):
    if isinstance(base.op, ReduceOps) or _same_order(st, base): return [(src, None) for src in base.srcs]
    return [(src, st) for src in base.srcs]

  stack = [((root, None), False)]
  while stack:
    (view, outer), children_done = stack.pop()
    ref = (view, outer)
    if ref in memo and not children_done: continue
    base, st = resolve(view, outer)
    if base is not root and (_is_leaf(base) or base in realize):
      if base.op is LoadOps.CONST: memo[ref] = emit(KOp(KernelOps.CONST, (), (base.arg, st), base.dtype, st.shape))
      else:
        if base not in inputs: inputs.append(base)
        memo[ref] = emit(KOp(KernelOps.LOAD, (), (inputs.index(base), st), base.dtype, st.shape))
      continue
    kids = children(base, st)
    if not children_done:
      stack.append((ref, True))
      stack.extend((kid, False) for kid in kids)
      continue
    srcs = tuple(memo[kid] for kid in kids)
    shape = base.shape if isinstance(base.op, ReduceOps) or _same_order(st, base) else st.shape
    node = emit(KOp(base.op, srcs, base.arg, base.dtype, shape))
    if shape != st.shape: node = emit(KOp(KernelOps.RESHAPE, (node,), st.shape, base.dtype, st.shape))
    memo[ref] = node
  return Kernel(tuple(ops)), inputs


def create_schedule(outs):
  """(kernel, output base, input bases) for every kernel needed to realize outs, in dependency order."""
  kernel_roots = _choose_kernels(outs)
  realize = set(kernel_roots)
  return [(*_lower(base, realize), base) for base in kernel_roots]


def _kernel_cost(kernel, inputs, out):
  flops = sum(prod(kernel.ops[op.srcs[0]].shape) if isinstance(op.op, ReduceOps) else prod(op.shape)
              for op in kernel.ops if op.op not in (KernelOps.LOAD, KernelOps.CONST, KernelOps.RESHAPE))
  mem = sum(prod(b.shape) * b.dtype.itemsize for b in inputs) + prod(out.shape) * out.dtype.itemsize
  return flops, mem


def run_schedule(schedule):
  start = time.perf_counter()
  for kernel, inputs, out in schedule:
    backend = Device[out.device]
    t0 = time.perf_counter()
    out.mark_realized(backend.run(kernel, [b.realized for b in inputs]))
    if DEBUG >= 2: backend.synchronize()
    elapsed = time.perf_counter() - t0
    flops, mem = _kernel_cost(kernel, inputs, out)
    GlobalCounters.kernel_count += 1
    GlobalCounters.global_ops += flops
    GlobalCounters.global_mem += mem
    GlobalCounters.time_sum_s += elapsed
    if DEBUG >= 2:
      print(f"  {out.device:5s} {kernel.name:24s} shape {str(out.shape):20s} {elapsed * 1e6:9.1f} us "
            f"{flops / elapsed / 1e9 if elapsed else 0:8.2f} GFLOP/s {mem / elapsed / 1e9 if elapsed else 0:8.2f} GB/s")
  if DEBUG >= 1 and schedule: print(f"realize: {len(schedule)} kernels in {(time.perf_counter() - start) * 1e3:.2f} ms")
