"""Train a two-layer perceptron on the 8x8 handwritten digits (examples/data/digits.csv.gz), offline.

  python examples/mlp_digits.py [--device NUMPY|CL] [--steps 1000] [--batch-size 64] [--lr 0.003]

Prints the loss and accuracy on the current batch every --log-every steps, then the accuracy on the held-out 20%.
With TARGET_ACC set (e.g. TARGET_ACC=0.95), exits with status 1 when the test accuracy falls short of it.
"""
from training import parse_args, train_classifier
from datasets import load_digits
from minigrad import Tensor, nn


class MLP:
    def __init__(self, hidden=128):
        self.l1 = nn.Linear(64, hidden)
        self.l2 = nn.Linear(hidden, 10)

    def __call__(self, images: Tensor) -> Tensor:
        return self.l2(self.l1(images.flatten(1)).relu())


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], steps=1000)
    train_classifier(MLP(), load_digits(seed=args.seed), args)
