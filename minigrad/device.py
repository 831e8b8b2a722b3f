"""Which backends exist, and the default one: DEVICE=CL in the environment makes OpenCL the default."""
import functools, importlib, os

BACKEND_MODULES = {"NUMPY": "minigrad.backend_numpy", "CL": "minigrad.backend_cl"}


class _Device:
  DEFAULT = os.getenv("DEVICE", "NUMPY").upper()

  def canonicalize(self, name):
    name = (name or self.DEFAULT).upper()
    if name not in BACKEND_MODULES: raise ValueError(f"unknown device {name!r}: choose one of {', '.join(BACKEND_MODULES)}")
    return name

  def __getitem__(self, name): return _backend(self.canonicalize(name))  # the device's backend, imported when first used


@functools.lru_cache(maxsize=None)
def _backend(name): return importlib.import_module(BACKEND_MODULES[name]).Backend()


Device = _Device()
