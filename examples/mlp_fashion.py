"""Train a two-layer perceptron on Fashion-MNIST, read from local files (see examples/datasets.py), offline.

  python examples/mlp_fashion.py [--device NUMPY|CL] [--epochs 2] [--steps N] [--batch-size 128] [--lr 0.001]

Prints the loss and accuracy on the current batch every --log-every steps, then the accuracy on the 10,000 test
images. --steps stops early, after N steps in all (for quick checks).
With TARGET_ACC set (e.g. TARGET_ACC=0.84), exits with status 1 when the test accuracy falls short of it.
"""
from training import parse_args, train_classifier
from datasets import load_fashion_mnist
from minigrad import Tensor, nn


class MLP:
    def __init__(self, hidden=256):
        self.l1 = nn.Linear(28 * 28, hidden)
        self.l2 = nn.Linear(hidden, 10)

    def __call__(self, images: Tensor) -> Tensor:
        return self.l2(self.l1(images.flatten(1)).relu())


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], epochs=2, batch_size=128, lr=1e-3)
    train_classifier(MLP(), load_fashion_mnist(), args)
