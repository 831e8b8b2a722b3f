"""Finding an object's tensors, loading values into them, and saving or loading them in the safetensors format
(https://github.com/huggingface/safetensors), which PyTorch and NumPy users can read."""
import contextlib, json, math, os, types, uuid
from collections import Counter
import numpy as np
from minigrad.tensor import Tensor

# minigrad's dtypes as safetensors names them, for save; load also reads PyTorch's others (NumPy kind and item size, the byte
# order always little-endian): integers narrow to int32 when every value fits, bfloat16 widens exactly to float32
SAVED_DTYPES = {"float32": "F32", "float16": "F16", "float64": "F64", "int32": "I32", "bool": "BOOL"}
LOADABLE_DTYPES = {"F32": "f4", "F16": "f2", "F64": "f8", "I32": "i4", "BOOL": "b1", "BF16": "u2", "I64": "i8", "U64": "u8", "U32": "u4",
                   "I16": "i2", "U16": "u2", "I8": "i1", "U8": "u1"}


class SafetensorsError(ValueError):
  """A safetensors file that is malformed, or a state dict that minigrad cannot write or hold."""


def _tensor(array: np.ndarray, source: str, device=None) -> Tensor:
  """array as a Tensor; integers outside int32's range, which Tensor refuses, raise SafetensorsError naming the source."""
  try: return Tensor(array, device=device)
  except OverflowError as error: raise SafetensorsError(f"{source}: {error}") from None


def get_state_dict(obj, prefix="", _path=()) -> dict[str, Tensor]:
  """Every Tensor reachable from obj through attributes, list and tuple items (keyed by index) and dict values,
  under dotted keys such as "layers.0.weight". A reference back to an object on the way (a child that holds its
  parent) is not followed."""
  if isinstance(obj, Tensor): return {prefix[:-1]: obj}
  if id(obj) in _path: return {}
  if isinstance(obj, (list, tuple)): children = enumerate(obj)
  elif isinstance(obj, dict): children = obj.items()
  elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType)): children = vars(obj).items()
  else: return {}
  return {name: tensor for key, child in children for name, tensor in get_state_dict(child, f"{prefix}{key}.", (*_path, id(obj))).items()}


def get_parameters(obj) -> list[Tensor]:
  """The Tensors reachable from obj (as in get_state_dict) that require grad, each once: what an optimiser updates.
  Buffers such as a causal mask are left out; get_state_dict keeps them."""
  return list({id(t): t for t in get_state_dict(obj).values() if t.requires_grad}.values())


def load_state_dict(obj, state_dict: dict[str, Tensor]):
  """Copy state_dict's values (Tensors or arrays) into obj's tensors. The keys must match and each shape must agree;
  integers outside int32's range are refused, never wrapped."""
  own = get_state_dict(obj)
  missing, unexpected = sorted(own.keys() - state_dict.keys()), sorted(state_dict.keys() - own.keys())
  if missing or unexpected: raise KeyError(f"state dict does not fit: missing keys {missing}, unexpected keys {unexpected}")
  values = {key: v if isinstance(v, Tensor) else _tensor(np.asarray(v), f"state dict entry {key!r}") for key, v in state_dict.items()}
  mismatched = [f"{key} is {own[key].shape} in the object but {v.shape} in the state dict" for key, v in values.items() if v.shape != own[key].shape]
  if mismatched: raise ValueError("shape mismatch: " + "; ".join(mismatched))
  for key, tensor in own.items(): tensor.assign(values[key].to(tensor.device))
  if own: Tensor.realize(*own.values())


def save(state_dict: dict[str, Tensor], path):
  """Write tensors as safetensors: an 8-byte little-endian header length, a JSON header giving each tensor's dtype,
  shape and data_offsets, then the raw little-endian data. The file is written beside path and renamed over it only
  when complete, so a crash at any moment leaves the old file or the new one; tensors are written one at a time, so
  memory does not grow with the checkpoint."""
  header, offset = {}, 0
  for key, tensor in state_dict.items():
    if not isinstance(key, str) or key == "__metadata__": raise SafetensorsError(f"cannot save {key!r}: a name must be a string, not '__metadata__'")
    if not isinstance(tensor, Tensor): raise TypeError(f"cannot save {key!r}: a {type(tensor).__name__}, not a Tensor")
    size = tensor.numel() * tensor.dtype.itemsize
    header[key] = {"dtype": SAVED_DTYPES[tensor.dtype.name], "shape": list(tensor.shape), "data_offsets": [offset, offset + size]}
    offset += size
  text = json.dumps(header, separators=(",", ":")).encode()
  text += b" " * (-len(text) % 8)  # as the reference writer does, so the data starts 8-byte aligned
  temporary_path = f"{path}.{uuid.uuid4().hex}.tmp"  # in the same folder, so the rename cannot cross file systems
  try:
    with open(temporary_path, "xb") as file:
      file.write(len(text).to_bytes(8, "little") + text)
      for key, tensor in state_dict.items():  # in the dtype the header names, little-endian as load reads it
        file.write(np.ascontiguousarray(tensor.numpy(), dtype="<" + LOADABLE_DTYPES[header[key]["dtype"]]).reshape(-1).data)
      file.flush()
      os.fsync(file.fileno())  # the data must be on disk before the rename makes it the checkpoint
    os.replace(temporary_path, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError): os.remove(temporary_path)
    raise


def _refuse_duplicate_names(pairs) -> dict:
  """A JSON object as a dict, refusing a name given twice, which would silently hide one of the tensors."""
  names = dict(pairs)
  if len(names) < len(pairs): raise ValueError(f"names given twice: {[key for key, count in Counter(key for key, _ in pairs).items() if count > 1]}")
  return names


def load(path, device=None) -> dict[str, Tensor]:
  """Read a safetensors file into a dict of Tensors, checked as the reference reader checks it: any problem raises
  SafetensorsError naming the file, the entry and what is wrong."""
  def check(ok, problem):
    if not ok: raise SafetensorsError(f"{path}: {problem}")
  with open(path, "rb") as file: data = file.read()
  check(len(data) >= 8, f"{len(data)} bytes are too few to hold the 8-byte header length")
  header_length = int.from_bytes(data[:8], "little")
  most = min(100_000_000, len(data) - 8)  # the reference reader's limit: a corrupt length must not ask for gigabytes
  check(header_length <= most, f"header length {header_length} is over {most}, the most a {len(data)}-byte file allows")
  # NaN and Infinity are not JSON (the reference reader refuses them; Python's json reads them): int() refuses them here
  try: header = json.loads(data[8:8 + header_length].decode(), object_pairs_hook=_refuse_duplicate_names, parse_constant=int)
  except ValueError as error: raise SafetensorsError(f"{path}: the header must be UTF-8 JSON with distinct names: {error}") from None
  check(isinstance(header, dict), f"the header is a JSON {type(header).__name__}, not an object")
  metadata = header.pop("__metadata__", None)
  check(metadata is None or isinstance(metadata, dict) and all(isinstance(value, str) for value in metadata.values()),
        f"'__metadata__' must map strings to strings: {metadata!r}")
  body, tensors, covered = memoryview(data)[8 + header_length:], {}, 0
  for key, info in header.items():
    check(isinstance(info, dict) and {"dtype", "shape", "data_offsets"} <= info.keys(), f"entry {key!r} lacks dtype, shape or data_offsets: {info!r}")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    check(isinstance(dtype, str) and dtype in LOADABLE_DTYPES, f"entry {key!r} has dtype {dtype!r}; minigrad reads {', '.join(LOADABLE_DTYPES)}")
    check(isinstance(shape, list) and all(type(size) is int and size >= 0 and math.prod(shape[:at + 1]) < 2**64 for at, size in enumerate(shape)),
          f"entry {key!r} has shape {shape!r}, not sizes >= 0 whose running product fits in 64 bits (as the reference reader counts)")
    check(isinstance(offsets, list) and [type(at) for at in offsets] == [int, int] and 0 <= offsets[0] <= offsets[1],
          f"entry {key!r} has data_offsets {offsets!r}, not [start, end] with 0 <= start <= end")
    expected = math.prod(shape) * int(LOADABLE_DTYPES[dtype][1:])
    check(offsets[1] - offsets[0] == expected, f"entry {key!r} spans {offsets[1] - offsets[0]} bytes, but {dtype} of shape {shape} needs {expected}")
  for key, info in sorted(header.items(), key=lambda item: item[1]["data_offsets"]):
    start, end = info["data_offsets"]
    check(start == covered, f"entry {key!r} starts at data byte {start}, but the entries before end at {covered}: an overlap or a hole")
    check(end <= len(body), f"entry {key!r} ends at data byte {end}, past the end of the data ({len(body)} bytes): the file is truncated")
    covered = end
    array = np.frombuffer(body[start:end], dtype="<" + LOADABLE_DTYPES[info["dtype"]]).reshape(info["shape"])
    if info["dtype"] == "BF16": array = (array.astype(np.uint32) << 16).view(np.float32)  # bfloat16 is float32's top half
    tensors[key] = _tensor(array, f"{path}: entry {key!r}", device)
  check(covered == len(body), f"the entries end at data byte {covered}, but the data has {len(body)} bytes: no trailing bytes are allowed")
  return tensors
