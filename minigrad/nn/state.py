"""Finding an object's tensors, loading values into them, and saving or loading them in the safetensors format
(https://github.com/huggingface/safetensors), which PyTorch and NumPy users can read."""
import json, types
from typing import Dict, List
import numpy as np
from minigrad.tensor import Tensor

# safetensors dtype name -> NumPy kind and item size (the byte order is always little-endian)
SAFETENSORS_DTYPES = {"F32": "f4", "F16": "f2", "F64": "f8", "I32": "i4", "BOOL": "b1"}


def get_state_dict(obj, prefix="") -> Dict[str, Tensor]:
  """Every Tensor reachable from obj through attributes, list and tuple items (keyed by index) and dict values,
  under dotted keys such as "layers.0.weight"."""
  if isinstance(obj, Tensor): return {prefix[:-1]: obj}
  if isinstance(obj, (list, tuple)): children = enumerate(obj)
  elif isinstance(obj, dict): children = obj.items()
  elif hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType)): children = vars(obj).items()
  else: return {}
  state = {}
  for key, child in children: state.update(get_state_dict(child, f"{prefix}{key}."))
  return state


def get_parameters(obj) -> List[Tensor]:
  """Every Tensor reachable from obj (as in get_state_dict), each once."""
  return list({id(t): t for t in get_state_dict(obj).values()}.values())


def load_state_dict(obj, state_dict: Dict[str, Tensor]):
  """Copy state_dict's values (Tensors or arrays) into obj's tensors. The keys must match and each shape must agree."""
  own = get_state_dict(obj)
  missing, unexpected = sorted(own.keys() - state_dict.keys()), sorted(state_dict.keys() - own.keys())
  if missing or unexpected: raise KeyError(f"state dict does not fit: missing keys {missing}, unexpected keys {unexpected}")
  values = {key: v if isinstance(v, Tensor) else Tensor(np.asarray(v)) for key, v in state_dict.items()}
  mismatched = [f"{key} is {own[key].shape} in the object but {v.shape} in the state dict" for key, v in values.items() if v.shape != own[key].shape]
  if mismatched: raise ValueError("shape mismatch: " + "; ".join(mismatched))
  for key, tensor in own.items(): tensor.assign(values[key].to(tensor.device))
  if own: Tensor.realize(*own.values())


def save(state_dict: Dict[str, Tensor], path):
  """Write tensors (or arrays) as safetensors: an 8-byte little-endian header length, a JSON header giving each
  tensor's dtype, shape and data_offsets, then the raw little-endian data."""
  names = {code: name for name, code in SAFETENSORS_DTYPES.items()}
  header, chunks, offset = {}, [], 0
  for key, value in state_dict.items():
    array = value.numpy() if isinstance(value, Tensor) else np.asarray(value)
    code = f"{array.dtype.kind}{array.dtype.itemsize}"
    if code not in names: raise TypeError(f"cannot save {key!r}: dtype {array.dtype} is none of {', '.join(SAFETENSORS_DTYPES)}")
    data = np.ascontiguousarray(array, dtype="<" + code).tobytes()
    header[key] = {"dtype": names[code], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
    chunks.append(data)
    offset += len(data)
  text = json.dumps(header, separators=(",", ":")).encode()
  text += b" " * (-len(text) % 8)  # as the reference writer does, so the data starts 8-byte aligned
  with open(path, "wb") as file: file.write(len(text).to_bytes(8, "little") + text + b"".join(chunks))


def load(path, device=None) -> Dict[str, Tensor]:
  """Read a safetensors file into a dict of Tensors."""
  with open(path, "rb") as file: data = file.read()
  header_length = int.from_bytes(data[:8], "little")
  header, body = json.loads(data[8:8 + header_length]), data[8 + header_length:]
  tensors = {}
  for key, info in header.items():
    if key == "__metadata__": continue
    if info["dtype"] not in SAFETENSORS_DTYPES: raise TypeError(f"{path}: {key!r} has dtype {info['dtype']}, which minigrad cannot hold")
    start, end = info["data_offsets"]
    array = np.frombuffer(body[start:end], dtype="<" + SAFETENSORS_DTYPES[info["dtype"]]).reshape(info["shape"])
    tensors[key] = Tensor(array, device=device)
  return tensors
