from setuptools import setup

setup(
    name="minigrad",
    version="0.1.0",
    description="A tiny lazy tensor and autograd engine that runs on NumPy or OpenCL",
    packages=["minigrad", "minigrad.nn"],
    python_requires=">=3.9",
    install_requires=["numpy"],
    extras_require={
        "opencl": ["pyopencl"],
        "testing": ["pytest", "pytest-xdist", "hypothesis", "safetensors"],
        "plot": ["matplotlib"],
    },
)
