"""The line budget: minigrad/ stays small and its lines stay short.

A line counts when it holds (part of) a code token. Blank lines, comment-only lines and docstrings do not.
Run as a script to print the per-file table: `python test/test_linecount.py [folder]`.
"""
import ast, io, sys, tokenize
from pathlib import Path

MAX_CODE_LINES = 1750
MAX_LINE_LENGTH = 150
PACKAGE_DIR = Path(__file__).resolve().parent.parent / "minigrad"
NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}


def docstring_spans(source):
    """(start, end) positions, as (line, column), of every module, class and function docstring."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) or not node.body:
            continue
        first = node.body[0]
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
            spans.append(((first.lineno, first.col_offset), (first.end_lineno, first.end_col_offset)))
    return spans


def code_line_numbers(source):
    """Numbers of the lines that hold a code token; a token spanning several lines counts on each of them."""
    docstrings = docstring_spans(source)
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in NOT_CODE or any(start <= token.start < end for start, end in docstrings):
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def count_code_lines(source):
    return len(code_line_numbers(source))


def python_files(folder=PACKAGE_DIR):
    return sorted(Path(folder).rglob("*.py"))


def per_file_counts(folder=PACKAGE_DIR):
    """{path relative to folder's parent: code lines} for every .py file under folder."""
    folder = Path(folder)
    return {str(path.relative_to(folder.parent)): count_code_lines(path.read_text(encoding="utf-8"))
            for path in python_files(folder)}


def table(counts):
    width = max([len(name) for name in counts] + [5])
    rows = [f"{name:<{width}} {count:>5}" for name, count in counts.items()]
    return "\n".join(rows + ["-" * (width + 6), f"{'total':<{width}} {sum(counts.values()):>5}"])


def test_counter_skips_docstrings_comments_and_blank_lines():
    sample = '''"""Module docstring,
spread over two lines."""
# a comment on its own line

def add_one(x):
  """Function docstring."""
  return x + 1  # a trailing comment does not hide the code
print(add_one(2))
'''
    assert sorted(code_line_numbers(sample)) == [5, 7, 8]


def test_counter_counts_every_line_of_a_multiline_string_value():
    sample = '''class Kernel:
  """Class docstring."""
  TEMPLATE = """a string that is a value, not a docstring,
counts on every line it spans"""
'''
    assert sorted(code_line_numbers(sample)) == [1, 3, 4]


def test_code_lines_within_budget():
    counts = per_file_counts()
    assert counts, f"no .py files found under {PACKAGE_DIR}"
    print("\n" + table(counts))
    total = sum(counts.values())
    assert total <= MAX_CODE_LINES, f"{total} code lines in minigrad/, budget is {MAX_CODE_LINES}:\n{table(counts)}"


def test_no_line_too_long():
    too_long = []
    for path in python_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if len(line) > MAX_LINE_LENGTH:
                too_long.append(f"{path.relative_to(PACKAGE_DIR.parent)}:{number} ({len(line)} chars)")
    assert not too_long, f"lines over {MAX_LINE_LENGTH} characters:\n" + "\n".join(too_long)


if __name__ == "__main__":
    print(table(per_file_counts(sys.argv[1] if len(sys.argv) > 1 else PACKAGE_DIR)))
