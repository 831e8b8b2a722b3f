"""Mutation check: plant one realistic bug at a time in a copy of the working tree and run the fast NUMPY-only suite.
A mutant the suite still passes is a survivor: a rule that no test guards (or a change that alters nothing, which is
then listed as equivalent with the reason). Not a test module: pytest does not collect it, and CI does not run it.

    .venv/bin/python test/mutation_check.py                 # the curated mutants and 40 sampled operator mutants
    .venv/bin/python test/mutation_check.py --sample 80 --seed 3 --curated 0
    .venv/bin/python test/mutation_check.py --list          # print the mutants, run nothing
    .venv/bin/python test/mutation_check.py --only schedule  # mutants whose name contains "schedule"

The tree is copied to a temporary folder (the working tree itself is never touched). Tests that already fail on the
unmutated copy are deselected, so only a failure that the mutant causes kills it.
"""
import argparse, ast, difflib, io, os, random, re, shutil, subprocess, sys, tempfile, time, tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGETS = ["minigrad/schedule.py", "minigrad/shapetracker.py", "minigrad/function.py", "minigrad/backend_numpy.py", "minigrad/tensor.py"]
# in tensor.py only the reductions (and the ops whose ties and precision the suite promises) are mutated
TENSOR_FUNCTIONS = {"_reduce", "sum", "max", "min", "mean", "var", "std", "logsumexp", "prod", "argmax", "argmin", "softmax",
                                        "log_softmax", "cross_entropy", "maximum", "minimum", "cumsum", "_accumulating", "_peak", "_count",
                    "_first_index_of"}
# test files run first are the likeliest to kill quickly (pytest -x stops at the first failure)
TEST_ORDER = ["test/test_schedule_rules.py", "test/test_ties.py", "test/test_precision.py", "test/test_fusion.py", "test/test_ops.py",
                            "test/test_autograd.py", "test/test_cross_entropy.py", "test/test_divergence.py"]
SKIPPED_TESTS = ["test/test_examples.py", "test/test_linecount.py", "test/test_state.py"]  # slow, or blind to these files

# (name, file, exact source text, its mutated form): realistic slips of the kind a change to these files could make
CURATED = [
    # schedule.py: each fusion rule dropped or bent
    ("schedule: inline a base read through two views", "minigrad/schedule.py",
        "len(consumers[src.base]) > 1 or len(views[src.base]) > 1\n", "len(consumers[src.base]) > 1\n"),
    ("schedule: inline a base with several consumers", "minigrad/schedule.py",
        "or len(consumers[src.base]) > 1 or len(views[src.base])", "or len(views[src.base])"),
    ("schedule: inline through an expand", "minigrad/schedule.py", "else src.st.expands\n", "else False\n"),
    ("schedule: a reduce read in any order joins its consumer", "minigrad/schedule.py",
        "costly_read = not _same_order(src.st, src.base) if", "costly_read = src.st.expands if"),
    ("schedule: contiguous() gets no memory", "minigrad/schedule.py",
        "    if base.op is UnaryOps.NOOP: realize.add(base)  # contiguous() asks for memory\n", ""),
    ("schedule: two reduces in one kernel", "minigrad/schedule.py", " or (has_reduce[src.base] and reduce_seen)", ""),
    ("schedule: CHEAP_OPS boundary < instead of <=", "minigrad/schedule.py", "cost[base] <= CHEAP_OPS", "cost[base] < CHEAP_OPS"),
    ("schedule: CHEAP_OPS raised", "minigrad/schedule.py", "CHEAP_OPS = 8", "CHEAP_OPS = 80"),
    ("schedule: cost off by one", "minigrad/schedule.py", "cost[base] = min(CHEAP_OPS + 1, 1 + sum(", "cost[base] = min(CHEAP_OPS + 1, sum("),
    ("schedule: cost ignores the stored sources that are recomputed", "minigrad/schedule.py",
        " if src.base not in realize or not has_reduce[src.base]))", " if src.base not in realize))"),
    ("schedule: cheap base recomputed inside a reduce through an expand", "minigrad/schedule.py",
        " and not (expands and any(has_reduce[k] for k in kernels))", ""),
    ("schedule: no cheap recompute", "minigrad/schedule.py", "      if once or cheap: realize.discard(base)", "      if once: realize.discard(base)"),
    ("schedule: shared-once through an expand", "minigrad/schedule.py", "len(views[base]) == 1 and not expands", "len(views[base]) == 1"),
    ("schedule: shared-once across kernels", "minigrad/schedule.py", "once = len(kernels) == 1 and", "once = len(kernels) >= 1 and"),
    ("schedule: no exceptions undone", "minigrad/schedule.py",
        "      if once or cheap: realize.discard(base)  # computed where each reader needs it\n", ""),
    ("schedule: padding not wrapped in where(valid, value, 0)", "minigrad/schedule.py",
        "if st.masked:  # computed through padding", "if False:  # computed through padding"),
    ("schedule: same order ignores the size", "minigrad/schedule.py",
        "return st is base.st or (st.contiguous and math.prod(st.shape) == math.prod(base.shape))", "return st is base.st or st.contiguous"),
    ("schedule: offset argument dropped", "minigrad/schedule.py", "st, slot(object(), first.offset))", "st, None)"),
    ("schedule: offsets stay in the kernel", "minigrad/schedule.py",
        "    st = ShapeTracker((View(first.shape, first.strides, 0, first.mask),) + st.views[1:])\n", ""),
    ("schedule: an offset of 0 stays in the kernel", "minigrad/schedule.py", "st, slot(object(), first.offset))",
        "st, slot(object(), first.offset) if first.offset else None)"),
    ("schedule: constants share a slot by dtype only", "minigrad/schedule.py", "slot((source, dtype), source)", "slot(dtype, source)"),
    ("schedule: shared-once whatever order its readers are read in", "minigrad/schedule.py",
        "and not expands and all(plain[c] for c in readers)", "and not expands"),
    ("schedule: read in its own order whatever its views", "minigrad/schedule.py",
        " and all(_same_order(view.st, base) for view in views[base])", ""),
    ("schedule cache: leaves not told apart", "minigrad/schedule.py", "leaves.setdefault(b, len(leaves))", "leaves.setdefault(b, 0)"),
    ("schedule cache: views left out of the key", "minigrad/schedule.py",
        "tuple((ref(s.base), s.st) for s in b.srcs)", "tuple(ref(s.base) for s in b.srcs)"),
    ("schedule cache: outputs left out of the key", "minigrad/schedule.py", ", tuple(map(ref, outs)))", ")"),
    ("lazy: constants found by value (-0.0 finds 0.0)", "minigrad/lazy.py",
        "  return LazyBuffer(device, ShapeTracker.from_shape((1,) * len(shape)), dtype, LoadOps.CONST, arg=value)",
        "  return _node(device, ShapeTracker.from_shape((1,) * len(shape)), dtype, LoadOps.CONST, arg=value)"),
    ("schedule: reduce flops counted per output", "minigrad/schedule.py",
        "math.prod(kernel.ops[op.srcs[0]].shape) if op.op in (ReduceOps.SUM, ReduceOps.MAX) else math.prod(op.shape)",
        "math.prod(op.shape)"),
    # shapetracker.py: masks, bounds and strides
    ("shapetracker: a padded view expands in place (its padding repeated, not kept)", "minigrad/shapetracker.py",
        "if self.views[-1].mask and not self.all_padding:", "if False:"),
    ("shapetracker: a padded size-1 dim counts as an expand", "minigrad/shapetracker.py",
        "st == 0 and hi - lo > 1 for v", "st == 0 and hi - lo >= 1 for v"),
    ("shapetracker: masked looks at the last view only", "minigrad/shapetracker.py",
        "def masked(self): return any(v.mask is not None for v in self.views)", "def masked(self): return self.views[-1].mask is not None"),
    ("shapetracker: shrink clips the mask end with max", "minigrad/shapetracker.py",
        "(max(lo, s) - s, min(hi, e) - s)", "(max(lo, s) - s, max(hi, e) - s)"),
    ("tensor: pad swaps before and after", "minigrad/tensor.py",
        "((-before, size + after) for (before, after), size", "((-after, size + before) for (before, after), size"),
    ("shapetracker: shrink moves the offset by the end", "minigrad/shapetracker.py",
        "offset = self.offset + sum(start * st for (start, _), st in zip(bounds, self.strides))",
        "offset = self.offset + sum(end * st for (_, end), st in zip(bounds, self.strides))"),
    ("shapetracker: flip keeps the mask unflipped", "minigrad/shapetracker.py", "(n - e, n - s) if i in axes else (s, e) for", "(s, e) for"),
    ("shapetracker: flip offset off by one", "minigrad/shapetracker.py",
        "sum((self.shape[i] - 1) * self.strides[i]", "sum(self.shape[i] * self.strides[i]"),
    ("shapetracker: reshape of all padding through the general path", "minigrad/shapetracker.py",
        "    if self.all_padding:  # reads nothing", "    if False:  # reads nothing"),
    ("shapetracker: reshape splits a masked dim mid-row", "minigrad/shapetracker.py",
        " or lo * old_row % new_row or hi * old_row % new_row: return None", ": return None"),
    ("shapetracker: reshape merges dims that are not adjacent in memory", "minigrad/shapetracker.py",
        "      if any(old[k][1] != old[k + 1][0] * old[k + 1][1] for k in range(oi, oj - 1)): return None\n", ""),
    ("shapetracker: size-1 dims get a real stride", "minigrad/shapetracker.py",
        "prod(shape[i + 1:]) if size != 1 else 0 for", "prod(shape[i + 1:]) for"),
    # function.py: derivatives
    ("function: maximum ties give all to x", "minigrad/function.py", "WHERE, grad.const_like(0.5)", "WHERE, grad.const_like(1.0)"),
    ("function: maximum compares the wrong way", "minigrad/function.py",
        "larger = self.y.e(BinaryOps.CMPLT, self.x)", "larger = self.x.e(BinaryOps.CMPLT, self.y)"),
    ("function: max gradient not split between ties", "minigrad/function.py",
        "is_max.e(BinaryOps.MUL, grad.e(BinaryOps.DIV, is_max.r(ReduceOps.SUM, self.axes)).expand(self.x.shape))",
        "is_max.e(BinaryOps.MUL, grad.expand(self.x.shape))"),
    ("function: sqrt gradient misses the 2", "minigrad/function.py",
        "grad.e(BinaryOps.DIV, self.ret.e(BinaryOps.ADD, self.ret))", "grad.e(BinaryOps.DIV, self.ret)"),
    ("function: sin gradient with the phase reversed", "minigrad/function.py",
        "self.x.const_like(math.pi / 2).e(BinaryOps.SUB, self.x)", "self.x.e(BinaryOps.SUB, self.x.const_like(math.pi / 2))"),
    ("function: division gradient keeps its sign", "minigrad/function.py",
        ".e(BinaryOps.DIV, self.y.e(BinaryOps.MUL, self.y)).e(UnaryOps.NEG)", ".e(BinaryOps.DIV, self.y.e(BinaryOps.MUL, self.y))"),
    ("function: expand gradient takes the max", "minigrad/function.py",
        "return grad.r(ReduceOps.SUM, tuple(i for i, (before, after)", "return grad.r(ReduceOps.MAX, tuple(i for i, (before, after)"),
    ("function: pad gradient bounds off by the pad", "minigrad/function.py",
        "tuple((-start, size - start) for", "tuple((-start, size) for"),
    ("function: cast gradient not cast back", "minigrad/function.py",
        "def backward(self, grad): return grad.e(UnaryOps.CAST, arg=self.x.dtype)", "def backward(self, grad): return grad"),
    ("function: sigmoid gradient with 1 + s", "minigrad/function.py",
        "self.ret.const_like(1).e(BinaryOps.SUB, self.ret)", "self.ret.const_like(1).e(BinaryOps.ADD, self.ret)"),
    # tensor.py: reductions
    ("tensor: float16 sum in float16", "minigrad/tensor.py",
        "    if self.dtype == dtypes.float16: return self.float().sum(axis, keepdim).half()\n", ""),
    ("tensor: float16 means and variances in float16", "minigrad/tensor.py",
        "(self if self.dtype in (dtypes.float32, dtypes.float64) else self.float())", "(self if self.dtype.is_float else self.float())"),
    ("tensor: var ignores the correction", "minigrad/tensor.py", "max(self._count(axis) - correction, 0)", "max(self._count(axis), 0)"),
    ("tensor: argmax returns the last tie", "minigrad/tensor.py",
        "return x.shape[axis] - (hit * (x.shape[axis] - x._positions(axis))).max(axis, keepdim)",
        "return (hit * x._positions(axis)).max(axis, keepdim)"),
    ("tensor: argmax off by one", "minigrad/tensor.py",
        "return x.shape[axis] - (hit * (x.shape[axis] - x._positions(axis))).max(axis, keepdim)",
        "return x.shape[axis] - 1 - (hit * (x.shape[axis] - x._positions(axis))).max(axis, keepdim)"),
    ("tensor: argmax ignores NaN", "minigrad/tensor.py", ".where(True, x != x)", ".where(True, False)"),
    ("tensor: logsumexp of infinite peaks unguarded", "minigrad/tensor.py", "    peak = ((peak - peak) == 0).where(peak, 0)", "    pass"),
    ("tensor: softmax without its max shift", "minigrad/tensor.py", "exps = (self - self._peak(axis)).exp()", "exps = self.exp()"),
    ("tensor: log_softmax without its max shift", "minigrad/tensor.py", "shifted = self - self._peak(axis)\n", "shifted = self\n"),
    ("tensor: cross-entropy mean counts ignored samples", "minigrad/tensor.py", "loss = loss / counted.sum()", "loss = loss / per_sample.numel()"),
    ("tensor: cross-entropy without 0 * log 0 = 0", "minigrad/tensor.py", "log_q = (probs == 0).where(logits == -math.inf, False).where(0, shifted)",
        "log_q = shifted"),
    ("tensor: cross-entropy counts ignored samples", "minigrad/tensor.py", "counted = target != ignore_index", "counted = target == target"),
    ("tensor: prod pads with 0", "minigrad/tensor.py", "- x.shape[-1], value=1)  # ones up to", "- x.shape[-1], value=0)  # ones up to"),
    # backend_numpy.py: accumulation, NaN, masks, offsets
    ("numpy: float32 sums accumulate in float32", "minigrad/backend_numpy.py",
        "accumulator = np.float64 if dtype in (np.float32, np.float16)", "accumulator = np.float64 if dtype in (np.float16,)"),
    ("numpy: dots in float32 BLAS", "minigrad/backend_numpy.py",
        "if left.dtype == np.float32 and not (rows and cols):", "if False:"),
    ("numpy: maximum drops NaN", "minigrad/backend_numpy.py", "BinaryOps.MAX: np.maximum", "BinaryOps.MAX: np.fmax"),
    ("numpy: max reduce drops NaN", "minigrad/backend_numpy.py",
        "return lambda values, inputs, args: values[srcs[0]].max(axis=op.arg, keepdims=True)",
        "return lambda values, inputs, args: np.nanmax(values[srcs[0]], axis=op.arg, keepdims=True)"),
    ("numpy: masked constants ignore the mask", "minigrad/backend_numpy.py",
        "return lambda values, inputs, args: load(np.array((args[op.arg.slot],), dtype), op.arg.st)",
        "return lambda values, inputs, args: np.broadcast_to(np.asarray(args[op.arg.slot], dtype), op.shape)"),
    ("numpy: offset argument ignored", "minigrad/backend_numpy.py",
        "load(inputs[op.arg.index], op.arg.st, 0 if op.arg.offset_slot is None else args[op.arg.offset_slot], pad)", "load(inputs[op.arg.index], op.arg.st, 0, pad)"),
    ("numpy: the cat shortcut takes a sum that reads a value twice", "minigrad/backend_numpy.py", "  if tree and all(", "  if all("),
    ("numpy: an op writes over a value that a reshape still reads", "minigrad/backend_numpy.py",
        "writable = by_ufunc - {s for i, op in enumerate(ops) if i not in by_ufunc for s in op.srcs}", "writable = by_ufunc"),
    ("numpy: an op writes over a value of another dtype", "minigrad/backend_numpy.py",
        " and (ops[s].dtype, ops[s].shape) == (ops[i].dtype, ops[i].shape)", ""),
    ("numpy: view start ignores the mask's start", "minigrad/backend_numpy.py",
        "start = view.offset + offset + sum(lo * stride for (lo, _), stride in zip(mask, view.strides))", "start = view.offset + offset"),
    # gathers: the pick, its gradient and the views it reads
    ("gather: every element gets the gradient", "minigrad/function.py",
        "return self.others[1].expand(self.x.shape).e(BinaryOps.MUL, grad.expand(self.x.shape)), None, None",
        "return grad.expand(self.x.shape), None, None"),
    ("gather: NUMPY picks the first element", "minigrad/backend_numpy.py",
        "np.take_along_axis(values[srcs[0]], values[srcs[1]], op.arg[0])", "np.take_along_axis(values[srcs[0]], 0 * values[srcs[1]], op.arg[0])"),
    ("gather: the gradient goes where nothing was picked", "minigrad/tensor.py",
        "hit = [(index == self._positions(axis))", "hit = [(index != self._positions(axis))"),
    ("gather: an index out of range reaches the kernel", "minigrad/tensor.py", "    return outside.where(low, self)", "    return self"),
    ("gather: class targets with smoothing picked without it", "minigrad/tensor.py",
        "    if target.dtype.is_float or label_smoothing:\n", "    if target.dtype.is_float:\n"),
    ("gather: a masked view expanded in place", "minigrad/shapetracker.py",
        "    if self.views[-1].mask and not self.all_padding: return ShapeTracker(", "    if False: return ShapeTracker("),
]

# mutants judged equivalent (no test can tell them apart), with the reason; they are listed, never run
EQUIVALENT = [
    ("gather: an index out of range stands in as the last row", "minigrad/tensor.py", "    return outside.where(low, self)",
        "    return outside.where(high - 1, self)",
        "the stand-in is read only by a computation whose check raises (or by a TinyJit replay, which checks nothing): any "
        "index in range keeps every kernel inside its buffer"),
    ("cumsum: the shifted copy padded after too", "minigrad/tensor.py", "tuple((shift, 0) if i == dim", "tuple((shift, 1) if i == dim",
        "the shrink that follows cuts the copy back to the tensor's shape, so what is padded after it is never read"),
    ("schedule cache: ops' arguments left out of the key", "minigrad/schedule.py", "(b.op, b.arg, b.dtype, b.shape,", "(b.op, b.dtype, b.shape,",
        "a base's argument is its reduce's axes or its cast's dtype, which its shape and dtype beside its source's already fix; "
        "the key keeps it so that an op whose argument is not fixed that way stays safe"),
    ("schedule: padded views not inlined (the old rule)", "minigrad/schedule.py",
        "else src.st.expands\n", "else src.st.expands or src.st.masked\n",
        "the second walk of _choose_kernels re-inlines it: a reduce-free base read by one kernel through one view that repeats nothing is "
        "always computed there (shared once), padded or not"),
    ("shapetracker: all padding when every range is empty, not any", "minigrad/shapetracker.py",
        "return self.mask is not None and any(lo >= hi for lo, hi in self.mask)",
        "return self.mask is not None and all(lo >= hi for lo, hi in self.mask)",
        "View.__new__ makes every range (0, 0) as soon as one is empty, and never keeps an empty mask (), so any == all"),
    ("shapetracker: an all-padding reshape given offset 1", "minigrad/shapetracker.py",
        "return View(tuple(new_shape), (0,) * len(new_shape), 0, ((0, 0),) * len(new_shape))",
        "return View(tuple(new_shape), (0,) * len(new_shape), 1, ((0, 0),) * len(new_shape))",
        "View.__new__ gives a view whose ranges are empty offset 0 and strides 0 whatever it is handed"),
    ("shapetracker: an all-padding reshape given ranges (1, 0)", "minigrad/shapetracker.py",
        "return View(tuple(new_shape), (0,) * len(new_shape), 0, ((0, 0),) * len(new_shape))",
        "return View(tuple(new_shape), (0,) * len(new_shape), 0, ((1, 0),) * len(new_shape))",
        "View.__new__ turns any empty range into (0, 0) for every dim"),
    ("cumsum: a 0-d tensor's size taken as 0", "minigrad/tensor.py", "size, shift = self.shape[dim] if self.ndim else 1, 1",
        "size, shift = self.shape[dim] if self.ndim else 0, 1", "the shifted adds run while shift (1) < size: not at all for 1 or 0"),
    ("all-padding views canonical with strides 1", "minigrad/shapetracker.py", "strides, offset, mask = (0,) * len(shape), 0,",
        "strides, offset, mask = (1,) * len(shape), 0,", "every op re-canonicalizes an all-padding view and lazy turns one into a "
        "constant before any kernel, so its strides and offset are never read"),
    ("contraction result copied", "minigrad/backend_numpy.py", "op.arg).astype(dtype, copy=False)", "op.arg).astype(dtype, copy=True)",
        "one more copy, same values"),
    ("reshape: merge groups while either shape has dims left", "minigrad/shapetracker.py", "while oi < len(old) and ni < len(new):",
        "while oi < len(old) or ni < len(new):", "the dims other than 1 of both shapes have the same product and are grouped until the "
        "products match, so both lists run out together (a shape with a 0 is canonical before it gets here)"),
    ("schedule: a base read by any plain reader counts as plain", "minigrad/schedule.py", "or all(plain[c] for c in readers) and",
        "or any(plain[c] for c in readers) and", "a base with two readers is shared, so it is inlined only when cheap, and then so is "
        "every non-reduce source below it: those are inlined by the cheap rule, or kept for an expand, whatever `once` says"),
    ("cross-entropy: log q of an impossible class set to 1", "minigrad/tensor.py", ".where(0, shifted)  # 0 * log 0", ".where(1, shifted)  # 0 * log 0",
        "the value is multiplied by a target probability of 0; only a probability target's own gradient at a class whose logit is -inf "
        "sees it, where the true derivative (-log q) is infinite and any finite value is a convention"),
    ("logsumexp: an infinite peak replaced by 1, not 0", "minigrad/tensor.py", "== 0).where(peak, 0)  # an infinite peak",
        "== 0).where(peak, 1)  # an infinite peak", "only a row whose max is infinite or NaN gets it, and its result is that "
        "infinity or NaN whatever finite number stands in for the peak; the peak is detached, so no gradient sees it"),
    ("contract: a size-2 broadcast dim counted as varying in a", "minigrad/backend_numpy.py", "(stride_a != 0 or size == 1, stride_b",
        "(stride_a != 0 or size == 2, stride_b", "the dim then joins the batch (or rows) of the matmul instead of being sliced "
        "away: it is computed twice with the same values, only slower"),
    ("contract: a size-1 dim not counted as varying in a", "minigrad/backend_numpy.py", "(stride_a != 0 or size == 1, stride_b",
        "(stride_a != 0 or size == 0, stride_b", "a size-1 dim lands in another group, where slicing it to one element or moving it "
        "changes nothing (an empty operand returned before)"),
    ("join: the output shaped like the first op", "minigrad/backend_numpy.py", "np.zeros(kernel.ops[-1].shape,", "np.zeros(kernel.ops[-0].shape,",
        "a join kernel holds only loads and adds, all in the output's shape"),
]

SWAPS = {"<": ["<=", ">"], "<=": ["<"], ">": [">="], ">=": [">"], "==": ["!="], "!=": ["=="], "+": ["-"], "-": ["+"],
                  "*": ["/"], "/": ["*"], "and": ["or"], "or": ["and"], "True": ["False"], "False": ["True"], "min": ["max"],
                  "max": ["min"], "any": ["all"], "all": ["any"], "not": [""], "is": ["is not"]}
OPERANDS = {tokenize.NAME, tokenize.NUMBER, tokenize.STRING}


def mutable_lines(path, source):
    """The line numbers a sampled operator mutant may touch: all of a file, or tensor.py's reductions."""
    if not path.endswith("tensor.py"): return None
    lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name in TENSOR_FUNCTIONS: lines.update(range(node.lineno, node.end_lineno + 1))
    return lines


def operator_mutants(path, source):
    """Every single-token swap (comparison, arithmetic, boolean, builtin, off-by-one in a number) that still parses."""
    allowed, lines = mutable_lines(path, source), source.splitlines(keepends=True)
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    in_fstring, mutants = 0, []
    for i, tok in enumerate(tokens):
        in_fstring += tok.type == getattr(tokenize, "FSTRING_START", -1)
        in_fstring -= tok.type == getattr(tokenize, "FSTRING_END", -1)
        (row, col), (end_row, end_col) = tok.start, tok.end
        if in_fstring or row != end_row or (allowed is not None and row not in allowed): continue
        previous = tokens[i - 1] if i else None
        if row > len(lines) or "maxsize=" in lines[row - 1] or "len(_plans)" in lines[row - 1]: continue  # cache sizes are never behaviour
        if tok.type == tokenize.NUMBER and re.fullmatch(r"\d+", tok.string):
            replacements = [str(int(tok.string) + 1)] + ([str(int(tok.string) - 1)] if tok.string != "0" else [])
        elif tok.type == tokenize.NUMBER and re.fullmatch(r"\d+\.\d*", tok.string): replacements = [repr(float(tok.string) * 2 or 1.0)]
        elif tok.string in ("+", "-") and not (previous and (previous.type in OPERANDS or previous.string in ")]")): continue  # unary
        elif tok.string in SWAPS and tok.type in (tokenize.OP, tokenize.NAME): replacements = SWAPS[tok.string]
        else: continue
        for new in replacements:
            line = lines[row - 1]
            mutated_line = line[:col] + new + line[end_col:]
            if new == "": mutated_line = line[:col] + line[end_col:].lstrip(" ")  # "not x" -> "x"
            mutated = "".join(lines[:row - 1]) + mutated_line + "".join(lines[row:])
            try: compile(mutated, path, "exec")
            except SyntaxError: continue
            mutants.append((f"{Path(path).stem}:{row}: {tok.string!r} -> {new!r}", path, line, mutated_line))
    return mutants


def copy_tree(destination):
    """The working tree as git sees it (tracked and untracked, not ignored files), copied to `destination`."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def run_suite(tree, extra_args, timeout, last=()):
    """(return code, seconds, output) of the fast NUMPY-only run in `tree`, the files in `last` run last; return code
    None when it timed out."""
    tests = [t for t in TEST_ORDER if (tree / t).exists() and t not in last]
    tests += sorted(str(p.relative_to(tree)) for p in (tree / "test").glob("test_*.py")
                    if str(p.relative_to(tree)) not in tests + SKIPPED_TESTS + list(last))
    tests += [t for t in last if (tree / t).exists()]
    env = {**os.environ, "MINIGRAD_DEVICES": "NUMPY", "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", *extra_args, *tests]
    start = time.perf_counter()
    try: result = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired: return None, time.perf_counter() - start, ""
    return result.returncode, time.perf_counter() - start, result.stdout + result.stderr


def failing_ids(output):
    """Node ids of the tests a run reported as FAILED or ERROR (pytest -rfE summary lines)."""
    return sorted({m.group(2) for m in re.finditer(r"^(FAILED|ERROR) (\S+?(?:\[[^\]]*\])?)(?: - |$)", output, re.MULTILINE)})


def apply(tree, path, old, new):
    """Write the mutant into the copy; returns the original text, or None when `old` is not exactly once in the file."""
    target = tree / path
    text = target.read_text()
    if text.count(old) != 1: return None
    target.write_text(text.replace(old, new))
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=40, help="how many sampled operator mutants (default 40)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample")
    parser.add_argument("--curated", type=int, default=1, help="1: include the curated mutants (default), 0: only the sample")
    parser.add_argument("--only", default="", help="run only mutants whose name contains one of these comma-separated texts")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--last", default="", help="comma-separated test files to run last: the score then also says how many "
                        "mutants the other files kill (the score before those files were written)")
    args = parser.parse_args()

    sampled = [m for path in TARGETS for m in operator_mutants(path, (REPO / path).read_text())]
    sampled = [m for m in sampled if not any(path == m[1] and old in m[2] and m[2].replace(old, new) == m[3]
                                             for _, path, old, new, _ in EQUIVALENT)]
    sampled = random.Random(args.seed).sample(sampled, min(args.sample, len(sampled)))
    mutants = (CURATED if args.curated else []) + sampled
    mutants = [m for m in mutants if any(part in m[0] for part in args.only.split(","))]
    for name, path, old, new, reason in EQUIVALENT: print(f"equivalent, not run: {name} ({path}): {reason}")
    if args.list:
        for name, path, old, new in mutants: print(f"{name}\n  {path}: {old.strip()!r} -> {new.strip()!r}")
        return

    with tempfile.TemporaryDirectory(prefix="minigrad-mutants-") as folder:
        tree = Path(folder)
        copy_tree(tree)
        check = subprocess.run([sys.executable, "-c", "import minigrad; print(minigrad.__file__)"], cwd=tree, capture_output=True, text=True,
                               env={**os.environ, "PYTHONPATH": str(tree)})
        assert check.stdout.startswith(str(tree)), f"the copy imports minigrad from {check.stdout.strip()}, not {tree}"
        last = [name for name in args.last.split(",") if name]
        code, seconds, output = run_suite(tree, ["-rfE"], timeout=3600, last=last)
        broken = failing_ids(output)
        print(f"baseline: {seconds:.0f} s, {len(broken)} tests already failing (deselected): {', '.join(broken) or 'none'}", flush=True)
        deselect = [arg for test in broken for arg in ("--deselect", test)]
        timeout = 3 * seconds + 60
        results = {"killed": [], "survived": [], "timeout": [], "stale": []}
        for number, (name, path, old, new) in enumerate(mutants, 1):
            original = apply(tree, path, old, new)
            if original is None:
                results["stale"].append(name)
                print(f"[{number}/{len(mutants)}] stale (source changed): {name}", flush=True)
                continue
            try: code, seconds, output = run_suite(tree, ["-x", *deselect], timeout, last)
            finally: (tree / path).write_text(original)
            outcome = "timeout" if code is None else "survived" if code == 0 else "killed"
            killer = next(iter(failing_ids(output)), "") if outcome == "killed" else ""
            results[outcome].append((name, path, original, original.replace(old, new), killer.split("::")[0]))
            print(f"[{number}/{len(mutants)}] {outcome:8s} {seconds:5.0f} s  {name}  {killer}", flush=True)

    for name, path, original, mutated, _ in results["survived"]:
        print(f"\nSURVIVED: {name}")
        sys.stdout.writelines(difflib.unified_diff(original.splitlines(True), mutated.splitlines(True), f"a/{path}", f"b/{path}", n=1))
    killed = len(results["killed"]) + len(results["timeout"])
    ran = killed + len(results["survived"])
    print(f"\nscore: {killed}/{ran} killed ({100 * killed / max(ran, 1):.0f}%), {len(results['survived'])} survived, "
                f"{len(results['timeout'])} by timeout, {len(results['stale'])} stale")
    if last:
        only_last = [name for name, *_, killer in results["killed"] if killer in last]
        print(f"without {', '.join(last)}: {killed - len(only_last)}/{ran} killed ({100 * (killed - len(only_last)) / max(ran, 1):.0f}%); "
              f"killed only by them: {', '.join(only_last) or 'none'}")


if __name__ == "__main__":
    main()
