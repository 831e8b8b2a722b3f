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


# ---- the language-model examples: char_gpt trains once (the fixture) and kl_finetune fine-tunes what it saved
@pytest.fixture(scope="module")
def trained_char_gpt(tmp_path_factory):
    weights = tmp_path_factory.mktemp("char_gpt") / "char_gpt.safetensors"
    result = run_example("char_gpt", "--steps", "30", "--eval-every", "10", "--sample-chars", "20", "--save", str(weights))
    return result, weights


def test_char_gpt_validation_loss_falls(trained_char_gpt):
    result, weights = trained_char_gpt
    assert result.returncode == 0, result.stderr
    losses = [float(loss) for loss in re.findall(r"val loss (\d+\.\d+)", result.stdout)][:-1]  # the last is the summary
    assert len(losses) == 4, result.stdout
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), result.stdout
    assert losses[0] > 4.4 and losses[-1] < 3.3, result.stdout  # from log(96) = 4.56 (uniform) to well below it
    assert "sample:" in result.stdout and weights.exists()


def test_char_gpt_jit_trains_as_the_plain_step():
    """TinyJit replays are bit-for-bit the plain step, so the printed losses agree to every digit."""
    plain, jitted = [run_example("char_gpt", "--steps", "6", "--eval-every", "3", "--sample-chars", "0", flag)
                     for flag in ("--no-jit", "--jit")]
    assert plain.returncode == 0 and jitted.returncode == 0, plain.stderr + jitted.stderr
    losses = [re.findall(r"val loss (\d+\.\d+)", result.stdout) for result in (plain, jitted)]
    assert len(losses[0]) == 4 and losses[0] == losses[1], (plain.stdout, jitted.stdout)


def test_kl_finetune_orders_kl_by_beta_and_estimators_agree(trained_char_gpt):
    """beta = 0 drifts furthest from the reference and beta = 1 stays nearest; k1 and k3, estimated from sampled
    tokens, agree with the exact KL (a sum over the vocabulary) within 4 standard errors."""
    result = run_example("kl_finetune", "--load", str(trained_char_gpt[1]), "--steps", "8", "--betas", "0", "0.1", "1",
                         "--lr", "4e-3", "--log-every", "4")
    assert result.returncode == 0, result.stderr
    number, spread = r"(-?\d+(?:\.\d+)?)", r"(-?\d+\.\d+) \+- (\d+\.\d+)"
    rows = re.findall(rf"^\s*{number}\s+{number}\s+{number}\s+{spread}\s+{spread}\s*$", result.stdout, re.M)
    summary = {float(row[0]): [float(value) for value in row[1:]] for row in rows}
    assert sorted(summary) == [0.0, 0.1, 1.0], result.stdout
    kl = {beta: values[1] for beta, values in summary.items()}
    assert kl[0.0] > kl[0.1] > kl[1.0] > 0, result.stdout
    assert summary[0.0][0] > summary[1.0][0], result.stdout  # beta = 0 also earns more reward
    for beta, (reward, exact, k1, k1_error, k3, k3_error) in summary.items():
        assert abs(k1 - exact) < 4 * k1_error and abs(k3 - exact) < 4 * k3_error, (beta, result.stdout)
