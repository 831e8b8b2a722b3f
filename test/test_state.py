"""SPEC "nn", state: finding tensors, loading a state dict, and the safetensors files that save and load write and read,
checked against the `safetensors` package's NumPy API both ways."""
import errno
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from minigrad import Tensor, dtypes, nn
from minigrad.nn import optim, state
from minigrad.nn.state import SafetensorsError, get_parameters, get_state_dict, load, load_state_dict, save
from helpers import raises_naming


class Block:
    def __init__(self):
        self.layers = [nn.Linear(3, 4), nn.Linear(4, 2, bias=False)]
        self.norms = {"out": nn.LayerNorm(2)}
        self.pair = (Tensor([1.0]), Tensor([[2.0]]))
        self.scale, self.name, self.nothing = 0.5, "block", None

    def __call__(self, x):
        return self.norms["out"](self.layers[1](self.layers[0](x).relu())) * self.scale


def test_state_dict_keys_walk_attributes_lists_tuples_and_dicts():
    state = get_state_dict(Block())
    assert sorted(state) == ["layers.0.bias", "layers.0.weight", "layers.1.weight", "norms.out.bias", "norms.out.weight",
                             "pair.0", "pair.1"]
    assert state["layers.0.weight"].shape == (4, 3) and state["pair.1"].shape == (1, 1)


def test_get_parameters_finds_every_trainable_tensor_once():
    block = Block()
    block.shared = block.layers[0].weight  # the same tensor under a second key
    params = get_parameters(block)
    expected = [block.layers[0].weight, block.layers[0].bias, block.layers[1].weight, block.norms["out"].weight, block.norms["out"].bias]
    assert len(params) == 5 and all(any(p is e for p in params) for e in expected)


class MaskedAttention:
    def __init__(self, size):
        self.proj = nn.Linear(size, size)
        self.mask = Tensor(np.tril(np.ones((size, size))))  # a buffer: saved with the model, never trained
        self.frozen = Tensor.zeros(size, requires_grad=True).detach()


def test_state_dict_does_not_follow_a_reference_back_to_a_parent():
    class Block:
        def __init__(self, parent):
            self.parent, self.weight = parent, Tensor([1.0], requires_grad=True)

    class Model:
        def __init__(self):
            self.block, self.bias = Block(self), Tensor([2.0], requires_grad=True)
    model = Model()
    assert list(state.get_state_dict(model)) == ["block.weight", "bias"]
    assert len(state.get_parameters(model)) == 2


def test_get_parameters_leaves_out_tensors_that_do_not_require_grad():
    model = MaskedAttention(4)
    params = get_parameters(model)
    assert len(params) == 2 and all(p.requires_grad for p in params)
    assert not any(p is model.mask or p is model.frozen for p in params)
    assert sorted(get_state_dict(model)) == ["frozen", "mask", "proj.bias", "proj.weight"]  # the state dict keeps buffers


def test_load_state_dict_copies_values_into_the_same_tensors():
    source, target = Block(), Block()
    weight = target.layers[0].weight
    load_state_dict(target, get_state_dict(source))
    assert target.layers[0].weight is weight
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)))
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


def test_an_optimisers_lr_after_loading_its_state_is_the_loaded_one():
    """The lr is a tensor of the optimiser's state (a replay reads it), and opt.lr said the value set before the load."""
    w = Tensor([1.0], requires_grad=True)
    saved = get_state_dict(optim.SGD([w], lr=0.01))
    opt = optim.SGD([w], lr=0.5)
    load_state_dict(opt, saved)
    assert abs(opt.lr - 0.01) < 1e-9
    opt.lr *= 0.1
    assert abs(opt.lr - 0.001) < 1e-9 and abs(opt.lr_tensor.item() - 0.001) < 1e-9
    opt.lr = 0.01
    assert opt.lr == 0.01

def test_load_state_dict_accepts_numpy_arrays():
    layer = nn.Linear(2, 1)
    load_state_dict(layer, {"weight": np.array([[1.0, 2.0]]), "bias": np.array([0.5])})
    assert layer(Tensor([[1.0, 1.0]])).tolist() == [[3.5]] and layer.weight.dtype == dtypes.float32


def test_load_state_dict_names_missing_and_unexpected_keys():
    layer = nn.Linear(2, 1)
    with raises_naming("missing", "bias", "unexpected", "bais"):
        load_state_dict(layer, {"weight": Tensor.zeros(1, 2), "bais": Tensor.zeros(1)})


def test_load_state_dict_names_both_shapes_on_mismatch():
    with raises_naming("weight", "(1, 2)", "(2, 1)"):
        load_state_dict(nn.Linear(2, 1), {"weight": Tensor.zeros(2, 1), "bias": Tensor.zeros(1)})


# ---- safetensors files ----

ARRAYS = {
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "f16": np.array([0.5, -1.25, 65504.0], dtype=np.float16),
    "f64": np.array([[np.pi]], dtype=np.float64),
    "i32": np.array([-(2 ** 31), 0, 2 ** 31 - 1], dtype=np.int32),
    "bool": np.array([[True, False], [False, True]]),
    "scalar": np.array(3.5, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def assert_same_arrays(got, expected):
    assert sorted(got) == sorted(expected)
    for key, array in expected.items():
        value = got[key].numpy() if isinstance(got[key], Tensor) else got[key]
        assert value.dtype == array.dtype and value.shape == array.shape, key
        np.testing.assert_array_equal(value, array, err_msg=key)


def test_save_then_load_round_trips_every_dtype(tmp_path):
    save({key: Tensor(array) for key, array in ARRAYS.items()}, tmp_path / "t.safetensors")
    assert_same_arrays(load(tmp_path / "t.safetensors"), ARRAYS)


def test_safetensors_package_reads_what_save_writes(tmp_path):
    save({key: Tensor(array) for key, array in ARRAYS.items()}, tmp_path / "t.safetensors")
    assert_same_arrays(load_file(str(tmp_path / "t.safetensors")), ARRAYS)


def test_load_reads_what_the_safetensors_package_writes(tmp_path):
    save_file(ARRAYS, str(tmp_path / "t.safetensors"), metadata={"format": "np"})
    assert_same_arrays(load(tmp_path / "t.safetensors"), ARRAYS)


def test_file_layout_is_header_length_json_header_then_data(tmp_path):
    save({"a": Tensor([1.0, 2.0]), "b": Tensor([[7]])}, tmp_path / "t.safetensors")
    data = (tmp_path / "t.safetensors").read_bytes()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    assert header == {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                      "b": {"dtype": "I32", "shape": [1, 1], "data_offsets": [8, 12]}}
    assert data[8 + length:] == np.array([1.0, 2.0], "<f4").tobytes() + np.array([7], "<i4").tobytes()


def test_save_refuses_what_is_not_a_tensor(tmp_path):
    with raises_naming("big", "ndarray", "Tensor"):
        save({"big": np.zeros(2, dtype=np.float32)}, tmp_path / "t.safetensors")
    assert os.listdir(tmp_path) == []


def test_model_survives_save_and_load(tmp_path):
    source, target = Block(), Block()
    save(get_state_dict(source), tmp_path / "model.safetensors")
    load_state_dict(target, load(tmp_path / "model.safetensors"))
    x = Tensor(np.random.default_rng(1).standard_normal((4, 3)))
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.int32])
def test_load_puts_tensors_on_the_given_device(device, tmp_path, dtype):
    save({"x": Tensor([1, 2, 3], dtype=dtype)}, tmp_path / "t.safetensors")
    loaded = load(tmp_path / "t.safetensors", device=device)["x"]
    assert loaded.device == device and loaded.dtype == dtype and loaded.tolist() == [1, 2, 3]


@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.int32, dtypes.bool])
def test_save_writes_tensors_from_any_device(device, tmp_path, dtype):
    save({"x": Tensor([1, 0, 3], dtype=dtype, device=device)}, tmp_path / "t.safetensors")
    expected = np.array([1, 0, 3]).astype(dtype.np)
    assert_same_arrays(load_file(str(tmp_path / "t.safetensors")), {"x": expected})
    assert os.listdir(tmp_path) == ["t.safetensors"]  # no temporary file is left beside it


def test_load_state_dict_refuses_integers_outside_int32_instead_of_wrapping():
    class Holder:
        def __init__(self):
            self.ids = Tensor([0, 0], dtype=dtypes.int32)

    holder = Holder()
    for value in (2 ** 33 + 5, 2 ** 31, -(2 ** 31) - 1):
        with raises_naming("ids", str(value), "int32"):
            load_state_dict(holder, {"ids": np.array([1, value], dtype=np.int64)})
    assert holder.ids.tolist() == [0, 0]  # nothing was assigned
    load_state_dict(holder, {"ids": np.array([2 ** 31 - 1, -(2 ** 31)], dtype=np.int64)})
    assert holder.ids.tolist() == [2 ** 31 - 1, -(2 ** 31)] and holder.ids.dtype == dtypes.int32


# ---- names ----

@pytest.mark.parametrize("state_dict, name", [
    ({1: Tensor([1.0])}, "1"),
    ({1: Tensor([1.0]), "1": Tensor([2.0])}, "1"),  # would silently keep only one of the two
    ({("layer", 0): Tensor([1.0])}, "('layer', 0)"),
    ({"__metadata__": Tensor([1.0])}, "__metadata__"),  # would silently vanish on load
])
def test_save_refuses_names_the_format_cannot_hold(tmp_path, state_dict, name):
    with pytest.raises(SafetensorsError) as error:
        save(state_dict, tmp_path / "t.safetensors")
    assert name in str(error.value) and "name" in str(error.value)
    assert os.listdir(tmp_path) == []


def test_load_skips_string_metadata(tmp_path):
    save_file({"x": np.ones(2, np.float32)}, str(tmp_path / "t.safetensors"), metadata={"format": "pt", "step": "7"})
    assert sorted(load(tmp_path / "t.safetensors")) == ["x"]


# ---- PyTorch's dtypes: integers narrow to int32 when they fit, bfloat16 widens to float32 ----

@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.uint32, np.int16, np.uint16, np.int8, np.uint8])
def test_load_narrows_integers_that_fit_to_int32(tmp_path, dtype):
    info = np.iinfo(dtype)
    values = np.array([max(int(info.min), -(2 ** 31)), 0, 7, min(int(info.max), 2 ** 31 - 1)], dtype=dtype)
    save_file({"ids": values}, str(tmp_path / "t.safetensors"))
    loaded = load(tmp_path / "t.safetensors")["ids"]
    assert loaded.dtype == dtypes.int32 and loaded.tolist() == values.tolist()


@pytest.mark.parametrize("dtype, value", [(np.int64, 2 ** 31), (np.int64, -(2 ** 31) - 1), (np.int64, 2 ** 33 + 5),
                                          (np.int64, -(2 ** 63)), (np.uint64, 2 ** 64 - 1), (np.uint32, 2 ** 32 - 1)])
def test_load_refuses_integers_outside_int32(tmp_path, dtype, value):
    save_file({"ids": np.array([1, value, 2], dtype=dtype)}, str(tmp_path / "t.safetensors"))
    with pytest.raises(SafetensorsError) as error:
        load(tmp_path / "t.safetensors")
    for fragment in (str(tmp_path / "t.safetensors"), "'ids'", str(value), "int32"):
        assert fragment in str(error.value)


def bfloat16_file(bits):
    """A safetensors file holding one BF16 tensor "b" with the given 16-bit patterns."""
    data = np.asarray(bits, dtype="<u2").tobytes()
    return file_bytes({"b": {"dtype": "BF16", "shape": [len(bits)], "data_offsets": [0, len(data)]}}, data)


def test_load_widens_bfloat16_to_float32_exactly(tmp_path):
    known = {0x0000: 0.0, 0x8000: -0.0, 0x3F80: 1.0, 0xC020: -2.5, 0x4049: 3.140625, 0x7F7F: 3.3895313892515355e38,
             0x7F80: np.inf, 0xFF80: -np.inf, 0x0001: 2.0 ** -133, 0x0080: 2.0 ** -126}
    (tmp_path / "t.safetensors").write_bytes(bfloat16_file(list(known)))
    loaded = load(tmp_path / "t.safetensors")["b"]
    assert loaded.dtype == dtypes.float32
    np.testing.assert_array_equal(loaded.numpy(), np.array(list(known.values()), dtype=np.float32))
    assert np.signbit(loaded.numpy()[1])
    # every bfloat16 pattern is float32 with the low 16 bits zero, NaNs included
    bits = np.arange(2 ** 16, dtype=np.uint32)
    (tmp_path / "t.safetensors").write_bytes(bfloat16_file(bits))
    got = load(tmp_path / "t.safetensors")["b"].numpy()
    assert np.array_equal(got.view(np.uint32), bits << 16)


@pytest.mark.parametrize("dtype", ["C64", "F8_E4M3", "F8_E5M2"])
def test_load_names_a_dtype_minigrad_cannot_hold(tmp_path, dtype):
    (tmp_path / "t.safetensors").write_bytes(file_bytes({"w": {"dtype": dtype, "shape": [1], "data_offsets": [0, 8 if dtype == "C64" else 1]}},
                                                        bytes(8 if dtype == "C64" else 1)))
    with pytest.raises(SafetensorsError) as error:
        load(tmp_path / "t.safetensors")
    assert "'w'" in str(error.value) and dtype in str(error.value) and "t.safetensors" in str(error.value)


# ---- corrupt files: each refused with one error type naming the file, the entry and the problem ----

def file_bytes(header=None, body=b"", raw=None, length=None):
    """A safetensors file: the 8-byte header length (`length` if given), the header (JSON of `header`, or `raw`), then `body`."""
    text = raw if raw is not None else json.dumps(header).encode()
    return (len(text) if length is None else length).to_bytes(8, "little") + text + body


def entry(data_offsets, shape=(2,), dtype="F32"):
    return {"dtype": dtype, "shape": list(shape) if isinstance(shape, tuple) else shape, "data_offsets": data_offsets}


def without(field):
    return {key: value for key, value in entry([0, 8]).items() if key != field}


VALID = file_bytes({"a": entry([0, 8])}, bytes(8))
VALID_HEADER = json.dumps({"a": entry([0, 8])}).encode()

CORRUPT_FILES = [  # (file bytes, fragments the message must hold, whether the reference safetensors reader also refuses it)
    pytest.param(b"", ["0 bytes", "header length"], True, id="empty"),
    pytest.param(VALID[:5], ["5 bytes", "header length"], True, id="shorter than the length field"),
    pytest.param(file_bytes({"a": entry([0, 8])}, bytes(8), length=2 ** 63), ["header length 9223372036854775808"], True, id="length 2**63"),
    pytest.param(file_bytes({"a": entry([0, 8])}, bytes(8), length=2 ** 64 - 1), ["header length 18446744073709551615"], True, id="length 2**64-1"),
    pytest.param(file_bytes({}, length=100_000_001), ["header length 100000001"], True, id="length over the limit"),
    pytest.param(VALID[:30], ["header length", "30-byte file"], True, id="truncated in the header"),
    pytest.param(file_bytes(raw=b'{"\xff\xfe": 1}'), ["UTF-8"], True, id="header not UTF-8"),
    pytest.param(file_bytes(raw=b'{"a": {"dtype": '), ["JSON"], True, id="header not JSON"),
    pytest.param(file_bytes(raw=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": NaN}}', body=bytes(8)), ["JSON", "NaN"], True,
                 id="NaN in the header"),  # Python's json reads NaN and Infinity; they are not JSON
    pytest.param(file_bytes(raw=b'{"__metadata__": {"a": "b"}, "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": -Infinity}}',
                            body=bytes(8)), ["JSON", "Infinity"], True, id="Infinity in the header"),
    pytest.param(file_bytes(raw=VALID_HEADER + b"\0", body=bytes(8)), ["JSON"], True, id="NUL after the JSON"),
    pytest.param(file_bytes([]), ["list", "not an object"], True, id="header a list"),
    pytest.param(file_bytes("a"), ["str", "not an object"], True, id="header a string"),
    pytest.param(file_bytes(3), ["int", "not an object"], True, id="header a number"),
    pytest.param(file_bytes(raw=b'{"a": %s, "a": %s}' % (json.dumps(entry([0, 8])).encode(), json.dumps(entry([0, 8])).encode()), body=bytes(8)),
                 ["given twice", "'a'"], False, id="name given twice"),
    pytest.param(file_bytes(raw=b'{"a": {"dtype": "F32", "dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}', body=bytes(8)),
                 ["given twice", "'dtype'"], True, id="field given twice"),
    pytest.param(file_bytes({"a": None}), ["entry 'a'", "lacks"], True, id="entry null"),
    pytest.param(file_bytes({"a": 3}), ["entry 'a'", "lacks"], True, id="entry a number"),
    pytest.param(file_bytes({"a": without("dtype")}, bytes(8)), ["entry 'a'", "lacks"], True, id="no dtype"),
    pytest.param(file_bytes({"a": without("shape")}, bytes(8)), ["entry 'a'", "lacks"], True, id="no shape"),
    pytest.param(file_bytes({"a": without("data_offsets")}, bytes(8)), ["entry 'a'", "lacks"], True, id="no data_offsets"),
    pytest.param(file_bytes({"a": entry([0, 8], dtype="F99")}, bytes(8)), ["entry 'a'", "dtype 'F99'"], True, id="unknown dtype"),
    pytest.param(file_bytes({"a": entry([0, 8], dtype="f32")}, bytes(8)), ["entry 'a'", "dtype 'f32'"], True, id="lowercase dtype"),
    pytest.param(file_bytes({"a": entry([0, 8], dtype=None)}, bytes(8)), ["entry 'a'", "dtype None"], True, id="dtype null"),
    pytest.param(file_bytes({"a": entry([0, 8], dtype=["F32"])}, bytes(8)), ["entry 'a'", "dtype ['F32']"], True, id="dtype a list"),
    pytest.param(file_bytes({"a": entry([0, 8], shape=[-1])}, bytes(8)), ["entry 'a'", "shape [-1]"], True, id="shape [-1]"),
    pytest.param(file_bytes({"a": entry([0, 8], shape=None)}, bytes(8)), ["entry 'a'", "shape None"], True, id="shape null"),
    pytest.param(file_bytes({"a": entry([0, 8], shape=[2.0])}, bytes(8)), ["entry 'a'", "shape [2.0]"], True, id="shape of floats"),
    pytest.param(file_bytes({"a": entry([0, 8], shape="2")}, bytes(8)), ["entry 'a'", "shape '2'"], True, id="shape a string"),
    pytest.param(file_bytes({"a": entry([0, 4], shape=[True])}, bytes(4)), ["entry 'a'", "shape [True]"], True, id="shape of booleans"),
    pytest.param(file_bytes({"a": entry([0, 8], shape=[[2]])}, bytes(8)), ["entry 'a'", "shape [[2]]"], True, id="shape nested"),
    pytest.param(file_bytes({"a": entry([-8, 0])}, bytes(8)), ["entry 'a'", "data_offsets [-8, 0]"], True, id="negative offsets"),
    pytest.param(file_bytes({"a": entry([0, -8], shape=(0,))}), ["entry 'a'", "data_offsets [0, -8]"], True, id="negative end"),
    pytest.param(file_bytes({"a": entry([8, 0])}, bytes(8)), ["entry 'a'", "data_offsets [8, 0]"], True, id="offsets reversed"),
    pytest.param(file_bytes({"a": entry([0])}, bytes(8)), ["entry 'a'", "data_offsets [0]"], True, id="one offset"),
    pytest.param(file_bytes({"a": entry([0, 8, 8])}, bytes(8)), ["entry 'a'", "data_offsets [0, 8, 8]"], True, id="three offsets"),
    pytest.param(file_bytes({"a": entry(["0", "8"])}, bytes(8)), ["entry 'a'", "data_offsets ['0', '8']"], True, id="offsets strings"),
    pytest.param(file_bytes({"a": entry([0, 8.0])}, bytes(8)), ["entry 'a'", "data_offsets [0, 8.0]"], True, id="offsets floats"),
    pytest.param(file_bytes({"a": entry(None)}, bytes(8)), ["entry 'a'", "data_offsets None"], True, id="offsets null"),
    pytest.param(file_bytes({"a": entry([0, 8], shape=(3,))}, bytes(8)), ["entry 'a'", "spans 8 bytes", "needs 12"], True, id="too few bytes"),
    pytest.param(file_bytes({"a": entry([0, 8], dtype="F64")}, bytes(8)), ["entry 'a'", "spans 8 bytes", "needs 16"], True, id="too many bytes"),
    pytest.param(file_bytes({"a": entry([0, 0], shape=(2 ** 40, 2 ** 40, 2 ** 40))}), ["entry 'a'", "64 bits"], True,
                 id="shape overflows 64 bits"),
    pytest.param(file_bytes({"a": entry([0, 0], shape=(2 ** 62, 2 ** 62, 0))}), ["entry 'a'", "64 bits"], True,
                 id="shape overflows 64 bits before a 0"),  # no elements, but the reference reader counts them left to right
    pytest.param(file_bytes({"a": entry([0, 8]), "b": entry([4, 12])}, bytes(12)), ["entry 'b'", "starts at data byte 4", "overlap"], True,
                 id="overlapping"),
    pytest.param(file_bytes({"a": entry([0, 8]), "b": entry([0, 8])}, bytes(8)), ["entry 'b'", "starts at data byte 0", "overlap"], True,
                 id="two entries on the same bytes"),
    pytest.param(file_bytes({"a": entry([0, 8]), "b": entry([12, 20])}, bytes(20)), ["entry 'b'", "starts at data byte 12", "hole"], True,
                 id="hole between entries"),
    pytest.param(file_bytes({"a": entry([4, 12])}, bytes(12)), ["entry 'a'", "starts at data byte 4", "hole"], True, id="hole at the start"),
    pytest.param(VALID + bytes(4), ["data has 12 bytes", "trailing"], True, id="trailing bytes"),
    pytest.param(file_bytes({}, b"\0"), ["data has 1 bytes", "trailing"], True, id="trailing bytes without entries"),
    pytest.param(VALID[:-3], ["entry 'a'", "ends at data byte 8", "truncated"], True, id="truncated in the data"),
    pytest.param(file_bytes({"a": entry([0, 8]), "b": entry([8, 16])}, bytes(8)), ["entry 'b'", "ends at data byte 16", "truncated"], True,
                 id="offsets past the end"),
    pytest.param(file_bytes({"__metadata__": "x", "a": entry([0, 8])}, bytes(8)), ["__metadata__", "'x'"], True, id="metadata a string"),
    pytest.param(file_bytes({"__metadata__": "", "a": entry([0, 8])}, bytes(8)), ["__metadata__"], True, id="metadata empty string"),
    pytest.param(file_bytes({"__metadata__": [], "a": entry([0, 8])}, bytes(8)), ["__metadata__", "[]"], True, id="metadata a list"),
    pytest.param(file_bytes({"__metadata__": {"step": 7}, "a": entry([0, 8])}, bytes(8)), ["__metadata__", "'step': 7"], True,
                 id="metadata not text"),
]


@pytest.mark.parametrize("data, fragments, reference_refuses", CORRUPT_FILES)
def test_load_refuses_a_corrupt_file_naming_the_problem(tmp_path, data, fragments, reference_refuses):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(SafetensorsError) as error:
        load(path)
    assert isinstance(error.value, ValueError)
    for fragment in [str(path)] + fragments:
        assert fragment in str(error.value), f"message {str(error.value)!r} does not mention {fragment!r}"
    if reference_refuses:  # the one exception: the reference keeps the last of two entries named alike; minigrad refuses
        with pytest.raises(Exception):
            load_file(str(path))


VALID_EDGE_FILES = [
    pytest.param(file_bytes({}), {}, id="no entries"),
    pytest.param(file_bytes(raw=b" \n" + VALID_HEADER + b"   ", body=bytes(8)), {"a": np.zeros(2, np.float32)}, id="whitespace around the JSON"),
    pytest.param(file_bytes({"a": dict(entry([0, 8]), note="x")}, bytes(8)), {"a": np.zeros(2, np.float32)}, id="an unknown field"),
    pytest.param(file_bytes({"__metadata__": None, "a": entry([0, 8])}, bytes(8)), {"a": np.zeros(2, np.float32)}, id="metadata null"),
    pytest.param(file_bytes({"b": entry([8, 12], shape=(1,), dtype="I32"), "a": entry([0, 8])}, np.array([1.5, 2, 7], "<f4").tobytes()[:8]
                            + np.array([7], "<i4").tobytes()), {"a": np.array([1.5, 2], np.float32), "b": np.array([7], np.int32)},
                 id="entries listed out of offset order"),
    pytest.param(file_bytes({"e": entry([0, 0], shape=(0, 3)), "f": entry([0, 0], shape=(0,)), "a": entry([0, 8])}, bytes(8)),
                 {"e": np.zeros((0, 3), np.float32), "f": np.zeros(0, np.float32), "a": np.zeros(2, np.float32)}, id="empty entries share an offset"),
]


@pytest.mark.parametrize("data, expected", VALID_EDGE_FILES)
def test_load_accepts_the_unusual_files_the_reference_accepts(tmp_path, data, expected):
    (tmp_path / "t.safetensors").write_bytes(data)
    assert_same_arrays(load(tmp_path / "t.safetensors"), expected)
    assert_same_arrays(load_file(str(tmp_path / "t.safetensors")), expected)


# ---- atomic, streaming save ----

REPO = Path(__file__).resolve().parent.parent
OLD = {"old": np.array([1.0, 2.0, 3.0], np.float32)}


def tensors(arrays):
    return {key: Tensor(array) for key, array in arrays.items()}

STALLING_SAVE = """
import os, sys, time
import numpy as np
from minigrad import Tensor
from minigrad.nn import state

def stall(*args):
    print("stalled", flush=True)
    time.sleep(600)

class StallingFile:  # a slow disk: half of the first write lands, then the process is stuck
    def __init__(self, file): self.file = file
    def __enter__(self): return self
    def __exit__(self, *exc): self.file.close()
    def __getattr__(self, name): return getattr(self.file, name)
    def write(self, data):
        data = bytes(data)
        self.file.write(data[:len(data) // 2])
        self.file.flush()
        stall()

if sys.argv[2] == "write":
    state.open = lambda *args, **kwargs: StallingFile(open(*args, **kwargs))
else:
    os.fsync = stall
state.save({"new": Tensor(np.full(1000, 2.0, np.float32))}, sys.argv[1])
"""


@pytest.mark.parametrize("stall_in", ["write", "fsync"])
def test_save_killed_midway_leaves_the_old_file_intact(tmp_path, stall_in):
    path = tmp_path / "model.safetensors"
    save(tensors(OLD), path)
    child = subprocess.Popen([sys.executable, "-c", STALLING_SAVE, str(path), stall_in], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "stalled", "the child finished its save without stalling"
    finally:
        child.kill()
        child.wait()
    assert_same_arrays(load(path), OLD)


SAVING_FOREVER = """
import sys
import numpy as np
from minigrad import Tensor
from minigrad.nn.state import save
versions = [{"x": Tensor(np.full(1 << 20, float(v), np.float32)), "version": Tensor(np.array([v], np.int32))} for v in range(2)]
print("saving", flush=True)
for step in range(10 ** 9):
    save(versions[step % 2], sys.argv[1])
"""


def test_save_killed_at_random_moments_always_leaves_a_whole_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save(tensors({"x": np.full(1 << 20, 0.0, np.float32), "version": np.array([0], np.int32)}), path)
    rng = random.Random(0)
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", SAVING_FOREVER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline().strip() == "saving"
            time.sleep(rng.uniform(0.05, 0.3))
        finally:
            child.kill()
            child.wait()
        loaded = load(path)
        version = loaded["version"].item()
        assert version in (0, 1)
        np.testing.assert_array_equal(loaded["x"].numpy(), np.full(1 << 20, float(version), np.float32))


class FileThatFills:
    """A real file whose second write fails as a full disk does."""
    def __init__(self, file):
        self.file, self.writes = file, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()

    def __getattr__(self, name):
        return getattr(self.file, name)

    def write(self, data):
        self.writes += 1
        if self.writes == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.file.write(data)


@pytest.mark.parametrize("fail_in", ["write", "fsync", "replace", "tensor", "interrupt"])
def test_failed_save_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path, monkeypatch, fail_in):
    path = tmp_path / "model.safetensors"
    save(tensors(OLD), path)
    new = {"a": Tensor([3.0]), "b": Tensor([4.0, 5.0])}

    def fail(*args, **kwargs):
        raise {"tensor": MemoryError(), "interrupt": KeyboardInterrupt()}.get(fail_in, OSError(errno.EIO, "I/O error"))

    if fail_in == "write":
        monkeypatch.setattr(state, "open", lambda *args, **kwargs: FileThatFills(open(*args, **kwargs)), raising=False)
    elif fail_in in ("fsync", "replace"):
        monkeypatch.setattr(os, fail_in, fail)
    else:
        monkeypatch.setattr(new["b"], "numpy", fail)
    with pytest.raises((OSError, MemoryError, KeyboardInterrupt)):
        save(new, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.safetensors"]
    assert_same_arrays(load(path), OLD)


def test_save_streams_tensor_by_tensor_in_bounded_memory(tmp_path):
    arrays = {f"w{i}": np.full(1 << 18, i, np.float32) for i in range(16)}  # 16 x 1 MiB
    state_dict = {key: Tensor(a).realize() for key, a in arrays.items()}
    total = sum(a.nbytes for a in arrays.values())
    tracemalloc.start()
    try:
        save(state_dict, tmp_path / "t.safetensors")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < total / 4, f"saving {total} bytes peaked at {peak} extra bytes: the checkpoint was copied whole"
    assert_same_arrays(load(tmp_path / "t.safetensors"), arrays)
