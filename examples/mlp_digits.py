"""Train a two-layer perceptron on the 8x8 handwritten digits (examples/data/digits.csv.gz), offline.

  python examples/mlp_digits.py [--device NUMPY|CL] [--steps 1000] [--batch-size 64] [--lr 0.003]

Prints the loss and accuracy on the current batch every --log-every steps, then the accuracy on the held-out 20%.
With TARGET_ACC set (e.g. TARGET_ACC=0.95), exits with status 1 when the test accuracy falls short of it.
"""
import argparse
import os
import sys
import time
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing minigrad
from minigrad import Device, Tensor, nn  # noqa: E402
from minigrad.nn import optim, state  # noqa: E402
from datasets import load_digits  # noqa: E402


class MLP:
    def __init__(self, hidden=128):
        self.l1 = nn.Linear(64, hidden)
        self.l2 = nn.Linear(hidden, 10)

    def __call__(self, images: Tensor) -> Tensor:
        return self.l2(self.l1(images.flatten(1)).relu())


def accuracy(model, images, labels, batch_size=1000):
    """Fraction of images whose largest logit is the label, computed in batches without recording a graph."""
    correct = 0
    with Tensor.no_grad():
        for start in range(0, len(images), batch_size):
            predictions = model(Tensor(images[start:start + batch_size])).argmax(-1).numpy()
            correct += int((predictions == labels[start:start + batch_size]).sum())
    return correct / len(images)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=Device.DEFAULT, help="NUMPY (default) or CL")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    Device.DEFAULT = Device.canonicalize(args.device)  # parameters and inputs are created there
    Tensor.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    x_train, y_train, x_test, y_test = load_digits(seed=args.seed)
    model = MLP()
    optimizer = optim.Adam(state.get_parameters(model), lr=args.lr)
    print(f"{len(x_train)} training and {len(x_test)} test images on {Device.DEFAULT}")

    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        batch = rng.integers(0, len(x_train), args.batch_size)
        images, labels = Tensor(x_train[batch]), Tensor(y_train[batch])
        logits = model(images)
        loss = logits.cross_entropy(labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step == 1 or step % args.log_every == 0 or step == args.steps:
            batch_accuracy = (logits.argmax(-1) == labels).float().mean().item()
            print(f"step {step:5d}/{args.steps}  loss {loss.item():.4f}  batch accuracy {batch_accuracy:.3f}"
                  f"  {time.perf_counter() - start:6.1f} s", flush=True)

    test_accuracy = accuracy(model, x_test, y_test)
    print(f"test accuracy {test_accuracy:.4f} ({len(x_test)} images) after {args.steps} steps, "
          f"{time.perf_counter() - start:.1f} s")
    target = float(os.environ.get("TARGET_ACC", 0))
    if test_accuracy < target:
        sys.exit(f"test accuracy {test_accuracy:.4f} is below TARGET_ACC={target}")


if __name__ == "__main__":
    main()
