"""The README's Python snippets run as written (loops shortened), so what a newcomer copies works."""
import re
from pathlib import Path
import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SNIPPETS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_the_readme_has_snippets():
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("number", range(len(SNIPPETS)))
def test_readme_snippet_runs(number):
    exec(compile(SNIPPETS[number].replace("range(1000)", "range(4)"), f"README snippet {number}", "exec"), {})
