"""The loop the classifier examples share: command-line options, minibatch training with progress lines, test
accuracy, and the TARGET_ACC check (exit status 1 when the test accuracy falls short of it)."""
import argparse
import os
import sys
import time
from pathlib import Path
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing minigrad
from minigrad import Device, Tensor  # noqa: E402
from minigrad.nn import optim, state  # noqa: E402


def parse_args(description, steps=None, epochs=None, batch_size=64, lr=3e-3):
    """Options every example takes; --device also becomes the default device, so the model is created there."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", default=Device.DEFAULT, help="NUMPY (default) or CL")
    parser.add_argument("--steps", type=int, default=steps, help="training steps in all (overrides --epochs)")
    if epochs is not None: parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--lr", type=float, default=lr)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    Device.DEFAULT = Device.canonicalize(args.device)
    Tensor.manual_seed(args.seed)
    return args


def shuffled_batches(count, batch_size, rng):
    """Indices of batch_size examples at a time, epoch after epoch, each epoch in a new random order."""
    while True:
        order = rng.permutation(count)
        for start in range(0, count - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


def accuracy(model, images, labels, batch_size=1000):
    """Fraction of images whose largest logit is the label, computed in batches without recording a graph."""
    correct = 0
    with Tensor.no_grad():
        for start in range(0, len(images), batch_size):
            predictions = model(Tensor(images[start:start + batch_size])).argmax(-1).numpy()
            correct += int((predictions == labels[start:start + batch_size]).sum())
    return correct / len(images)


def train_classifier(model, data, args):
    """Train with Adam on cross-entropy, print progress and the test accuracy, and enforce TARGET_ACC."""
    x_train, y_train, x_test, y_test = data
    optimizer = optim.Adam(state.get_parameters(model), lr=args.lr)
    steps_per_epoch = len(x_train) // args.batch_size
    total_steps = args.steps if args.steps is not None else steps_per_epoch * args.epochs
    print(f"{len(x_train)} training and {len(x_test)} test images on {Device.DEFAULT}")
    batches = shuffled_batches(len(x_train), args.batch_size, np.random.default_rng(args.seed))
    start = time.perf_counter()
    for step, batch in zip(range(1, total_steps + 1), batches):
        images, labels = Tensor(x_train[batch]), Tensor(y_train[batch])
        logits = model(images)
        loss = logits.cross_entropy(labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step == 1 or step % args.log_every == 0 or step == total_steps:
            batch_accuracy = (logits.argmax(-1) == labels).float().mean().item()
            print(f"step {step:5d}/{total_steps}  loss {loss.item():.4f}  batch accuracy {batch_accuracy:.3f}"
                  f"  {time.perf_counter() - start:6.1f} s", flush=True)
    test_accuracy = accuracy(model, x_test, y_test)
    print(f"test accuracy {test_accuracy:.4f} ({len(x_test)} images) after {total_steps} steps "
          f"({total_steps / steps_per_epoch:.2f} epochs), {time.perf_counter() - start:.1f} s")
    target = float(os.environ.get("TARGET_ACC", 0))
    if test_accuracy < target:
        sys.exit(f"test accuracy {test_accuracy:.4f} is below TARGET_ACC={target}")
