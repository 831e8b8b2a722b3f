"""The CL backend: each Kernel is rendered as OpenCL C, compiled once per process and run through pyopencl.

Three kernel shapes cover everything the scheduler makes. Elementwise kernels compute WIDTH consecutive outputs per
work-item as one vector (exp and log are only fast on wide vector types), with a scalar loop for the tail. Reduce
kernels compute one output per work-item; a reduce over trailing axes walks its row WIDTH elements at a time. A sum
of a product of two loads that broadcast the matmul way gets a register-tiled kernel. Movement ops are index
arithmetic: a load unravels its linear index through its ShapeTracker's views, and masks read as zero.
"""
import math, os
import numpy as np
from minigrad.dtype import dtypes
from minigrad.helpers import DEBUG, prod
from minigrad.ops import BinaryOps, KernelOps, ReduceOps, TernaryOps, UnaryOps
from minigrad.shapetracker import strides_for

WIDTH = 16       # outputs per work-item in elementwise kernels, and reduce steps per vector iteration
TILE_ROWS = 16   # matmul: each work-item accumulates up to TILE_ROWS x 16 outputs in vector registers
COMPUTE = {"float32": "float", "float16": "float", "float64": "double", "int32": "int", "bool": "int"}
STORAGE = {"float32": "float", "float16": "half", "float64": "double", "int32": "int", "bool": "uchar"}
TEMPLATES = {UnaryOps.NOOP: "{0}", UnaryOps.NEG: "-{0}", UnaryOps.EXP: "exp({0})", UnaryOps.LOG: "log({0})",
             UnaryOps.SIN: "sin({0})", UnaryOps.SQRT: "sqrt({0})", BinaryOps.ADD: "{0} + {1}", BinaryOps.SUB: "{0} - {1}",
             BinaryOps.MUL: "{0} * {1}", BinaryOps.DIV: "{0} / {1}"}
INSTALL_HELP = ("install an OpenCL driver (on Debian/Ubuntu `apt-get install pocl-opencl-icd` for the CPU, or your GPU "
                "vendor's OpenCL driver) and `pip install pyopencl`, or use the NUMPY device")
# a cast to float16 rounds to the nearest half (computation stays in float): through memory, as the device may
# have no half arithmetic
HALF_ROUNDING = f"""float round_half(float x) {{
  ushort bits; vstore_half(x, 0, (half*)&bits); return vload_half(0, (half*)&bits); }}
float{WIDTH} round_half{WIDTH}(float{WIDTH} x) {{
  ushort bits[{WIDTH}]; vstore_half{WIDTH}(x, 0, (half*)bits); return vload_half{WIDTH}(0, (half*)bits); }}
"""
PROBE_SOURCE = "__kernel void probe(__global float* x) { x[get_global_id(0)] *= 2.0f; }"


def literal(value, dtype) -> str:
  if dtype == dtypes.bool or not dtype.is_float: return str(int(value))
  if math.isnan(value): return "NAN"
  if math.isinf(value): return "INFINITY" if value > 0 else "-INFINITY"
  return repr(float(value)) + ("" if dtype == dtypes.float64 else "f")


def vector_type(ctype, width): return ctype if width == 1 else f"{ctype}{width}"


def convert(ctype, expr, width): return f"({ctype})({expr})" if width == 1 else f"convert_{ctype}{width}({expr})"


def find_context(cl):
  """The context PYOPENCL_CTX names, else one on the first device whose test kernel builds."""
  reasons, chosen = [], os.getenv("PYOPENCL_CTX")
  if chosen: candidates = [(f"PYOPENCL_CTX={chosen!r}", lambda: cl.create_some_context(interactive=False))]
  else:
    try: devices = [device for platform in cl.get_platforms() for device in platform.get_devices()]
    except Exception as error:  # pyopencl raises when no driver (ICD) is registered at all
      devices = []
      reasons.append(f"no OpenCL platform: {error}")
    candidates = [(device.name.strip(), lambda device=device: cl.Context([device])) for device in devices]
  for label, make_context in candidates:
    try:
      context = make_context()
      cl.Program(context, PROBE_SOURCE).build()
      return context
    except Exception as error: reasons.append(f"{label}: {(str(error).strip() or repr(error)).splitlines()[0]}")
  raise RuntimeError(f"no usable OpenCL device ({'; '.join(reasons) or 'no devices found'}): {INSTALL_HELP}")


class Renderer:
  """Turns one Kernel into OpenCL C source and the global size to launch it with."""
  def __init__(self, kernel):
    self.kernel, self.ops, self.names = kernel, kernel.ops, {}
    self.aligned = True  # vectors start at multiples of WIDTH in the linear order (false in a reduce row of odd size)

  def index_lines(self, st, name, lin):
    """C lines that set int `name` to the buffer index of linear index `lin` over st.shape, and `name`_ok to whether
    it lies inside every view's mask. Each later view indexes the row-major layout of the view before it."""
    lines = [f"int {name} = {lin};"] + ([f"int {name}_ok = 1;"] if st.masked else [])
    for view in reversed(st.views):
      terms, checks = [str(view.offset)], []
      for size, stride, step, (lo, hi) in zip(view.shape, view.strides, strides_for(view.shape), view.mask or [(0, s) for s in view.shape]):
        coordinate = f"({name} / {step} % {size})" if size != 1 else "0"
        if stride and size != 1: terms.append(f"{coordinate} * {stride}")
        if (lo, hi) != (0, size): checks.append(f"{coordinate} >= {lo} && {coordinate} < {hi}")
      if checks: lines.append(f"{name}_ok = {name}_ok && {' && '.join(checks)};")
      lines.append(f"{name} = {' + '.join(terms)};")
    return lines

  def read(self, op, index):
    """A LOAD's or CONST's value at buffer index `index`, in its compute type."""
    if op.op is KernelOps.CONST: return literal(op.arg[0], op.dtype)
    buffer = f"in{op.arg[0]}"
    if op.dtype == dtypes.float16: return f"vload_half({index}, {buffer})"
    return f"(int){buffer}[{index}]" if op.dtype == dtypes.bool else f"{buffer}[{index}]"

  def index(self, i, st, lin):
    """(lines, C int expression): the buffer index of linear index `lin`; the lines also set x{i}_ok when st is masked."""
    if st.contiguous: return [], lin
    return self.index_lines(st, f"x{i}", lin), f"x{i}"

  def leaf(self, i, op, lin):
    """(lines, scalar expression) reading a LOAD or CONST at linear index `lin`."""
    st = op.arg[1]
    if op.op is KernelOps.CONST and not st.masked: return [], self.read(op, None)
    lines, index = self.index(i, st, lin)
    return lines, f"(x{i}_ok ? {self.read(op, index)} : 0)" if st.masked else self.read(op, index)

  def vector_leaf(self, i, op, base):
    """Lines that set v{i} to WIDTH consecutive elements. When they cannot cross a row of a single unmasked view,
    they are one vector load, one broadcast value or a strided gather; otherwise each lane walks the views itself."""
    ctype, st, buffer = COMPUTE[op.dtype.name], op.arg[1], f"in{op.arg[0]}"
    vector, view = f"{ctype}{WIDTH}", st.views[0]
    if op.op is KernelOps.CONST and not st.masked: return [f"{vector} v{i} = ({vector})({self.read(op, None)});"]
    in_one_row = self.aligned and len(st.views) == 1 and not view.mask and view.shape[-1] % WIDTH == 0
    if op.op is KernelOps.LOAD and (st.contiguous or in_one_row and view.strides[-1] in (0, 1)):
      lines, index = self.index(i, st, base)
      if view.strides[-1] == 0 and not st.contiguous: return lines + [f"{vector} v{i} = ({vector})({self.read(op, index)});"]
      if op.dtype == dtypes.float16: return lines + [f"{vector} v{i} = vload_half{WIDTH}(0, {buffer} + {index});"]
      value = f"vload{WIDTH}(0, {buffer} + {index})"
      return lines + [f"{vector} v{i} = {convert('int', value, WIDTH) if op.dtype == dtypes.bool else value};"]
    if in_one_row:  # one index computation, then a fixed stride between lanes
      lines, index = self.index(i, st, base)
      lane_lines, value = [], self.read(op, f"{index} + lane * {view.strides[-1]}")
    else: lines, (lane_lines, value) = [], self.leaf(i, op, f"{base} + lane")
    return lines + [f"{ctype} g{i}[{WIDTH}];", f"for (int lane = 0; lane < {WIDTH}; lane++) {{", *lane_lines, f"g{i}[lane] = {value};",
                    "}", f"{vector} v{i} = vload{WIDTH}(0, g{i});"]

  def expression(self, op, srcs, width):
    """The C expression of an elementwise op on its sources' variables. Bools compute as int 0/1."""
    negate = "-" if width > 1 else ""  # vector comparisons give -1 for true, scalar ones 1
    if op.op is UnaryOps.CAST and op.dtype == dtypes.bool: return convert("int", f"{negate}({srcs[0]} != 0)", width)
    if op.op is UnaryOps.CAST and op.dtype == dtypes.float16: return f"round_half{width if width > 1 else ''}({convert('float', srcs[0], width)})"
    if op.op is UnaryOps.CAST: return convert(COMPUTE[op.dtype.name], srcs[0], width)
    if op.op in (BinaryOps.CMPLT, BinaryOps.CMPEQ):
      return convert("int", f"{negate}({srcs[0]} {'<' if op.op is BinaryOps.CMPLT else '=='} {srcs[1]})", width)
    if op.op is TernaryOps.WHERE and width == 1: return f"({srcs[0]} ? {srcs[1]} : {srcs[2]})"
    if op.op is TernaryOps.WHERE:  # select() picks by the top bit of a mask as wide as the values
      mask_type = "long" if COMPUTE[op.dtype.name] == "double" else "int"
      return f"select({srcs[2]}, {srcs[1]}, {convert(mask_type, '-' + srcs[0], width)})"
    if op.op is BinaryOps.MAX: return f"{'fmax' if op.dtype.is_float else 'max'}({srcs[0]}, {srcs[1]})"
    if op.op is UnaryOps.RECIP: return f"{literal(1, op.dtype)} / {srcs[0]}"
    return TEMPLATES[op.op].format(*srcs)

  def nodes(self, ids, lin, width):
    """Lines computing the ops `ids` at linear index `lin` (the first of `width` consecutive ones)."""
    lines = []
    for i in ids:
      op = self.ops[i]
      if op.op in (KernelOps.RESHAPE, UnaryOps.NOOP):  # same values in the same linear order
        self.names[i] = self.names[op.srcs[0]]
        continue
      self.names[i] = f"v{i}"
      if op.op in (KernelOps.LOAD, KernelOps.CONST) and width > 1: lines += self.vector_leaf(i, op, lin)
      elif op.op in (KernelOps.LOAD, KernelOps.CONST):
        leaf_lines, value = self.leaf(i, op, lin)
        lines += leaf_lines + [f"{COMPUTE[op.dtype.name]} v{i} = {value};"]
      else:
        value = self.expression(op, [self.names[s] for s in op.srcs], width)
        lines.append(f"{vector_type(COMPUTE[op.dtype.name], width)} v{i} = {value};")
    return lines

  def store(self, lin, width):
    value, dtype = self.names[len(self.ops) - 1], self.kernel.out.dtype
    if width == 1 and dtype == dtypes.float16: return f"vstore_half({value}, {lin}, out);"
    if width == 1: return f"out[{lin}] = {value};"
    if dtype == dtypes.float16: return f"vstore_half{width}({value}, 0, out + {lin});"
    return f"vstore{width}({convert('uchar', value, width) if dtype == dtypes.bool else value}, 0, out + {lin});"

  def render(self):
    """(source, global size)."""
    reduce, matmul = self.kernel.reduce, matmul_axes(self.kernel)
    body, global_size = self.matmul(*matmul) if matmul else self.reduce_body(reduce) if reduce else self.elementwise_body()
    params = [f"__global {STORAGE[self.kernel.out.dtype.name]}* out"]
    inputs = sorted({op.arg[0]: op.dtype for op in self.ops if op.op is KernelOps.LOAD}.items())
    params += [f"__global const {STORAGE[dtype.name]}* restrict in{n}" for n, dtype in inputs]
    source = f"__kernel void {self.kernel.name}({', '.join(params)}) {{\n  " + "\n  ".join(body) + "\n}\n"
    if "round_half" in source: source = HALF_ROUNDING + source
    if "double" in source: source = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n" + source
    return source, global_size

  def elementwise_body(self):
    count, everything = prod(self.kernel.out.shape), range(len(self.ops))
    vectors = count // WIDTH
    lines = ["int gid = get_global_id(0);"]
    if vectors: lines += [f"if (gid < {vectors}) {{", f"int base = gid * {WIDTH};", *self.nodes(everything, "base", WIDTH),
                          self.store("base", WIDTH), "return;", "}"]
    lines += [f"for (int lin = {vectors * WIDTH}; lin < {count}; lin++) {{", *self.nodes(everything, "lin", 1), self.store("lin", 1), "}"]
    return lines, (vectors + (count % WIDTH > 0),)

  def split_at_reduce(self, reduce):
    """(ids of the ops that feed the reduce, ids of the ops after it); names the reduce's value `acc`."""
    at, inside, stack = self.ops.index(reduce), set(), list(reduce.srcs)
    while stack:
      i = stack.pop()
      if i in inside: continue
      inside.add(i)
      stack.extend(self.ops[i].srcs)
    self.names[at] = "acc"
    return sorted(inside), [i for i in range(len(self.ops)) if i not in inside and i != at]

  def reduce_body(self, reduce):
    in_shape, axes = self.ops[reduce.srcs[0]].shape, reduce.arg
    size, ctype = prod(in_shape[a] for a in axes), COMPUTE[reduce.dtype.name]
    inside, after = self.split_at_reduce(reduce)
    init = "0" if reduce.op is ReduceOps.SUM else "-INFINITY" if reduce.dtype.is_float else "INT_MIN"
    trailing = all(d in axes or in_shape[d] == 1 for d in range(min(axes), len(in_shape)))
    if trailing: input_index = f"gid * {size} + r"  # the row is contiguous in the input's linear order
    else:
      steps = strides_for(tuple(s if d in axes else 1 for d, s in enumerate(in_shape)))
      out_steps, in_steps = strides_for(reduce.shape), strides_for(in_shape)
      input_index = " + ".join(f"({'r' if d in axes else 'gid'} / {steps[d] if d in axes else out_steps[d]} % {s}) * {in_steps[d]}"
                               for d, s in enumerate(in_shape) if s != 1)
    vectors, self.aligned = size // WIDTH if trailing else 0, size % WIDTH == 0
    lines = ["int gid = get_global_id(0);", f"{ctype} acc = {init};"]
    if vectors:  # WIDTH partial results, combined after the loop
      vector_lines = self.nodes(inside, f"gid * {size} + r", WIDTH)
      lines += [f"{ctype}{WIDTH} acc_lanes = ({ctype}{WIDTH})({init});", f"for (int r = 0; r < {vectors * WIDTH}; r += {WIDTH}) {{",
                *vector_lines, f"acc_lanes = {combine(reduce, 'acc_lanes', self.names[reduce.srcs[0]])};", "}",
                f"{ctype} lanes[{WIDTH}];", f"vstore{WIDTH}(acc_lanes, 0, lanes);",
                f"for (int lane = 0; lane < {WIDTH}; lane++) acc = {combine(reduce, 'acc', 'lanes[lane]')};"]
    scalar_lines = self.nodes(inside, "lin", 1)
    lines += [f"for (int r = {vectors * WIDTH}; r < {size}; r++) {{", f"int lin = {input_index};", *scalar_lines,
              f"acc = {combine(reduce, 'acc', self.names[reduce.srcs[0]])};", "}"]
    return lines + self.nodes(after, "gid", 1) + [self.store("gid", 1)], (prod(reduce.shape),)

  def matmul(self, a, b, m, n, k):
    """Each work-item accumulates a TILE_ROWS x cols block of the output in vector registers: per k, one vector of b
    (along n) times each of TILE_ROWS scalars of a (along m). Dims other than m, n and k are a batch."""
    reduce, (_, after) = self.kernel.reduce, self.split_at_reduce(self.kernel.reduce)
    shape, out_steps = self.ops[reduce.srcs[0]].shape, strides_for(reduce.shape)
    rows, cols = next(t for t in (TILE_ROWS, 8, 4, 2, 1) if shape[m] % t == 0), next(t for t in (16, 8, 4) if shape[n] % t == 0)
    (va, vb), batch = (a.arg[1].views[0], b.arg[1].views[0]), [d for d in range(len(shape)) if d not in (m, n, k) and shape[d] > 1]
    batch_steps = strides_for(tuple(shape[d] for d in batch))

    def start(strides, offset, tile_dim, tile_var):
      terms = [str(offset), f"{tile_var} * {strides[tile_dim]}"]
      return " + ".join(terms + [f"(batch / {step} % {shape[d]}) * {strides[d]}" for d, step in zip(batch, batch_steps)])
    a_row = lambda i: f"in{a.arg[0]}[a0 + {i * va.strides[m]} + kk * {va.strides[k]}]"
    b_lanes = ", ".join(f"in{b.arg[0]}[b0 + kk * {vb.strides[k]} + {j * vb.strides[n]}]" for j in range(cols))
    b_vector = f"vload{cols}(0, in{b.arg[0]} + b0 + kk * {vb.strides[k]})" if vb.strides[n] == 1 else f"(float{cols})({b_lanes})"
    lines = [f"int n0 = get_global_id(0) * {cols}, m0 = get_global_id(1) * {rows}, batch = get_global_id(2);",
             f"int a0 = {start(va.strides, va.offset, m, 'm0')}, b0 = {start(vb.strides, vb.offset, n, 'n0')};",
             f"int out0 = {start(out_steps, 0, m, 'm0')} + n0 * {out_steps[n]};",
             *[f"float{cols} acc{i} = 0.0f;" for i in range(rows)],
             f"for (int kk = 0; kk < {shape[k]}; kk++) {{", f"float{cols} b_k = {b_vector};",
             *[f"acc{i} = fma((float{cols})({a_row(i)}), b_k, acc{i});" for i in range(rows)], "}",
             f"float tile[{rows * cols}];", *[f"vstore{cols}(acc{i}, 0, tile + {i * cols});" for i in range(rows)],
             f"for (int e = 0; e < {rows * cols}; e++) {{", "float acc = tile[e];",
             f"int lin = out0 + (e / {cols}) * {out_steps[m]} + (e % {cols}) * {out_steps[n]};",
             *self.nodes(after, "lin", 1), self.store("lin", 1), "}"]
    return lines, (shape[n] // cols, shape[m] // rows, prod(shape[d] for d in batch))


def combine(reduce, acc, value):
  if reduce.op is ReduceOps.SUM: return f"{acc} + {value}"
  return f"{'fmax' if reduce.dtype.is_float else 'max'}({acc}, {value})"


def matmul_axes(kernel):
  """(a, b, m, n, k) when the kernel sums, over one axis k, the product of two float32 loads of single unmasked
  views where a alone varies along m and b alone along n (b is the one read as vectors), else None."""
  reduce = kernel.reduce
  if reduce is None or reduce.op is not ReduceOps.SUM or len(reduce.arg) != 1 or reduce.dtype != dtypes.float32: return None
  product = kernel.ops[reduce.srcs[0]]
  if product.op is not BinaryOps.MUL: return None
  loads = [kernel.ops[s] for s in product.srcs]
  if any(op.op is not KernelOps.LOAD or op.dtype != dtypes.float32 or len(op.arg[1].views) > 1 or op.arg[1].masked for op in loads):
    return None
  k, shape, candidates = reduce.arg[0], product.shape, []
  for a, b in (loads, loads[::-1]):
    sa, sb = a.arg[1].views[0].strides, b.arg[1].views[0].strides
    ms = [d for d in range(len(shape)) if d != k and sb[d] == 0 and sa[d] != 0 and shape[d] > 1]
    ns = [d for d in range(len(shape)) if d != k and sa[d] == 0 and sb[d] != 0 and shape[d] % 4 == 0]
    if ms and ns: candidates.append((any(sb[d] == 1 for d in ns), a, b, ms[-1], min(ns, key=lambda d: (sb[d] != 1, -d)), k))
  return max(candidates, key=lambda c: c[0])[1:] if candidates else None


class CLBuffer:
  """Device memory that returns to its backend's free list (by size) when nothing holds it any more."""
  def __init__(self, backend, nbytes):
    self.backend, self.nbytes = backend, nbytes
    reusable = backend.free.get(nbytes)
    self.mem = reusable.pop() if reusable else backend.cl.Buffer(backend.context, backend.cl.mem_flags.READ_WRITE, max(nbytes, 1))

  def __del__(self): self.backend.free.setdefault(self.nbytes, []).append(self.mem)


class Backend:
  """The CL device: one OpenCL context and in-order queue. Only to_numpy (and synchronize) wait for the device."""
  def __init__(self):
    try: import pyopencl as cl
    except ImportError as error: raise RuntimeError(f"device CL needs pyopencl ({error}): {INSTALL_HELP}") from None
    self.cl, self.context = cl, find_context(cl)
    self.device, self.queue = self.context.devices[0], cl.CommandQueue(self.context)
    # source -> compiled kernel; Kernel ops -> (compiled kernel, global size, local size); bytes -> free buffers
    self.programs, self.kernels, self.free = {}, {}, {}

  def from_numpy(self, array):
    """A device buffer holding a copy of `array`."""
    array = np.ascontiguousarray(array, dtypes.from_np(array.dtype).np)
    buffer = CLBuffer(self, array.nbytes)
    if array.nbytes: self.cl.enqueue_copy(self.queue, buffer.mem, array, is_blocking=False)
    return buffer

  def to_numpy(self, buffer, dtype):
    """The buffer's contents as a flat array, once every queued kernel has finished."""
    array = np.empty(buffer.nbytes // dtype.itemsize, dtype.np)
    if array.nbytes: self.cl.enqueue_copy(self.queue, array, buffer.mem, is_blocking=True)
    return array

  def synchronize(self): self.queue.finish()

  def compile(self, source):
    """The kernel of `source`, built the first time this process sees that source."""
    if source not in self.programs:
      if "cl_khr_fp64" in source and "cl_khr_fp64" not in self.device.extensions:
        raise RuntimeError(f"float64 needs the OpenCL extension cl_khr_fp64, which {self.device.name.strip()} lacks")
      if DEBUG >= 3: print(source)
      self.programs[source] = self.cl.Program(self.context, source).build().all_kernels()[0]
    return self.programs[source]

  def run(self, kernel, inputs):
    """Queue `kernel` over `inputs` (buffers of this backend) and return its output buffer without waiting."""
    out = CLBuffer(self, prod(kernel.out.shape) * kernel.out.dtype.itemsize)
    if out.nbytes == 0: return out
    launch = self.kernels.get(kernel.ops)
    if launch is None:
      source, global_size = Renderer(kernel).render()
      launch = self.kernels[kernel.ops] = (self.compile(source), global_size, local_size(global_size))
    program, global_size, local = launch
    program.set_args(out.mem, *[buffer.mem for buffer in inputs])
    self.cl.enqueue_nd_range_kernel(self.queue, program, global_size, local)
    return out


def local_size(global_size):
  """At least 8 work-groups where the size allows: left to itself, a CPU driver may run a short launch (say 32 long
  rows to reduce) as one work-group on one core."""
  if len(global_size) > 1: return None
  return next(((size,) for size in (32, 16, 8, 4, 2) if global_size[0] % size == 0 and global_size[0] // size >= 8), None)
