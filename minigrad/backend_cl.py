"""The CL device: OpenCL through pyopencl. Kernels are rendered by renderer_c in the OpenCL dialect, shaped for what
this device reports (MINIGRAD_CL_SHAPE=gpu or cpu forces the GPU- or CPU-shaped kernels, so either can be tested on
any device), built once per process, and queued without waiting.
"""
import atexit, math, os, warnings
import numpy as np
from minigrad.helpers import DEBUG, GlobalCounters
from minigrad.renderer_c import COMPUTE, OPENCL, Renderer, Shape

INSTALL_HELP = ("install an OpenCL driver (on Debian/Ubuntu `apt-get install pocl-opencl-icd` for the CPU, or your GPU "
                "vendor's OpenCL driver) and `pip install pyopencl`, or use the NUMPY device")
PROBE_SOURCE = "__kernel void probe(__global float* x) { x[get_global_id(0)] *= 2.0f; }"
ARGUMENT_TYPES = {"float": np.float32, "double": np.float64, "int": np.int32, "long": np.int64}


def find_context(cl):
  """The context PYOPENCL_CTX names, else one on the first device whose test kernel builds."""
  reasons, chosen = [], os.getenv("PYOPENCL_CTX")
  if chosen: candidates = [(f"PYOPENCL_CTX={chosen!r}", lambda: cl.create_some_context(interactive=False))]
  else:
    try: devices = [device for platform in cl.get_platforms() for device in platform.get_devices()]
    except Exception as error: devices, reasons = [], [f"no OpenCL platform: {error}"]  # no driver (ICD) is registered at all
    candidates = [(device.name.strip(), lambda device=device: cl.Context([device])) for device in devices]
  for label, make_context in candidates:
    try:
      context = make_context()
      cl.Program(context, PROBE_SOURCE).build()
      return context
    except Exception as error: reasons.append(f"{label}: {(str(error).strip() or repr(error)).splitlines()[0]}")
  raise RuntimeError(f"no usable OpenCL device ({'; '.join(reasons) or 'no devices found'}): {INSTALL_HELP}")


class CLBuffer:
  """Device memory that returns to its backend's free list (by size) when nothing holds it any more."""
  def __init__(self, backend, nbytes):
    self.backend, self.nbytes, reusable = backend, nbytes, backend.free.get(nbytes)
    self.mem = reusable.pop() if reusable else backend.cl.Buffer(backend.context, backend.cl.mem_flags.READ_WRITE, max(nbytes, 1))

  def __del__(self): self.backend.free.setdefault(self.nbytes, []).append(self.mem)


class Runner:
  """One compiled kernel: called with input buffers and argument values, it allocates the output, queues the launches
  and returns the output without waiting."""
  def __init__(self, backend, kernel):
    self.backend, self.kernel, self.out_bytes = backend, kernel, math.prod(kernel.ops[-1].shape) * kernel.ops[-1].dtype.itemsize
    if self.out_bytes == 0: return  # nothing to compute, nothing to build
    program = Renderer(kernel, OPENCL, backend.shape).render()
    functions = backend.build(program.source)
    self.launches, self.scratch_bytes = [(functions[name], *sizes) for name, *sizes in program.launches], program.scratch_bytes
    arg_types = [ARGUMENT_TYPES[program.index_type if dtype is None else COMPUTE[dtype.name]] for dtype in kernel.arg_dtypes()]
    for function, _, _ in self.launches:  # typed scalars are packed fast: untyped ones cost ~80 us a launch in pyopencl
      function.set_scalar_arg_dtypes([None] * (function.num_args - len(arg_types)) + arg_types)  # buffers, then scalars

  def __call__(self, inputs, args):
    out = CLBuffer(self.backend, self.out_bytes)
    if out.nbytes == 0: return out
    scratch = [CLBuffer(self.backend, self.scratch_bytes)] if self.scratch_bytes else []
    values = [buffer.mem for buffer in (out, *inputs, *scratch)] + list(args)
    for function, global_size, local_size in self.launches:  # (an offset past 2**31 in a kernel with 32-bit indices raises before any launch)
      function(self.backend.queue, global_size, local_size, *values)
    return out


class Backend:
  """The CL device: one OpenCL context and in-order queue. Only to_numpy (and synchronize) wait for the device."""
  def __init__(self):
    try: import pyopencl as cl
    except ImportError as error: raise RuntimeError(f"device CL needs pyopencl ({error}): {INSTALL_HELP}") from None
    warnings.filterwarnings("ignore", category=cl.CompilerWarning)  # PoCL's build logs come as warnings: DEBUG=3 prints them
    self.cl, self.context = cl, find_context(cl)
    self.device, self.queue = self.context.devices[0], cl.CommandQueue(self.context)
    atexit.register(self.queue.finish)  # a process that ends with kernels still queued can crash in PoCL's teardown
    # kernel shapes are chosen from the device's type, preferred float vector width (a power of two, at most 16; a GPU
    # computes one value per work-item) and cores
    gpu = os.getenv("MINIGRAD_CL_SHAPE", "gpu" if self.device.type & cl.device_type.GPU else "cpu").lower() == "gpu"
    width = 1 if gpu else min(16, 1 << (max(1, self.device.preferred_vector_width_float).bit_length() - 1))
    self.shape = Shape(width, self.device.max_compute_units, gpu)
    # source -> {function name: compiled function}; (Kernel, shape) -> Runner; bytes -> free buffers
    self.programs, self.runners, self.free = {}, {}, {}

  def from_numpy(self, array):
    """A device buffer holding a copy of `array` (already in a minigrad dtype's NumPy type, as LazyBuffer.from_numpy
    gets it)."""
    array = np.ascontiguousarray(array)
    buffer = CLBuffer(self, array.nbytes)
    if array.nbytes: self.cl.enqueue_copy(self.queue, buffer.mem, array, is_blocking=False)
    return buffer

  def to_numpy(self, buffer, dtype):
    """The buffer's contents as a flat array, once every queued kernel has finished."""
    array = np.empty(buffer.nbytes // dtype.itemsize, dtype.np)
    if array.nbytes: self.cl.enqueue_copy(self.queue, array, buffer.mem, is_blocking=True)
    return array

  def synchronize(self): self.queue.finish()

  def build(self, source):
    """The functions of `source` by name, built the first time this process sees that source. The build log is
    shown at DEBUG >= 3, or in the error when the build fails."""
    if source not in self.programs:
      if OPENCL.fp64 in source and "cl_khr_fp64" not in self.device.extensions:
        raise RuntimeError(f"float64 needs the OpenCL extension cl_khr_fp64, which {self.device.name.strip()} lacks")
      if DEBUG >= 3: print(source)
      program = self.cl.Program(self.context, source).build(options=["-w"])  # (-w: clang warns of ABI details nobody can act on)
      if DEBUG >= 3 and (log := program.get_build_info(self.device, self.cl.program_build_info.LOG).strip()): print(log)
      GlobalCounters.compile_count += 1
      self.programs[source] = {function.function_name: function for function in program.all_kernels()}
    return self.programs[source]

  def compile(self, kernel):
    """The Runner of `kernel` for this device's kernel shapes, made once."""
    return self.runners.get((kernel, self.shape)) or self.runners.setdefault((kernel, self.shape), Runner(self, kernel))  # one lookup a launch
