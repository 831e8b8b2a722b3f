"""Small shared utilities: the DEBUG level and counters."""
import os


DEBUG = int(os.getenv("DEBUG", "0"))


class GlobalCounters:
  """Totals since the last reset(), read by tests and benchmarks."""
  kernel_count, global_ops, global_mem, time_sum_s = 0, 0, 0, 0.0
  compile_count = 0  # kernels built by a compiled backend (CL), since the process started: never reset

  @staticmethod
  def reset(): GlobalCounters.kernel_count, GlobalCounters.global_ops, GlobalCounters.global_mem, GlobalCounters.time_sum_s = 0, 0, 0, 0.0
