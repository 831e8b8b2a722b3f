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
  kernel_count, global_ops, global_mem, time_sum_s = 0, 0, 0, 0.0
  compile_count = 0  # kernels built by a compiled backend (CL), since the process started: never reset

  @staticmethod
  def reset(): GlobalCounters.kernel_count, GlobalCounters.global_ops, GlobalCounters.global_mem, GlobalCounters.time_sum_s = 0, 0, 0, 0.0
