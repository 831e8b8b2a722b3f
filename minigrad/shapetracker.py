"""Movement ops as index arithmetic: a ShapeTracker maps an index in its shape to a place in a flat buffer.

A View is an affine map (strides, offset) plus an optional mask of valid ranges (outside it reads 0, which is how
pad works without copying). A reshape that no single View can express pushes a new View: views[i+1] then indexes
the contiguous layout of views[i].shape, and views[0] indexes the buffer itself. Every op keeps the masks exact, and
a view lying wholly in padding points at no memory at all, so no valid position ever maps outside its buffer.
"""
from __future__ import annotations
from functools import lru_cache
from math import prod
from typing import NamedTuple, Optional, Tuple


@lru_cache(maxsize=None)
def strides_for(shape):
  """Row-major strides, 0 for size-1 dims so that equal layouts compare equal."""
  return tuple(prod(shape[i + 1:]) if size != 1 else 0 for i, size in enumerate(shape))


class _ViewFields(NamedTuple):
  shape: Tuple[int, ...]
  strides: Tuple[int, ...]
  offset: int
  mask: Optional[Tuple[Tuple[int, int], ...]]  # per dim, the [start, end) that reads memory


class View(_ViewFields):
  """A tuple, so that the graph and kernel caches hash and compare views in C; only made canonical by its constructor."""
  def __new__(cls, shape, strides, offset=0, mask=None):
    # Canonical forms, so that every op stays simple: a view of no elements is contiguous; a view lying wholly in
    # padding has all its ranges empty and points at nothing (offset 0, strides 0); a mask that hides nothing is None.
    if 0 in shape: strides, offset, mask = strides_for(shape), 0, None
    elif mask and any(lo >= hi for lo, hi in mask): strides, offset, mask = (0,) * len(shape), 0, ((0, 0),) * len(shape)
    elif mask is not None and all(m == (0, size) for m, size in zip(mask, shape)): mask = None
    return super().__new__(cls, shape, strides, offset, mask)

  # True when the mask leaves no position valid (canonically: every range is (0, 0)). (functools.cached_property costs
  # more than it saves: most views are asked once)
  @property
  def all_padding(self): return self.mask is not None and any(lo >= hi for lo, hi in self.mask)

  @property
  def is_contiguous(self): return self.offset == 0 and self.mask is None and self.strides == strides_for(self.shape)

  def permute(self, order):
    mask = tuple(self.mask[i] for i in order) if self.mask else None
    return View(tuple(self.shape[i] for i in order), tuple(self.strides[i] for i in order), self.offset, mask)

  def expand(self, new_shape):
    """Repeat size-1 dims (stride 0). Only an unmasked view or one that is all padding (which stays so) expands in
    place: ShapeTracker repeats any other masked view through a view of its own."""
    return View(tuple(new_shape), tuple(0 if old != new else st for old, new, st in zip(self.shape, new_shape, self.strides)), self.offset, self.mask)

  def shrink(self, bounds):
    """The window [start, end) of each dim; bounds may reach past the edges (pad), where the mask hides what is read."""
    offset = self.offset + sum(start * st for (start, _), st in zip(bounds, self.strides))
    mask = tuple((max(lo, s) - s, min(hi, e) - s) for (lo, hi), (s, e) in zip(self.mask or [(0, size) for size in self.shape], bounds))
    return View(tuple(e - s for s, e in bounds), self.strides, offset, mask)

  def flip(self, axes):
    offset = self.offset + sum((self.shape[i] - 1) * self.strides[i] for i in axes)
    mask = tuple((n - e, n - s) if i in axes else (s, e) for i, ((s, e), n) in enumerate(zip(self.mask, self.shape))) if self.mask else None
    return View(self.shape, tuple(-st if i in axes else st for i, st in enumerate(self.strides)), offset, mask)

  def reshape(self, new_shape) -> Optional[View]:
    """The same elements read in new_shape, or None when no single View can: the old dims of a group cannot be merged,
    or its valid elements are not whole rows of its outermost new dim."""
    if self.mask is None and self.strides == strides_for(self.shape): return View(new_shape, strides_for(new_shape), self.offset)  # (empty too)
    if self.all_padding:  # reads nothing in any shape, but a 0-d view has no range to say so
      return View(tuple(new_shape), (0,) * len(new_shape), 0, ((0, 0),) * len(new_shape)) if new_shape else None
    old = [(size, stride, m) for size, stride, m in zip(self.shape, self.strides, self.mask or [(0, s) for s in self.shape]) if size != 1]
    new = [size for size in new_shape if size != 1]
    out, out_mask, oi, ni = [], [], 0, 0
    while oi < len(old) and ni < len(new):
      oj, nj, osize, nsize = oi + 1, ni + 1, old[oi][0], new[ni]
      while osize != nsize:  # grow whichever group is smaller until both cover the same elements
        if osize < nsize: osize, oj = osize * old[oj][0], oj + 1
        else: nsize, nj = nsize * new[nj], nj + 1
      if any(old[k][1] != old[k + 1][0] * old[k + 1][1] for k in range(oi, oj - 1)): return None
      # valid: rows lo..hi of the outermost old dim, the inner old dims whole; as whole rows of the outermost new dim
      (lo, hi), old_row, new_row = old[oi][2], osize // old[oi][0], nsize // new[ni]
      if any(old[k][2] != (0, old[k][0]) for k in range(oi + 1, oj)) or lo * old_row % new_row or hi * old_row % new_row: return None
      out_mask += [(lo * old_row // new_row, hi * old_row // new_row)] + [(0, new[k]) for k in range(ni + 1, nj)]
      out += [old[oj - 1][1] * prod(new[k + 1:nj]) for k in range(ni, nj)]  # the group's innermost stride, scaled up
      oi, ni = oj, nj
    rest, rest_mask = iter(out), iter(out_mask)  # size-1 dims are valid: the view is not all padding
    strides = tuple(0 if size == 1 else next(rest) for size in new_shape)
    return View(tuple(new_shape), strides, self.offset, tuple((0, 1) if size == 1 else next(rest_mask) for size in new_shape))


class ShapeTracker(NamedTuple):  # a tuple: hashed and compared in C, as graph and kernel caches do often
  views: Tuple[View, ...]

  @staticmethod
  @lru_cache(maxsize=4096)
  def from_shape(shape): return ShapeTracker((View(shape, strides_for(shape)),))

  @property
  def shape(self): return self.views[-1].shape

  @property
  def contiguous(self): return len(self.views) == 1 and self.views[0].is_contiguous

  @property
  def expands(self):
    """True when some element of the buffer is read more than once: a stride-0 dim with more than one valid position
    (a padded size-1 dim reads its one element once)."""
    return any(st == 0 and hi - lo > 1 for v in self.views for (lo, hi), st in zip(v.mask or [(0, s) for s in v.shape], v.strides))

  @property  # True when no position is valid under every mask: the view reads as 0 and needs no memory
  def all_padding(self): return any(v.all_padding for v in self.views)

  @property
  def masked(self): return any(v.mask is not None for v in self.views)

  def _last(self, view): return ShapeTracker(self.views[:-1] + (view,))
  def permute(self, order): return self._last(self.views[-1].permute(order))
  def expand(self, shape):
    """A masked view is repeated through a view of its own, so that a backend pads it before it repeats it (NUMPY would
    otherwise pad the repeated whole)."""
    if self.views[-1].mask and not self.all_padding: return ShapeTracker(self.views + (View(self.shape, strides_for(self.shape)).expand(shape),))
    return self._last(self.views[-1].expand(shape))
  def shrink(self, bounds): return self._last(self.views[-1].shrink(bounds))
  def flip(self, axes): return self._last(self.views[-1].flip(axes))

  def reshape(self, new_shape):
    view = self.views[-1].reshape(new_shape)
    return self._last(view) if view is not None else ShapeTracker(self.views + (View(new_shape, strides_for(new_shape)),))

  def compose(self, outer: ShapeTracker) -> ShapeTracker:
    """Read this tracker's elements through `outer`, whose first view indexes the contiguous layout of self.shape (the
    scheduler never passes a plain reshape: it reads such a view in the base's own shape)."""
    # a row-major last view maps each flat index to itself, so outer's first view can read what lies below it directly
    return ShapeTracker((self.views[:-1] if self.views[-1].is_contiguous else self.views) + outer.views)
