"""Datasets for the examples, read from local files only: nothing is downloaded.

- digits: the 8x8 handwritten digits committed in examples/data/digits.csv.gz (see examples/data/README.md).
- Fashion-MNIST: the gzip'd IDX files that Debian's `dataset-fashion-mnist` package installs in
  /usr/share/datasets/fashion-mnist, or those in the folder named by the environment variable FASHION_MNIST_DIR.
"""
import gzip
import os
import sys
from pathlib import Path
import numpy as np

DIGITS_CSV = Path(__file__).resolve().parent / "data" / "digits.csv.gz"
FASHION_MNIST_DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                       "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def load_digits(test_fraction=0.2, seed=0):
    """The 1,797 digits as (x_train, y_train, x_test, y_test): float32 images of shape (N, 8, 8) scaled to [0, 1] and
    int32 labels. The rows are shuffled with `seed`, then the last `test_fraction` of them is the test set."""
    table = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.int64)
    table = table[np.random.default_rng(seed).permutation(len(table))]
    images = (table[:, :64] / 16.0).astype(np.float32).reshape(-1, 8, 8)
    labels = table[:, 64].astype(np.int32)
    n_test = round(len(table) * test_fraction)
    return images[:-n_test], labels[:-n_test], images[-n_test:], labels[-n_test:]


def read_idx(path):
    """An array from a gzip'd IDX file (the MNIST format): a 4-byte magic number whose third byte is the element
    type (0x08: unsigned byte) and fourth the number of dims, one big-endian uint32 per dim, then the data."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    if data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist_dir():
    """The folder holding the four Fashion-MNIST files, or None when they are not all there."""
    folder = Path(os.environ.get("FASHION_MNIST_DIR", FASHION_MNIST_DEFAULT_DIR))
    return folder if all((folder / name).is_file() for name in FASHION_MNIST_FILES) else None


def load_fashion_mnist():
    """(x_train, y_train, x_test, y_test): 60,000 + 10,000 float32 images of shape (N, 28, 28) scaled to [0, 1] and
    int32 labels. Exits with instructions when the files are missing."""
    folder = fashion_mnist_dir()
    if folder is None:
        where = os.environ.get("FASHION_MNIST_DIR", FASHION_MNIST_DEFAULT_DIR)
        sys.exit(f"Fashion-MNIST not found in {where}: it needs {', '.join(FASHION_MNIST_FILES)}.\n"
                 "Install Debian's package with `sudo apt-get install dataset-fashion-mnist` (it puts them in "
                 f"{FASHION_MNIST_DEFAULT_DIR}), or set FASHION_MNIST_DIR to a folder that holds these four files.")
    images = [read_idx(folder / name).astype(np.float32) / 255.0 for name in FASHION_MNIST_FILES[0::2]]
    labels = [read_idx(folder / name).astype(np.int32) for name in FASHION_MNIST_FILES[1::2]]
    return images[0], labels[0], images[1], labels[1]
