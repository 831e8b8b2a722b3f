"""TinyJit: run a function's captured kernels again on new inputs, without building, differentiating or scheduling
its graph."""
import functools
import numpy as np
from minigrad import schedule
from minigrad.helpers import GlobalCounters
from minigrad.lazy import LazyBuffer
from minigrad.tensor import Tensor


class TinyJit:
  """Decorate a function of Tensors, such as a training step. The first call runs it as usual; the second captures
  the kernels it launches; later calls whose Tensor arguments have the same shapes, dtypes and devices replay them,
  bit for bit what the plain call computes. Tensor arguments of a new shape or dtype, other (non-Tensor) arguments of a
  new value (an array by its bytes, others by repr), a change of Tensor.training, of grad mode or of any tensor's
  requires_grad (a layer frozen or unfrozen) start over (a plain call, then a capture).

  Replayed: every kernel, on the new arguments' values; random draws (dropout masks), drawn anew on each call; tensors
  changed with assign or += -= *= /= (parameters, optimiser state, an optimiser's lr set between calls), which are
  read at their current value and updated in place of the old. A tensor assigned for the first time outside the
  function (a constant or weight never assigned before) makes the next call capture again, so it is never read stale.
  Not replayed: Python side effects (prints, lists appended to), values read on the host inside the function
  (.item(), .numpy(), and the ops that read their input while the graph is built: boolean-mask indexing keeps the
  captured positions and multinomial samples from the captured weights), Python numbers computed inside the function
  (frozen at capture: an optimiser's momentum, weight decay and betas too; its lr is a tensor, read anew), tensors made
  from host data inside the function (their captured value stays), a name rebound to another tensor (assign to the
  tensor instead), tensors assigned for the first time inside the capturing call (they keep the value the capture gave
  them), the .grad attributes (a replay sets none: keep backward() and the
  optimiser's step() inside the function together) and the index checks of gathers and of cross_entropy's class
  targets (they check the capture's indices only; a replayed index out of range reads the first row, never outside
  memory). Tensor arguments, alone or inside tuples, lists and dicts, arrive as realized copies without a graph
  (requires_grad is not kept). A Tensor returned, alone or inside tuples, lists and dicts, holds new memory on every replay.
  A TinyJit called inside another's capture runs (or captures) as a plain call would, so the outer one replays its kernels
  and random draws too. One thread at a time: what a capture records (launches, random draws, assigned tensors) is
  kept per process, so while a TinyJit captures or replays no other thread may run minigrad (realizing from several
  threads is safe without TinyJit)."""

  def __init__(self, fn):
    self.fn, self.key, self.calls, self.plan = fn, None, 0, None
    functools.update_wrapper(self, fn)

  def __call__(self, *args, **kwargs):
    # Tensor arguments as realized, contiguous copies of their values: kernels read whole buffers from offset 0
    args, kwargs = [_walk(value, lambda t: Tensor(t.lazydata.contiguous()).realize()) for value in (args, kwargs)]
    inputs, raw = [], []  # the Tensor arguments; the NumPy arguments, raw
    # a replay needs the same arguments but for the Tensors' values: each Tensor (keywords in name order) in its place, with
    # its shape, dtype and device, every other value whole (it is frozen in the kernels): a NumPy array by its bytes (its
    # repr elides), the rest by repr (1 and 1.0 make different kernels); and the same modes
    layout = repr(_walk((args, sorted(kwargs.items())), lambda t: inputs.append(t) or Tensor, lambda a: raw.append((a.shape, a.dtype, a.tobytes()))))
    # known before the function runs (it may assign to an argument); one buffer in two slots (x twice) is read for both
    memory = [id(t.lazydata.realized) for t in inputs]
    key = (layout, raw, [(t.shape, t.dtype, t.device, memory.index(i)) for t, i in zip(inputs, memory)], Tensor.training, Tensor.grad_enabled(),
           Tensor._state_changes)
    if key != self.key: self.calls, self.plan = 0, None
    self.calls += 1
    if self.plan is not None and not schedule.capture: result = self._replay(inputs)  # inside another's capture: captured again
    else: result = self.fn(*args, **kwargs) if self.calls == 1 else self._capture(args, kwargs, memory)
    self.key = (*key[:-1], Tensor._state_changes)  # the function's own first assigns (x += y on a temporary) don't start over
    return result

  def _capture(self, args, kwargs, input_ids):
    held = list(Tensor._assigned.values())  # state: the tensors assigned before, each computed into a buffer of its own
    for t in held: t.lazydata = t.lazydata.contiguous()
    if held: Tensor.realize(*held)
    held = {id(t): (t, t.lazydata) for t in held}
    schedule.capture.append([])
    Tensor._jit_logs.append(log := [])
    try:
      result, outs = self.fn(*args, **kwargs), []
      _walk(result, outs.append)
      changed = [t for t, old in held.values() if t.lazydata is not old]
      for t in outs + changed: t.lazydata = t.lazydata.contiguous()
      if outs + changed: Tensor.realize(*outs, *changed)
    finally: launches, _ = schedule.capture.pop(), Tensor._jit_logs.pop()
    # A replay maps each buffer of the captured call, known by its id, to the one that stands in for it: the new
    # arguments, the current value of each state tensor, fresh draws and the outputs of its own launches. Any other
    # buffer the kernels read (a constant, a weight never assigned) is fixed data, read as captured.
    read = {id(b.realized): b.realized for _, _, in_bases, _ in launches for b in in_bases}
    state = {id(old.realized): t for t, old in held.values() if id(old.realized) in read}
    steps = [(runner, [id(b.realized) for b in in_bases], id(out.realized), launch_args) for runner, out, in_bases, launch_args in launches]
    made = {*input_ids, *state, *[id(draw.realized) for _, draw in log], *[out for _, _, out, _ in steps]}
    fixed = {i: buffer for i, buffer in read.items() if i not in made}
    updates, fresh = [(t, id(t.lazydata.realized)) for t in changed], [(t, id(t.lazydata.realized)) for t in outs]
    self.plan = (input_ids, fixed, state, log, steps, updates, fresh, result)
    return result

  def _replay(self, inputs):
    input_ids, fixed, state, draws, steps, updates, outs, result = self.plan
    with schedule.schedule_lock:
      for t in state.values(): t.lazydata = t.lazydata.contiguous().realize()  # a state tensor changed lazily is computed now
      # id of a buffer of the captured call -> the buffer that stands in for it on this call: fixed data, the new arguments, the state
      now = {**fixed, **{i: t.lazydata.realized for i, t in zip(input_ids, inputs)}, **{i: t.lazydata.realized for i, t in state.items()}}
      now.update({id(made.realized): remake().realized for remake, made in draws})
      for runner, reads, out, launch_args in steps: now[out] = runner([now[i] for i in reads], launch_args)
      GlobalCounters.kernel_count += len(steps)
    for t, i in updates: t.lazydata = LazyBuffer.from_realized(now[i], t.shape, t.dtype, t.device)
    fresh = {id(t): Tensor(LazyBuffer.from_realized(now[i], t.shape, t.dtype, t.device)) for t, i in outs}
    return _walk(result, lambda t: fresh.get(id(t), t))


def _walk(value, on_tensor, on_array=None):
  """value with each Tensor in it replaced by on_tensor(Tensor), and each NumPy array by on_array(array) if given, through
  tuples, lists (a namedtuple is rebuilt by its _make) and dict values at any depth."""
  if isinstance(value, Tensor): return on_tensor(value)
  if isinstance(value, np.ndarray) and on_array: return on_array(value)
  if isinstance(value, dict): return {key: _walk(item, on_tensor, on_array) for key, item in value.items()}
  return getattr(type(value), "_make", type(value))(_walk(item, on_tensor, on_array) for item in value) if isinstance(value, (tuple, list)) else value
