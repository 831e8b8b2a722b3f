"""Train a small convolutional network on the 8x8 handwritten digits (examples/data/digits.csv.gz), offline.

  python examples/cnn_digits.py [--device NUMPY|CL] [--steps 600] [--batch-size 64] [--lr 0.003]

Prints the loss and accuracy on the current batch every --log-every steps, then the accuracy on the held-out 20%.
With TARGET_ACC set (e.g. TARGET_ACC=0.97), exits with status 1 when the test accuracy falls short of it.
"""
from training import parse_args, train_classifier
from datasets import load_digits
from minigrad import Tensor, nn


class CNN:
    """(N, 8, 8) -> conv 3x3, 16 channels -> max-pool -> (N, 16, 4, 4) -> conv 3x3, 32 channels -> max-pool
    -> (N, 32, 2, 2) -> linear -> 10 logits."""
    def __init__(self):
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def __call__(self, images: Tensor) -> Tensor:
        x = self.conv1(images.unsqueeze(1)).relu().max_pool2d(2)
        x = self.conv2(x).relu().max_pool2d(2)
        return self.fc(x.flatten(1))


if __name__ == "__main__":
    args = parse_args(__doc__.splitlines()[0], steps=600)
    train_classifier(CNN(), load_digits(seed=args.seed), args)
