"""SPEC "nn", state: finding tensors, loading a state dict, and the safetensors files that save and load write and read,
checked against the `safetensors` package's NumPy API both ways."""
import json
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from minigrad import Tensor, dtypes, nn
from minigrad.nn.state import get_parameters, get_state_dict, load, load_state_dict, save
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


def test_get_parameters_finds_every_tensor_once():
    block = Block()
    block.shared = block.layers[0].weight  # the same tensor under a second key
    params = get_parameters(block)
    assert len(params) == 7 and any(p is block.layers[0].weight for p in params)


def test_load_state_dict_copies_values_into_the_same_tensors():
    source, target = Block(), Block()
    weight = target.layers[0].weight
    load_state_dict(target, get_state_dict(source))
    assert target.layers[0].weight is weight
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)))
    np.testing.assert_array_equal(target(x).numpy(), source(x).numpy())


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


def test_save_names_an_unsupported_dtype(tmp_path):
    with raises_naming("big", "int8"):
        save({"big": np.zeros(2, dtype=np.int8)}, tmp_path / "t.safetensors")


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
