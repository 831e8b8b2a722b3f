"""The `device` fixture: every op test runs on NUMPY and, where OpenCL works, on CL."""
import os

# The suite builds a few thousand OpenCL programs. PoCL's default work-group method vectorizes each kernel's loops,
# which doubles its build time; plain loops compute the same results, so the tests (and their subprocesses) use them.
os.environ.setdefault("POCL_WORK_GROUP_METHOD", "loops")
import pytest
from hypothesis import settings
from minigrad import Tensor

settings.register_profile("minigrad", max_examples=30, deadline=None, database=None)
settings.load_profile("minigrad")

_probe_results = {}


def _device_error(device):
    """None when a tiny tensor can be realized on `device`, else the exception it raised (probed once per session)."""
    if device not in _probe_results:
        try:
            Tensor([1.0], device=device).numpy()
            _probe_results[device] = None
        except Exception as error:  # noqa: BLE001 - reported or skipped below
            _probe_results[device] = error
    return _probe_results[device]


# MINIGRAD_DEVICES=NUMPY runs only the NUMPY half (the fast run while developing); CL-only tests then skip
DEVICES = [name.strip().upper() for name in os.environ.get("MINIGRAD_DEVICES", "NUMPY,CL").split(",") if name.strip()]


@pytest.fixture(scope="session", params=DEVICES)
def device(request):
    if request.param not in DEVICES:
        pytest.skip(f"device {request.param} not in MINIGRAD_DEVICES={','.join(DEVICES)}")
    error = _device_error(request.param)
    if error is not None:
        if request.param == "CL" and os.environ.get("MINIGRAD_REQUIRE_CL") != "1":
            pytest.skip(f"OpenCL unavailable: {error}")
        pytest.fail(f"device {request.param} unavailable: {error!r}")
    return request.param


@pytest.fixture
def training():
    """Set Tensor.training to True for one test and restore it afterwards."""
    saved = Tensor.training
    Tensor.training = True
    yield
    Tensor.training = saved


def pytest_configure(config):
    config.addinivalue_line("markers", "numpy_only: a test of semantics whose kernels other tests already run on CL")


def pytest_collection_modifyitems(config, items):
    """The CL cases of numpy_only tests are deselected: each CL case builds its own programs (about half a second each
    on PoCL), and these add no kernel the CL half does not already build and check."""
    def on_cl(item): return getattr(item, "callspec", None) is not None and item.callspec.params.get("device") == "CL"
    dropped = [item for item in items if item.get_closest_marker("numpy_only") and on_cl(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
