"""Which backends exist, and the default one: DEVICE=CL in the environment makes OpenCL the default."""
import functools, importlib, os

BACKEND_MODULES = {"NUMPY": "minigrad.backend_numpy", "CL": "minigrad.backend_cl"}


class _Device:
  DEFAULT = os.getenv("DEVICE", "NUMPY").upper()

  def canonicalize(self, name):
    name = (name or self.DEFAULT).upper()
    if name not in BACKEND_MODULES: raise ValueError(f"unknown device {name!r}: choose one of {', '.join(BACKEND_MODULES)}")
    return name

  def __getitem__(self, name):
    """The backend object for a device, imported the first time it is used."""
    return _backend(self.canonicalize(name))


@functools.lru_cache(maxsize=None)
def _backend(name): return importlib.import_module(BACKEND_MODULES[name]).Backend()


Device = _Device()
