"""TinyJit: run a function's captured kernels again on new inputs, without building, differentiating or scheduling
its graph."""
import functools, weakref
from minigrad import schedule
from minigrad.helpers import GlobalCounters, prod
from minigrad.lazy import LazyBuffer
from minigrad.tensor import Tensor


class TinyJit:
  """Decorate a function of Tensors, such as a training step. The first call runs it as usual; the second captures
  the kernels it launches; later calls whose Tensor arguments have the same shapes, dtypes and devices replay them,
  bit for bit what the plain call computes. Arguments of a new shape start over (a plain call, then a capture).

  Replayed: every kernel, on the new arguments' values; random draws, drawn anew on each call; tensors changed with
  assign or += -= *= /= (parameters, optimiser state, an optimiser's lr set between calls), which are read at their
  current value and updated. Not replayed: Python side effects (prints, lists appended to), values read on the host
  inside the function (.item(), .numpy()), Python numbers and non-Tensor arguments (frozen at capture), tensors made
  from host data inside the function (their captured value stays), the .grad attributes (they keep the captured
  step's gradients) and deferred index checks. Tensors returned by a replay hold new memory on every call."""

  def __init__(self, fn):
    self.fn, self.key, self.calls, self.plan = fn, None, 0, None
    functools.update_wrapper(self, fn)

  def __call__(self, *args, **kwargs):
    args, kwargs = tuple(map(_realized, args)), {name: _realized(value) for name, value in kwargs.items()}
    inputs = [value for value in (*args, *kwargs.values()) if isinstance(value, Tensor)]
    key = tuple((t.shape, t.dtype, t.device) for t in inputs)
    if key != self.key: self.key, self.calls, self.plan = key, 0, None
    self.calls += 1
    if self.plan is not None: return self._replay(inputs)
    if self.calls == 1: return self.fn(*args, **kwargs)
    return self._capture(args, kwargs, inputs)

  def _capture(self, args, kwargs, inputs):
    sources = {id(t.lazydata.realized): ("input", i) for i, t in enumerate(inputs)}
    state = [(t, t.lazydata) for t in Tensor._assigned.values()]  # tensors an assign may have changed between calls
    schedule.capture.append([])
    Tensor._jit_log = log = []
    try:
      result = self.fn(*args, **kwargs)
      outs = [t for t in (result if isinstance(result, (tuple, list)) else [result]) if isinstance(t, Tensor)]
      changed = list({id(t): t for kind, t, _ in log if kind == "assign"}.values())
      for t in outs + changed: t.lazydata = t.lazydata.contiguous()
      if outs + changed: Tensor.realize(*outs, *changed)
    finally: launches, Tensor._jit_log = schedule.capture.pop(), None
    # a tensor's value before its first assign is state: replays read the value the tensor holds when they start (the
    # buffer rides along: it keeps its id from being reused, and stands in for a tensor that has died)
    for t, old in state + [(t, old) for kind, t, old in reversed(log) if kind == "assign"]:
      if (buffer := _buffer_of(old)) is not None: sources[id(buffer)] = ("state", (weakref.ref(t), buffer))
    draws = [(remake, made) for kind, remake, made in log if kind == "draw"]
    sources.update({id(made.realized): ("draw", k) for k, (_, made) in enumerate(draws)})
    steps = []
    for j, (runner, out, in_bases, launch_args) in enumerate(launches):
      steps.append((runner, [sources.get(id(b.realized), ("fixed", b.realized)) for b in in_bases], launch_args))
      sources[id(out.realized)] = ("launch", j)
    where = lambda t: sources.get(id(t.lazydata.realized), ("fixed", t.lazydata.realized))
    self.fixed = {id(buffer) for _, step_sources, _ in steps for kind, buffer in step_sources if kind == "fixed"}
    Tensor._assign_watchers.add(self)
    self.plan = (steps, [remake for remake, _ in draws], [(weakref.ref(t), where(t)) for t in changed],
                 [(t, where(t)) for t in outs], result)
    return result

  def assigned(self, old):
    """A tensor changed that held a constant or a buffer the captured kernels read as fixed data: capture again,
    rather than replay stale data."""
    if self.plan is not None and (old.base.realized is None or id(old.base.realized) in self.fixed): self.key, self.plan = None, None

  def _replay(self, inputs):
    steps, remakes, updates, outs, result = self.plan
    with schedule.schedule_lock:
      drawn, launched = [remake().realized for remake in remakes], []

      def buffer(source):
        kind, what = source
        if kind == "input": return inputs[what].lazydata.realized
        if kind == "state": return _current_buffer(*what)
        return {"draw": drawn, "launch": launched}[kind][what] if kind != "fixed" else what
      for runner, sources, launch_args in steps: launched.append(runner([buffer(s) for s in sources], launch_args))
      GlobalCounters.kernel_count += len(steps)
      new_values = [buffer(source) for _, source in updates + outs]
    for (ref, _), value in zip(updates, new_values):
      if (t := ref()) is not None: t.lazydata = LazyBuffer.from_realized(value, t.shape, t.dtype, t.device)
    fresh = {id(t): Tensor(LazyBuffer.from_realized(value, t.shape, t.dtype, t.device))
             for (t, _), value in zip(outs, new_values[len(updates):])}
    if isinstance(result, (tuple, list)): return type(result)(fresh.get(id(t), t) for t in result)
    return fresh.get(id(result), result)


def _buffer_of(lazydata):
  """The realized buffer that holds lazydata's values in row-major order (its base, or a reshape of it), else None."""
  base = lazydata.base
  return base.realized if lazydata is base or (lazydata.st.contiguous and prod(lazydata.shape) == prod(base.shape)) else None


def _current_buffer(ref, captured):
  """The buffer a state tensor holds now (realizing it first if it was changed lazily), or the captured one."""
  if (t := ref()) is None: return captured
  if _buffer_of(t.lazydata) is None: t.lazydata = t.lazydata.contiguous()
  return _buffer_of(t.lazydata.realize())


def _realized(value):
  """A Tensor argument as a realized, contiguous copy of its value (kernels read whole buffers from offset 0)."""
  return Tensor(value.lazydata.contiguous()).realize() if isinstance(value, Tensor) else value
