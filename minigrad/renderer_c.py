"""Kernels as C-style source: one renderer for every C-like kernel language. A Dialect holds the few facts that tell
the languages apart; a Shape holds what the device reports, and each kernel's shape is chosen from it. A runtime
(backend_cl.py for OpenCL) builds the source and launches it.

Kernels come in two shapes, chosen by the device's type (Shape.gpu). On a CPU each work-item is a loop over vectors
and work-groups are small, so that every core gets several; on a GPU work-groups are large, and a reduction's
work-group cooperates through local memory.
- Elementwise: each work-item computes `width` consecutive outputs as one vector (on a CPU, exp and log are only fast
  on vector types; width is the device's preferred float vector width), then one work-item does the scalar tail.
  GPUs: width 1 and work-groups of GPU_GROUP.
- Reduce: on a CPU one work-item walks a row with a vector loop (vectors twice the device's width, so that two
  chains of dependent adds run side by side); on a GPU `lanes` work-items (a work-group) share a row, reading it
  interleaved (neighbours read neighbouring words), and pass their results through local memory to lane 0, which
  folds them. When there are too few rows to fill the device, each row is cut into `parts` reduced side
  by side into a scratch buffer, and a second kernel reduces the parts. Float sums are compensated (Kahan), so a
  float32 sum of any length stays accurate.
- Matmul (a sum of a product, Kernel.product_summed_by, whose loads broadcast the matmul way): each work-item
  accumulates a block of outputs in vector registers. On a CPU each work-item reads a and b where they lie; on a GPU a
  work-group of 16 x 16 work-items first copies tiles of a and b, 16 deep along k, into local memory, read in the
  order in which neighbouring work-items read neighbouring words.
Movement ops are index arithmetic: a read unravels its linear index through its ShapeTracker's views, and masks read
as zero. Indices are 64-bit when a size needs it.
"""
from math import prod
from typing import NamedTuple, Tuple
from minigrad.dtype import dtypes
from minigrad.ops import BinaryOps, KernelOps, ReduceOps, TernaryOps, UnaryOps
from minigrad.shapetracker import strides_for


class Dialect(NamedTuple):
  """The facts that tell one C-like kernel language from another."""
  kernel: str      # declares a kernel function
  buffer: str      # qualifies a pointer to device memory
  group_id: str    # the work-group's index along dim {0} (0, 1, 2) or {1} (x, y, z)
  local_id: str    # the work-item's index in its work-group, same placeholders
  half_load: str   # a float read from half storage: {0} buffer, {1} index
  half_store: str  # a float written to half storage: {0} buffer, {1} index, {2} value
  fp64: str        # the line a source that uses double starts with
  shared: str      # qualifies memory shared by a work-group
  barrier: str     # waits for the whole work-group, making its shared writes visible


OPENCL = Dialect("__kernel void", "__global", "get_group_id({0})", "get_local_id({0})", "vload_half({1}, {0})", "vstore_half({2}, {1}, {0});",
                 "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n", "__local", "barrier(CLK_LOCAL_MEM_FENCE);")


class Shape(NamedTuple):
  """What kernel shapes are chosen from: the device's vector width, cores and type."""
  width: int  # floats per vector in elementwise kernels (a CPU's reduce loops take twice as many): OpenCL C's vector
  # types and built-ins (floatN, vloadN, convert_floatN, select); 1 where the device prefers scalars and in dialects
  # without them (the matmul's register tiles are float4 or wider whatever this says)
  compute_units: int
  gpu: bool = False  # work-groups of GPU_GROUP; a reduction's lanes pass results through local memory


class Program(NamedTuple):
  """The rendered source; its launches in order as (function name, global size, local size); the bytes of scratch
  memory a reduce cut into parts passes between its two functions; and the C type of indices and offsets. Every function
  takes the output buffer, the input buffers, the scratch buffer if there is one, then the scalar arguments by slot."""
  source: str
  launches: Tuple[Tuple[str, tuple, tuple], ...]
  scratch_bytes: int
  index_type: str


# the rows of a per matmul work-item (with 2 vectors of columns, 12 accumulators fill 16 AVX registers); on a GPU, the
# side of a matmul's square work-group of work-items, and how deep along k its tiles of a and b are
MATMUL_ROWS, MATMUL_SIDE, MATMUL_DEPTH = 6, 16, 16
GPU_GROUP = 256  # work-items per work-group on a GPU (elementwise kernels, reduce lanes), which every GPU allows
LEAVES = (KernelOps.LOAD, KernelOps.CONST, KernelOps.VALID)
COMPUTE = {"float32": "float", "float16": "float", "float64": "double", "int32": "int", "bool": "int"}
STORAGE = {"float32": "float", "float16": "half", "float64": "double", "int32": "int", "bool": "uchar"}
# NOOP and RESHAPE name the same values in the same linear order: a copy that the compiler removes. Comparisons are
# converted to int by Renderer.expression; a WHERE of vectors is a select() there, not ?:. tanh(|x|) is written as
# -expm1(-2|x|) / (2 + expm1(-2|x|)), exact near 0 and reaching 1: PoCL's tanh stops at 1 - 2**-24, even at infinity
TEMPLATES = {UnaryOps.NOOP: "{0}", KernelOps.RESHAPE: "{0}", UnaryOps.NEG: "-{0}", UnaryOps.EXP: "exp({0})", UnaryOps.SQRT: "sqrt({0})",
             UnaryOps.LOG: "log({0})", UnaryOps.RECIP: "1.0f / {0}", BinaryOps.ADD: "{0} + {1}", BinaryOps.SUB: "{0} - {1}",
             BinaryOps.MUL: "{0} * {1}", BinaryOps.DIV: "{0} / {1}", BinaryOps.CMPLT: "{0} < {1}", BinaryOps.CMPEQ: "{0} == {1}",
             TernaryOps.WHERE: "({0} ? {1} : {2})", UnaryOps.TANH: "copysign(expm1(-2 * fabs({0})) / (-2 - expm1(-2 * fabs({0}))), {0})"}


def vector_type(ctype, width): return ctype if width == 1 else f"{ctype}{width}"
def convert(ctype, expr, width): return f"({ctype})({expr})" if width == 1 else f"convert_{ctype}{width}({expr})"
def ceil_div(a, b): return -(-a // b)


def per_lane(function, value, ctype, width):
  """C calling `function` on value, or on each of its `width` lanes (a vector of ctype): the helper in prelude() that
  rounds to float16 has no vector form, and PoCL's vector sin spoils small lanes beside a huge one."""
  return f"{function}({value})" if width == 1 else f"({ctype}{width})({', '.join(f'{function}({value}.s{lane:x})' for lane in range(width))})"
def tracker(op): return op.arg if op.op is KernelOps.VALID else op.arg.st


def maximum(a, b, dtype, width):
  """The larger of two named values; NaN on either side wins, as in NumPy (C's fmax drops it)."""
  if not dtype.is_float: return f"max({a}, {b})"
  return f"({a} != {a} || {a} > {b} ? {a} : {b})" if width == 1 else f"select({b}, {a}, {a} != {a} | {a} > {b})"


def accumulate(reduce, acc, value, width):
  """C that folds `value` into `acc`. A float sum carries its rounding error in acc_err and feeds it back (Kahan);
  where the running sum is not finite the error is dropped, so inf and NaN come out as in an exact sum."""
  if reduce.op is not ReduceOps.SUM: return f"{acc} = {maximum(acc, value, reduce.dtype, width)};"  # a GATHER folds its one element so
  if not reduce.dtype.is_float: return f"{acc} += {value};"
  ctype = vector_type(COMPUTE[reduce.dtype.name], width)
  error = f"isfinite(sum) ? (sum - {acc}) - y : 0" if width == 1 else f"select(({ctype})(0), (sum - {acc}) - y, isfinite(sum))"
  return f"{{ {ctype} y = {value} - {acc}_err, sum = {acc} + y; {acc}_err = {error}; {acc} = sum; }}"


def matmul_axes(kernel, reduce):
  """(a, b, m, n, k) when the kernel's reduce sums, over one axis k, the product of two float32 loads of single unmasked
  views where a alone varies along m and b alone along n (b is the one read as vectors), else None."""
  product = kernel.product_summed_by(reduce)
  if product is None or len(reduce.arg) != 1 or reduce.dtype != dtypes.float32: return None
  loads = [kernel.ops[s] for s in product.srcs]
  if any(op.op is not KernelOps.LOAD or op.dtype != dtypes.float32 or len(op.arg.st.views) > 1 or op.arg.st.masked for op in loads): return None
  k, shape, candidates = reduce.arg[0], product.shape, []
  for a, b in (loads, loads[::-1]):
    sa, sb = a.arg.st.views[0].strides, b.arg.st.views[0].strides
    ms = [d for d in range(len(shape)) if d != k and sb[d] == 0 and sa[d] != 0 and shape[d] > 1]
    ns = [d for d in range(len(shape)) if d != k and sa[d] == 0 and sb[d] != 0 and shape[d] % 4 == 0]
    if ms and ns: candidates.append((any(sb[d] == 1 for d in ns), a, b, ms[-1], min(ns, key=lambda d: (sb[d] != 1, -d)), k))
  return max(candidates, key=lambda c: c[0])[1:] if candidates else None


class Renderer:
  """Turns one Kernel into a Program, for a dialect and a device shape."""
  def __init__(self, kernel, dialect, shape):
    self.kernel, self.ops, self.dialect, self.shape = kernel, kernel.ops, dialect, shape
    self.aligned = True  # vectors start at multiples of their width in the linear order (false in a reduce row of odd size)
    reach = [prod(op.shape) for op in self.ops] + [prod(v.shape) + abs(v.offset) + sum(abs(st) * size for st, size in zip(v.strides, v.shape))
                                                   for op in self.ops if op.op in LEAVES for v in tracker(op).views]
    self.int = "long" if max(reach) >= 2**31 else "int"  # int indices are faster, but wrap past 2**31
    # vectors as wide as the device's: a double vector holds half as many values as a float one
    self.width = max(1, shape.width // (2 if any(op.dtype == dtypes.float64 for op in self.ops) else 1))

  def name(self, i): return "total" if isinstance(self.ops[i].op, ReduceOps) else f"v{i}"  # the C variable that holds op i
  def ids(self, template, dim): return f"({self.int}){template.format(dim, 'xyz'[dim])}"
  def global_id(self, dim, local): return f"{self.ids(self.dialect.group_id, dim)} * {local} + {self.ids(self.dialect.local_id, dim)}"
  def offset(self, op): return f"arg{op.arg.offset_slot}" if op.op is KernelOps.LOAD and op.arg.offset_slot is not None else None

  def index(self, i, st, lin, offset=None):
    """(lines, expression): the buffer index of linear index `lin` read through st (plus `offset`, an argument, in
    the buffer's own view); the lines also set x{i}_ok, inside every mask, when st is masked. Each later view indexes
    the row-major layout of the view before it."""
    if st.contiguous: return [], lin if offset is None else f"{lin} + {offset}"
    lines = [f"{self.int} x{i} = {lin};"] + ([f"int x{i}_ok = 1;"] if st.masked else [])
    for depth, view in reversed(list(enumerate(st.views))):
      terms, checks = [str(view.offset)] + ([offset] if offset and depth == 0 else []), []
      for size, stride, step, (lo, hi) in zip(view.shape, view.strides, strides_for(view.shape), view.mask or [(0, s) for s in view.shape]):
        coordinate = f"(x{i} / {step} % {size})" if size > 1 else "0"  # (a view of size 0 is never read)
        if stride and size > 1: terms.append(f"{coordinate} * {stride}")
        if (lo, hi) != (0, size): checks.append(f"{coordinate} >= {lo} && {coordinate} < {hi}")
      if checks: lines.append(f"x{i}_ok = x{i}_ok && {' && '.join(checks)};")
      lines.append(f"x{i} = {' + '.join(terms)};")
    return lines, f"x{i}"

  def read(self, op, index, width=1):
    """A leaf's value at buffer index `index` in its compute type (`width` consecutive ones as a vector). A VALID reads
    1, which its masks turn to 0 outside."""
    if op.op is KernelOps.CONST: return f"arg{op.arg.slot}"
    if op.op is KernelOps.VALID: return "1"
    buffer = f"in{op.arg.index}"
    if width > 1: value = f"vload{'_half' if op.dtype == dtypes.float16 else ''}{width}(0, {buffer} + {index})"
    else: value = self.dialect.half_load.format(buffer, index) if op.dtype == dtypes.float16 else f"{buffer}[{index}]"
    return convert("int", value, width) if op.dtype == dtypes.bool else value  # bools compute as int

  def leaf(self, i, op, lin, width):
    """Lines that set v{i} to a LOAD, CONST or VALID at linear index `lin`, or to `width` consecutive ones as a vector.
    When those lie in one row of a single unmasked view, at stride 1 or 0, they are one vector load or one broadcast
    value; otherwise each lane walks the views itself (the compiler folds what is fixed: a lane step within a row, an
    element every lane reads)."""
    st, ctype = tracker(op), vector_type(COMPUTE[op.dtype.name], width)
    view = st.views[0]
    if op.op is not KernelOps.LOAD and not st.masked: return [f"{ctype} v{i} = ({ctype})({self.read(op, None)});"]
    in_one_row = width > 1 and self.aligned and not (st.views[1:] and any(view.strides)) and not st.masked and view.shape[-1] % width == 0
    # (PoCL miscompiles a kernel with vload_halfN at a start that is not a multiple of N: rows of odd length read halves by lane)
    vector_read = st.contiguous and (self.aligned or op.dtype != dtypes.float16) or in_one_row and view.strides[-1] in (0, 1)
    if width > 1 and not (op.op is KernelOps.LOAD and vector_read):
      return [f"{COMPUTE[op.dtype.name]} g{i}[{width}];", f"for (int lane = 0; lane < {width}; lane++) {{", *self.leaf(i, op, f"{lin} + lane", 1),
              f"g{i}[lane] = v{i};", "}", f"{ctype} v{i} = vload{width}(0, g{i});"]
    lines, index = self.index(i, st, lin, self.offset(op))
    if st.masked: value = f"x{i}_ok ? {self.read(op, index)} : 0"  # (masked leaves are read one element at a time)
    elif width > 1 and not st.contiguous and view.strides[-1] == 0: value = f"({ctype})({self.read(op, index)})"  # one element for every lane
    else: value = self.read(op, index, width)
    return lines + [f"{ctype} v{i} = {value};"]

  def expression(self, op, srcs, width):
    """The C expression of an elementwise op on its sources' variables. Bools compute as int 0/1."""
    negate = "-" if width > 1 else ""  # vector comparisons give -1 for true, scalar ones 1
    if op.op is UnaryOps.CAST and op.dtype == dtypes.bool: return convert("int", f"{negate}({srcs[0]} != 0)", width)
    if op.op is UnaryOps.CAST: return convert(COMPUTE[op.dtype.name], srcs[0], width)
    if op.op in (BinaryOps.CMPLT, BinaryOps.CMPEQ): return convert("int", f"{negate}({TEMPLATES[op.op].format(*srcs)})", width)
    if op.op is TernaryOps.WHERE and width > 1:  # select() picks by the top bit of a mask as wide as the values
      return f"select({srcs[2]}, {srcs[1]}, {convert('long' if COMPUTE[op.dtype.name] == 'double' else 'int', '-' + srcs[0], width)})"
    if op.op is BinaryOps.MAX or op.op is BinaryOps.ADD and op.dtype == dtypes.bool: return maximum(*srcs, op.dtype, width)  # bools add as or
    if op.op is UnaryOps.SIN: return per_lane("sin", srcs[0], COMPUTE[op.dtype.name], width)
    # PoCL's exp, log and tanh take one path on 4 lanes or more and another on fewer, a float apart at times: where
    # kernels use vectors, a scalar unary op runs on 4 lanes, so a value recomputed in a vector kernel and in a scalar one
    # is the same (the gradient of max compares them)
    if isinstance(op.op, UnaryOps) and width < 4 <= self.width: return f"({TEMPLATES[op.op].format(f'({COMPUTE[op.dtype.name]}4)({srcs[0]})')}).s0"
    return TEMPLATES[op.op].format(*srcs)

  def nodes(self, ids, lin, width):
    """Lines computing the ops `ids` at linear index `lin` (the first of `width` consecutive ones)."""
    lines = []
    for i in ids:
      op = self.ops[i]
      if op.op in LEAVES: lines += self.leaf(i, op, lin, width)
      else:
        lines.append(f"{vector_type(COMPUTE[op.dtype.name], width)} v{i} = {self.expression(op, [self.name(s) for s in op.srcs], width)};")
        # half computes in float, rounding every result as half arithmetic (and NumPy) would: a value compared with a
        # stored half (argmax, max's gradient) must match it
        if op.dtype == dtypes.float16: lines.append(f"v{i} = {per_lane('round_half', f'v{i}', 'float', width)};")
    return lines

  def store(self, lin, width):
    value, dtype = self.name(len(self.ops) - 1), self.ops[-1].dtype
    if dtype == dtypes.bool: value = convert("uchar", value, width)
    if width > 1: return f"vstore{'_half' if dtype == dtypes.float16 else ''}{width}({value}, 0, out + {lin});"
    return self.dialect.half_store.format("out", lin, value) if dtype == dtypes.float16 else f"out[{lin}] = {value};"

  def group_size(self, items):
    """Work-items per work-group of a 1-D launch: GPU_GROUP on a GPU; on a CPU few enough that each compute unit gets
    several groups (a CPU driver left to itself may run a short launch as one group on one core), and at most 64."""
    return GPU_GROUP if self.shape.gpu else min(64, 1 << max(0, (items // (4 * self.shape.compute_units)).bit_length() - 1))

  def render(self) -> Program:
    """The kernel's source and launches."""
    reduce = self.kernel.reduce
    matmul = matmul_axes(self.kernel, reduce) if reduce else None
    functions, scratch = self.matmul(*matmul) if matmul else self.reduce(reduce) if reduce else self.elementwise()
    dialect, inputs = self.dialect, sorted({op.arg.index: op.dtype for op in self.ops if op.op is KernelOps.LOAD}.items())
    params = [f"{dialect.buffer} {STORAGE[self.ops[-1].dtype.name]}* out"]
    params += [f"{dialect.buffer} const {STORAGE[dtype.name]}* restrict in{n}" for n, dtype in inputs]
    params += [f"{dialect.buffer} {scratch[0]}* scratch"] if scratch else []
    params += [f"{self.int if dtype is None else COMPUTE[dtype.name]} arg{slot}" for slot, dtype in enumerate(self.kernel.arg_dtypes())]
    source = "".join(f"{dialect.kernel} {name}({', '.join(params)}) {{\n  " + "\n  ".join(body) + "\n}\n" for name, body, _, _ in functions)
    return Program(self.prelude(source) + source, tuple((name, g, l) for name, _, g, l in functions), scratch[1] if scratch else 0, self.int)

  def prelude(self, source):
    """What enables double, and the helper that rounds a float to float16 if `source` uses it: through half storage,
    since the device may have no half arithmetic."""
    fp64, bits = self.dialect.fp64 if "double" in source else "", "(half*)&bits"
    helper = (f"float round_half(float x) {{ ushort bits; {self.dialect.half_store.format(bits, 0, 'x')} "
              f"return {self.dialect.half_load.format(bits, 0)}; }}\n")
    return fp64 + (helper if "round_half(" in source else "")

  def elementwise(self):
    """(functions, scratch) as reduce() gives them, of one function: vectors of `width` outputs, then a scalar tail in
    work-item `vectors`."""
    count, width = prod(self.ops[-1].shape), self.width
    vectors, everything = count // width, range(len(self.ops))
    local = self.group_size(vectors + 1)
    lines = [f"{self.int} gid = {self.global_id(0, local)};"]
    if vectors: lines += [f"if (gid < {vectors}) {{", f"{self.int} base = gid * {width};", *self.nodes(everything, "base", width),
                          self.store("base", width), "}"]
    if count % width: lines += [f"if (gid == {vectors}) for ({self.int} lin = {vectors * width}; lin < {count}; lin++) {{",
                                *self.nodes(everything, "lin", 1), self.store("lin", 1), "}"]
    return [(self.kernel.name, lines, (ceil_div(vectors + 1, local) * local,), (local,))], None

  def split_at_reduce(self, reduce):
    """(ids of the ops that feed the reduce's first source, ids of the other ops but the reduce)."""
    at, inside = self.ops.index(reduce), set(reduce.srcs[:1])
    for i in reversed(range(at)):  # an op comes after its sources: each is reached after everything that uses it
      if i in inside: inside.update(self.ops[i].srcs)
    return sorted(inside), [i for i in range(len(self.ops)) if i not in inside and i != at]

  def reduce(self, reduce):
    """(functions, scratch): one reduce function, or two when rows are cut into parts (the first writes each part's
    result to scratch, the second reduces the parts), and scratch as (C type, bytes) or None."""
    in_shape, axes, outputs = self.ops[reduce.srcs[0]].shape, reduce.arg, prod(reduce.shape)
    size, (inside, after), ctype = prod(in_shape[a] for a in axes), self.split_at_reduce(reduce), COMPUTE[reduce.dtype.name]
    # a GATHER, the one reduce with a second source, reads one element of its row: a loop of one step, at the index that
    # source gives, computed first (per output, with the ops ahead of the reduce that don't feed its first source)
    loop, before, pick = (1, [i for i in after if i < self.ops.index(reduce)], self.name(reduce.srcs[1])) if reduce.srcs[1:] else (size, [], "r")
    trailing = all(d in axes or in_shape[d] == 1 for d in range(min(axes), len(in_shape)))  # rows are contiguous in the input
    lanes = min(GPU_GROUP, 1 << (loop - 1).bit_length()) if self.shape.gpu and trailing and loop >= 64 else 1  # work-items per row
    # a row is walked by a vector loop, or by lanes, or by one work-item. On a CPU the loop's vectors are two registers
    # wide: a float sum's chain of dependent adds (Kahan's four per step) then runs as two chains side by side
    width = min(16, self.width * (1 if self.shape.gpu else 2)) if trailing and lanes == 1 and loop > 1 else 1
    # enough parts to fill the device (4 work-groups in flight per compute unit; a CPU's reduce group is one work-item),
    # each 64 steps or more
    parts = max(1, min(ceil_div(4 * self.shape.compute_units * self.group_size(0), outputs * lanes), loop // (64 * lanes * width)))
    chunk = ceil_div(ceil_div(loop, parts), width) * width or 1  # parts start on vector boundaries
    parts, self.aligned = max(1, ceil_div(loop, chunk)), loop % width == 0
    if trailing or not size: row_index = f"o * {size} + {pick}"  # (an empty row reads nothing)
    else:
      steps = strides_for(tuple(s if d in axes else 1 for d, s in enumerate(in_shape)))
      out_steps, in_steps = strides_for(reduce.shape), strides_for(in_shape)
      row_index = " + ".join(f"({pick if d in axes else 'o'} / {steps[d] if d in axes else out_steps[d]} % {s}) * {in_steps[d]}"
                             for d, s in enumerate(in_shape) if s != 1) or "0"

    def element(w): return self.nodes(before, "o", 1) + self.nodes(inside, row_index, w), self.name(reduce.srcs[0])
    finish = ["total -= total_err;", *self.nodes(after, "o", 1), self.store("o", 1)]
    if parts == 1: return [self.reduce_function(self.kernel.name, reduce, outputs, loop, 1, loop, element, finish, lanes, width)], None
    # each part hands on its sum and, in a second half of scratch, its compensation (a max: itself again), so that the
    # second pass rounds the row's sum once
    store_part = [f"scratch[row] = total; scratch[row + {outputs * parts}] = {'-total_err' if reduce.op is ReduceOps.SUM else 'total'};"]
    first = self.reduce_function(f"{self.kernel.name}_parts", reduce, outputs, loop, parts, chunk, element, store_part, lanes, width)
    second = self.reduce_function(self.kernel.name, reduce, outputs, 2 * parts, 1, 2 * parts, lambda w: ([], f"scratch[r * {outputs} + o]"), finish)
    return [first, second], (ctype, outputs * parts * (16 if ctype == "double" else 8))

  def reduce_function(self, name, reduce, outputs, size, parts, chunk, element, finish, lanes=1, width=1):
    """(name, lines, global size, local size) of a function where `lanes` work-items (a work-group) reduce each of
    `parts` chunks of each of `outputs` rows of `size`, then run `finish` with the chunk's result in `total` and, for a
    float sum, the compensation still to subtract from it in `total_err` (for output `o`). Without lanes, neighbouring
    work-items take neighbouring outputs, so where rows are strided (a reduce over leading axes) their reads are
    neighbours. element(width) gives (lines, value) for element r of output o's row."""
    ctype, rows, i_t = COMPUTE[reduce.dtype.name], outputs * parts, self.int
    # the fold's start, and what a partial result hands on beside itself: a sum its compensation, a max itself again
    init, carried = ("0", "-wide_err") if reduce.op is ReduceOps.SUM else ("-INFINITY" if reduce.dtype.is_float else "INT_MIN", "wide")
    local = lanes if lanes > 1 else self.group_size(rows)
    lines = [f"{i_t} id = {self.global_id(0, local)}, row = id / {lanes}, o = row % {outputs};", f"int lane = id % {lanes};",
             f"{ctype} total = {init}, total_err = 0;", f"if (row < {rows}) {{",
             f"{i_t} start = row / {outputs} * {chunk}, end = min(start + {chunk}, ({i_t}){size}), r = start;"]
    if width > 1:  # `width` running results side by side, folded into total after the loop, with their compensations
      body, value = element(width)
      lines += [f"{ctype}{width} wide = ({ctype}{width})({init}), wide_err = 0;", f"for (; r + {width} <= end; r += {width}) {{", *body,
                accumulate(reduce, "wide", value, width), "}", f"{ctype} spill[{2 * width}];", f"vstore{width}(wide, 0, spill);",
                f"vstore{width}({carried}, 1, spill);", f"for (int j = 0; j < {2 * width}; j++) {accumulate(reduce, 'total', 'spill[j]', 1)}"]
    body, value = element(1)
    lines += [f"for (r += lane; r < end; r += {lanes}) {{", *body, accumulate(reduce, "total", value, 1), "}", "}"]
    if lanes > 1:  # lane 0 folds the other lanes' results, passed through local memory, into its own (all reach the barrier)
      lines += [f"{self.dialect.shared} {ctype} shared[{lanes}];", "shared[lane] = total - total_err;", self.dialect.barrier,
                f"if (lane == 0) for (int j = 1; j < {lanes}; j++) {accumulate(reduce, 'total', 'shared[j]', 1)}"]
    lines += [f"if (lane == 0 && row < {rows}) {{", *finish, "}"]
    return name, lines, (ceil_div(rows * lanes, local) * local,), (local,)

  def matmul(self, a, b, m, n, k):
    """(functions, scratch) as reduce() gives them, of one function: a matmul. Each work-item accumulates a rows x
    (vectors * width) block of the output in vector registers: per k, `vectors` vectors of b (along n) times each of
    `rows` scalars of a (along m). Past the last row (or column) of a (or b) it reads the last one again, and those results are not
    stored. Then the ops after the reduce run on each output of the block. Dims other than m, n and k are a batch, one per work-group along dim 2.
    On a CPU a work-group is one work-item (a group is a loop, not a lockstep), which reads a and b where they lie. On a
    GPU a work-group is MATMUL_SIDE x MATMUL_SIDE work-items: for each MATMUL_DEPTH steps of k they copy a tile of a and
    one of b into local memory together, then each reads its rows and columns from there."""
    reduce, (_, after) = self.kernel.reduce, self.split_at_reduce(self.kernel.reduce)
    shape, out_steps, i_t = self.ops[reduce.srcs[0]].shape, strides_for(reduce.shape), self.int
    batch = [d for d in range(len(shape)) if d not in (m, n, k) and shape[d] > 1]
    batch_steps, batches = strides_for(tuple(shape[d] for d in batch)), prod(shape[d] for d in batch)
    width = next(t for t in (max(4, self.shape.width), 8, 4) if shape[n] % t == 0)
    vectors, rows = (2 if shape[n] % (2 * width) == 0 else 1), min(MATMUL_ROWS, shape[m])
    (va, vb), cols, side, depth = (a.arg.st.views[0], b.arg.st.views[0]), vectors * width, MATMUL_SIDE if self.shape.gpu else 1, MATMUL_DEPTH
    tall, wide, group, item = rows * side, cols * side, self.dialect.group_id, self.dialect.local_id  # the work-group's block of outputs

    def start(strides, *origin):  # where the batch's slice of an operand (or of the output) starts; origin terms may be None
      return " + ".join([term for term in origin if term] + [f"(batch / {step} % {shape[d]}) * {strides[d]}" for d, step in zip(batch, batch_steps)])

    def b_vector(j):
      if self.shape.gpu: return f"vload{width}(0, b_tile + kk * {wide + 1} + ni + {j * width})"
      first = f"b0 + kk * {vb.strides[k]} + (n0 + {j * width}) * {vb.strides[n]}"
      if vb.strides[n] == 1: return self.read(b, first, width)
      return f"(float{width})({', '.join(self.read(b, f'{first} + {lane * vb.strides[n]}') for lane in range(width))})"
    def stage(tile, op, view, start, d, corner, size):  # C that copies op's depth x size block at (k0, corner) to rows of size + 1
      kk, x = (f"t % {depth}", f"t / {depth}") if view.strides[k] == 1 else (f"t / {size}", f"t % {size}")  # neighbours read neighbours
      value = self.read(op, f"{start} + min({corner} + {x}, ({i_t}){shape[d] - 1}) * {view.strides[d]} + (k0 + {kk}) * {view.strides[k]}")
      return f"for (int t = me; t < {depth * size}; t += {side * side}) {tile}[({kk}) * {size + 1} + {x}] = k0 + {kk} < {shape[k]} ? {value} : 0;"
    lines = [f"{i_t} batch = {self.ids(group, 2)};", f"{i_t} a0 = {start(va.strides, str(va.offset), self.offset(a))};",
             f"{i_t} b0 = {start(vb.strides, str(vb.offset), self.offset(b))};", f"{i_t} out0 = {start(out_steps, '0')};",
             f"{i_t} m0 = {self.ids(group, 0)} * {tall}, n0 = {self.ids(group, 1)} * {wide};",
             f"int mi = {self.ids(item, 1)} * {rows}, ni = {self.ids(item, 0)} * {cols}, me = {self.ids(item, 1)} * {side} + {self.ids(item, 0)};",
             *[f"float{width} acc{i}_{j} = 0.0f;" for i in range(rows) for j in range(vectors)]]
    if not self.shape.gpu: lines.append(f"for ({i_t} kk = 0; kk < {shape[k]}; kk++) {{")
    else: lines += [f"{self.dialect.shared} float a_tile[{depth * (tall + 1)}], b_tile[{depth * (wide + 1)}];",
                    f"for ({i_t} k0 = 0; k0 < {shape[k]}; k0 += {depth}) {{", self.dialect.barrier, stage("a_tile", a, va, "a0", m, "m0", tall),
                    stage("b_tile", b, vb, "b0", n, "n0", wide), self.dialect.barrier, f"for (int kk = 0; kk < {depth}; kk++) {{"]
    lines += [f"float{width} b_col{j} = {b_vector(j)};" for j in range(vectors)]
    for i in range(rows):  # (on a CPU the compiler takes each row's start out of the k loop)
      row = f"a_tile[kk * {tall + 1} + mi + {i}]" if self.shape.gpu else f"a0 + min(m0 + {i}, ({i_t}){shape[m] - 1}) * {va.strides[m]}"
      value = row if self.shape.gpu else self.read(a, f"{row} + kk * {va.strides[k]}")
      lines += [f"float{width} a_row{i} = (float{width})({value});", *[f"acc{i}_{j} = fma(a_row{i}, b_col{j}, acc{i}_{j});" for j in range(vectors)]]
    lines += ["}" * (1 + self.shape.gpu), f"float tile[{rows * cols}];"]
    lines += [f"vstore{width}(acc{i}_{j}, 0, tile + {i * cols + j * width});" for i in range(rows) for j in range(vectors)]
    lines += [f"for (int e = 0; e < {rows * cols}; e++) {{", f"{i_t} row = m0 + mi + e / {cols}, col = n0 + ni + e % {cols};",
              f"if (row < {shape[m]} && col < {shape[n]}) {{", "float total = tile[e];",
              f"{i_t} lin = out0 + row * {out_steps[m]} + col * {out_steps[n]};", *self.nodes(after, "lin", 1), self.store("lin", 1), "}", "}"]
    return [(self.kernel.name, lines, (ceil_div(shape[m], tall) * side, ceil_div(shape[n], wide) * side, batches), (side, side, 1))], None
