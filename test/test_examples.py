"""The examples train offline: each runs for a few steps as `python examples/NAME.py` and must learn (its loss falls
and its test accuracy beats chance); a missed TARGET_ACC and missing Fashion-MNIST files give a non-zero exit."""
import os
import re
import subprocess
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "examples"))
from datasets import fashion_mnist_dir  # noqa: E402


def run_example(name, *args, **env):
    environment = {key: value for key, value in os.environ.items() if key != "TARGET_ACC"}
    environment.update(env)
    return subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), "--device", "NUMPY", *args],
                          capture_output=True, text=True, env=environment, timeout=120)


def assert_learns(result, min_accuracy):
    assert result.returncode == 0, result.stderr
    losses = [float(loss) for loss in re.findall(r"loss (\d+\.\d+)", result.stdout)]
    accuracy = float(re.search(r"test accuracy (\d\.\d+)", result.stdout).group(1))
    assert len(losses) >= 3 and losses[-1] < 0.8 * losses[0], result.stdout
    assert accuracy > min_accuracy, result.stdout


def test_mlp_digits_learns():
    assert_learns(run_example("mlp_digits", "--steps", "60", "--log-every", "20"), min_accuracy=0.5)


def test_cnn_digits_learns():
    assert_learns(run_example("cnn_digits", "--steps", "40", "--log-every", "20"), min_accuracy=0.3)


@pytest.mark.skipif(fashion_mnist_dir() is None, reason="Fashion-MNIST files absent (apt-get install dataset-fashion-mnist)")
def test_mlp_fashion_learns():
    assert_learns(run_example("mlp_fashion", "--steps", "60", "--log-every", "20"), min_accuracy=0.3)


def test_missed_target_accuracy_exits_non_zero():
    result = run_example("mlp_digits", "--steps", "1", TARGET_ACC="0.99")
    assert result.returncode != 0 and "TARGET_ACC" in result.stderr


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    result = run_example("mlp_fashion", "--steps", "1", FASHION_MNIST_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "apt-get install dataset-fashion-mnist" in result.stderr and "FASHION_MNIST_DIR" in result.stderr
