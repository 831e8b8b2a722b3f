"""The scheduler: cut the graph into kernels and run them in order.

A base is inlined into the kernel of its consumer when that costs nothing: it has a single consumer, which reads it
through a single view, and that view does not repeat its elements (expand). A view that reads padding (a mask) is
fine: the inlined value is wrapped as where(valid, value, 0), so padding reads 0 whatever the op maps 0 to. A kernel
holds at most one reduce; elementwise ops before it run inside its loop, and those after it join it when they read its
output in the same row-major order. Two exceptions undo a kernel that costs more than it saves: a reduce-free base
that all its consumers read inside one kernel through one view, each of them read there in its own order, is computed
once there (relu reads its input twice),
and a cheap reduce-free base (at most CHEAP_OPS ops, counting the cheap bases below it) is recomputed by every kernel
that reads it rather than stored and read back (softmax's exp(x - max), a broadcast bias's sigmoid), except by a kernel
with a reduce through an expand, whose loop would repeat it. `contiguous()` always gets memory.
Constants and the offsets of input views are kernel arguments, not part of the kernel, so they never recompile. A
graph of a structure seen before is not cut and lowered again: its launches are looked up by that structure.
"""
import math, threading, time
from collections import defaultdict
from minigrad.device import Device
from minigrad.dtype import dtypes
from minigrad.helpers import DEBUG, GlobalCounters, toposort
from minigrad.ops import ConstBuffer, KernelOps, KOp, Kernel, LoadOps, MemBuffer, ReduceOps, ScheduleItem, TernaryOps, UnaryOps
from minigrad.shapetracker import ShapeTracker, View

CHEAP_OPS = 8
schedule_lock = threading.RLock()  # graphs share nodes: one thread schedules and runs at a time
schedules = {}  # a graph's structure (its ops, views, constants and leaves by place) -> its launches, bases by place
capture = []  # per TinyJit capture under way (nested ones too): a list that receives (runner, out base, input bases, args) per launch


def _is_leaf(base): return base.realized is not None or base.op is LoadOps.CONST


# True when st reads all of base row-major: a reshape at most, so the linear index is unchanged
def _same_order(st, base): return st is base.st or (st.contiguous and math.prod(st.shape) == math.prod(base.shape))


def _choose_kernels(outs, order, consumers, views):
  """Decide which of the bases in order (unrealized, dependencies first) get a kernel (are realized); everything else
  is inlined into its consumer. A walk from sources to consumers applies the rules, then one from consumers to sources
  (so each consumer's kernel is known) the two exceptions in the module docstring."""
  realize, has_reduce, cost = {b for b in outs if not _is_leaf(b)}, {}, {}
  for base in order:
    if base.op is UnaryOps.NOOP: realize.add(base)  # contiguous() asks for memory
    reduce_seen = isinstance(base.op, ReduceOps)
    for src in dict.fromkeys(base.srcs):
      if _is_leaf(src.base): continue
      # read twice (by two consumers or through two views) it would be computed twice, and nesting doubles that again
      shared = src.base in realize or len(consumers[src.base]) > 1 or len(views[src.base]) > 1
      # with a reduce inside, only a read in row-major order joins this kernel; without, any read that repeats nothing
      costly_read = not _same_order(src.st, src.base) if has_reduce[src.base] else src.st.expands
      if shared or costly_read or (has_reduce[src.base] and reduce_seen): realize.add(src.base)  # one reduce per kernel
      elif has_reduce[src.base]: reduce_seen = True
    has_reduce[base] = reduce_seen
    # the ops base costs when recomputed: itself and the sources inlined or recomputed with it (capped: shared sources
    # count once per use). Which sources are stored is settled now: only consumers decide it.
    cost[base] = min(CHEAP_OPS + 1, 1 + sum(cost.get(src.base, 0) for src in base.srcs if src.base not in realize or not has_reduce[src.base]))
  kernels_of, plain = {}, {}  # the exceptions, consumers first: the kernels each base ends up in, and if it is read there in
  # its own order (what a reader passes on to its sources is then the view it reads them through, nothing composed)
  for base in reversed(order):
    kernels, readers = set().union(*(kernels_of[c] for c in consumers[base])), consumers[base]
    if base in realize and not has_reduce[base] and base not in outs and base.op is not UnaryOps.NOOP:
      expands = any(view.st.expands for view in views[base])
      # readers not in their own order would compose differing views with its view: it would be computed once per view,
      # and their number multiplies down a chain of such bases
      once = len(kernels) == 1 and len(views[base]) == 1 and not expands and all(plain[c] for c in readers)
      cheap = cost[base] <= CHEAP_OPS and not (expands and any(has_reduce[k] for k in kernels))  # not repeated by a reduce's loop
      if once or cheap: realize.discard(base)  # computed where each reader needs it
    kernels_of[base] = {base} if base in realize else kernels
    plain[base] = base in realize or all(plain[c] for c in readers) and all(_same_order(view.st, base) for view in views[base])
  return realize


def _lower(root, realize, place_of):
  """The launch computing root, with every base given by place_of(base) (see create_schedule): its kernel, the bases
  it computes and reads, and its scalar arguments (a view's offset, a fixed number, or the place of a constant leaf
  whose value it is). An iterative walk, so deep graphs don't hit Python's recursion limit."""
  # each distinct step and input, in the order first met, to its index; each distinct argument to (its slot, its value)
  index_of, input_index, arg_slots, memo = {}, {}, {}, {}

  def emit(kop): return index_of.setdefault(kop, len(index_of))

  def slot(key, value): return arg_slots.setdefault(key, (len(arg_slots), value))[0]

  # the step reading a constant: a constant leaf's place (its value is read as each launch is made) or a fixed number
  def const(source, dtype, st): return emit(KOp(KernelOps.CONST, (), ConstBuffer(slot((source, dtype), source), st), dtype, st.shape))

  def leaf(base, st, outer):  # base read through its view st, then through outer's views
    # the view's offset is a kernel argument of its own (a fresh key), 0 too, and outer composes with the view as if the
    # offset were 0: a batch cut at the start and one cut further on share a kernel
    first = st.views[0]
    st = ShapeTracker((View(first.shape, first.strides, 0, first.mask),) + st.views[1:])
    st = st if outer is None else st.compose(outer)
    if base.op is LoadOps.CONST: return const(place_of(base), base.dtype, st)  # (a constant's view has offset 0)
    buffer = MemBuffer(input_index.setdefault(base, len(input_index)), st, slot(object(), first.offset))
    return emit(KOp(KernelOps.LOAD, (), buffer, base.dtype, st.shape))

  stack = [((root, None), False)]
  while stack:
    (view, outer), children_done = stack.pop()
    ref = (view, outer)
    if ref in memo and not children_done: continue
    base, st = view.base, view.st if outer is None else view.st.compose(outer)
    if base is not root and (_is_leaf(base) or base in realize):
      memo[ref] = leaf(base, view.st, outer)
      continue
    # a reduce, or a base read in its own order, is computed in its own shape (then reshaped); else in the view's
    in_own_shape = isinstance(base.op, ReduceOps) or _same_order(st, base)
    kids = [(src, None if in_own_shape else st) for src in base.srcs]
    if not children_done:
      stack += [(ref, True)] + [(kid, False) for kid in reversed(kids)]  # first source first: a value is made just before its use
      continue
    shape = base.shape if in_own_shape else st.shape
    node = emit(KOp(base.op, tuple(memo[kid] for kid in kids), base.arg, base.dtype, shape))
    if shape != st.shape: node = emit(KOp(KernelOps.RESHAPE, (node,), st.shape, base.dtype, st.shape))
    if st.masked:  # computed through padding: outside the mask it must read 0, whatever the ops map 0 to
      first = st.views[0]  # VALID reads no buffer: its strides are 0
      one_element = ShapeTracker((View(first.shape, (0,) * len(first.shape), 0, first.mask),) + st.views[1:])
      valid = emit(KOp(KernelOps.VALID, (), one_element, dtypes.bool, st.shape))
      zero = const(base.dtype.np(0).item(), base.dtype, ShapeTracker((View(st.shape, (0,) * len(st.shape)),)))
      node = emit(KOp(TernaryOps.WHERE, (valid, node, zero), None, base.dtype, st.shape))
    memo[ref] = node
  return ScheduleItem(Kernel(tuple(index_of)), place_of(root), tuple(map(place_of, input_index)), tuple(value for _, value in arg_slots.values()))


def create_schedule(outs):
  """A ScheduleItem for every kernel needed to realize outs, in dependency order: lowered the first time a graph of
  this structure is seen, then looked up."""
  # every unrealized base that outs need, dependencies first (leaves are kernel inputs and arguments), and the distinct
  # consumers and views of each base
  order, consumers, views = toposort(outs, lambda b: None if _is_leaf(b) else [src.base for src in b.srcs]), defaultdict(set), defaultdict(set)
  for base in order:
    for src in base.srcs:
      consumers[src.base].add(base)
      views[src.base].add(src)
  # the structure: each base by its place in order, each leaf by its place after them and what a kernel reads of it
  # (not a constant's value: that is a kernel argument, read from the leaf in that place on each call)
  place, leaves = {base: (i,) for i, base in enumerate(order)}, {}
  def ref(b): return place.get(b) or (len(order) + leaves.setdefault(b, len(leaves)), b.op, b.dtype, b.shape)
  key = (tuple((b.op, b.arg, b.dtype, b.shape, tuple((ref(s.base), s.st) for s in b.srcs)) for b in order), tuple(map(ref, outs)))
  if (launches := schedules.get(key)) is None:
    realize = _choose_kernels(outs, order, consumers, views)
    if len(schedules) > 64: schedules.clear()  # bounded (a transformer step's entry is ~3 MB): slices at new offsets miss
    launches = schedules[key] = [_lower(base, realize, ref) for base in order if base in realize]
  bases = order + list(leaves)  # a ref's first item is its place here
  return [ScheduleItem(kernel, bases[out[0]], tuple(bases[i[0]] for i in inputs), tuple(bases[a[0]].arg if isinstance(a, tuple) else a for a in args))
          for kernel, out, inputs, args in launches]


def run_schedule(schedule):
  """Run each kernel in order, counting its flops (a reduce's over its input), bytes moved and time."""
  start = time.perf_counter()
  for kernel, out, inputs, args in schedule:
    runner = Device[out.device].compile(kernel)  # (a first build is not the kernel's time)
    t0 = time.perf_counter()
    out.mark_realized(runner([b.realized for b in inputs], args))
    for launches in capture: launches.append((runner, out, inputs, args))  # a capture inside another's feeds both
    if DEBUG >= 2: Device[out.device].synchronize()  # so that the time is the kernel's
    elapsed = time.perf_counter() - t0
    flops = sum(math.prod(kernel.ops[op.srcs[0]].shape) if op.op in (ReduceOps.SUM, ReduceOps.MAX) else math.prod(op.shape)
                for op in kernel.ops if op.op not in (KernelOps.LOAD, KernelOps.CONST, KernelOps.RESHAPE))
    mem = sum(math.prod(b.shape) * b.dtype.itemsize for b in (*inputs, out))
    GlobalCounters.kernel_count += 1
    GlobalCounters.global_ops += flops
    GlobalCounters.global_mem += mem
    GlobalCounters.time_sum_s += elapsed
    if DEBUG >= 2:
      print(f"  {out.device:5s} {kernel.name:24s} shape {str(out.shape):20s} {elapsed * 1e6:9.1f} us "
            f"{flops / elapsed / 1e9 if elapsed else 0:8.2f} GFLOP/s {mem / elapsed / 1e9 if elapsed else 0:8.2f} GB/s  arguments {args}")
  if DEBUG >= 1 and schedule: print(f"realize: {len(schedule)} kernels in {(time.perf_counter() - start) * 1e3:.2f} ms")
