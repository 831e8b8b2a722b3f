"""Small shared utilities: the DEBUG level, counters and the graph walk."""
import os


DEBUG = int(os.getenv("DEBUG", "0"))


def toposort(roots, sources) -> list:
  """Every node reachable from roots, each after its sources, by an iterative depth-first walk (a recursive one
  overflows on deep graphs). sources(node) lists a node's sources, or is None for a leaf, which is left out."""
  order, seen, stack = [], set(), [(root, False) for root in roots]
  while stack:
    node, children_done = stack.pop()
    if children_done: order.append(node)
    elif node not in seen and (srcs := sources(node)) is not None:
      seen.add(node)
      stack += [(node, True)] + [(src, False) for src in srcs]  # the node again once its sources are done
  return order


class GlobalCounters:
  """Totals since the last reset(), read by tests and benchmarks."""
  # compile_count: the kernels a compiled backend (CL) has built since the process started, which reset() leaves alone
  kernel_count, global_ops, global_mem, time_sum_s, compile_count = 0, 0, 0, 0.0, 0

  @staticmethod
  def reset(): GlobalCounters.kernel_count, GlobalCounters.global_ops, GlobalCounters.global_mem, GlobalCounters.time_sum_s = 0, 0, 0, 0.0
