"""Network behaviours the API tests leave open (found by mutation testing).

- The messages of ``Network``'s refusals name what was refused: a user who loads the wrong file
  learns which names the network expects, that a lone ``.npy`` is not an archive, and which
  parameter was not an array.
- A one-layer network whose layer replaces every ``params`` (or every ``grads``) entry with new
  values still trains the live arrays: the flat storage notices and re-points.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from nplearn import SGD, Linear, Network, ReLU


def small_net() -> Network:
    return Network([Linear(3, 4, rng=0), ReLU(), Linear(4, 2, rng=1)])


def test_mismatched_state_lists_the_networks_names() -> None:
    """The message gives every name the network has, comma-separated, and what was wrong."""
    state = small_net().state_dict()
    del state["2.b"]
    with pytest.raises(ValueError, match=re.escape(
        "state does not match the network (0.W, 0.b, 2.W, 2.b): missing parameters ['2.b']"
    )):
        small_net().load_state_dict(state)


def test_a_lone_npy_file_is_not_an_archive(tmp_path: Path) -> None:
    """np.save's single array is refused as such, with the file's name."""
    path = tmp_path / "weights.npy"
    np.save(path, np.zeros(3))
    pattern = re.escape(f"{path}: not a readable .npz file of parameters (it holds a single array")
    with pytest.raises(ValueError, match=pattern):
        small_net().load(path)


def test_a_lone_npy_of_objects_is_refused_in_words(tmp_path: Path) -> None:
    """A pickled .npy: the message says the file holds Python objects and was refused."""
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"W": 1}], dtype=object), allow_pickle=True)
    pattern = re.escape(f"{path}: not a readable .npz file of parameters (it holds Python objects "
                        "(refused))")
    with pytest.raises(ValueError, match=pattern):
        small_net().load(path)


def test_a_value_that_is_not_an_array_is_named() -> None:
    """A ragged nested list cannot become an array: the parameter's name is in the message."""
    state: dict[str, object] = dict(small_net().state_dict())
    state["2.W"] = [[1.0, 2.0], [3.0]]
    with pytest.raises(ValueError, match=re.escape("parameter 2.W: not an array (")):
        small_net().load_state_dict(state)


@pytest.mark.parametrize("which", ["params", "grads"])
def test_one_layer_network_repoints_replaced_entries(which: str) -> None:
    """Replacing every entry of one dict (new arrays, new values) is seen by the next step."""
    layer = Linear(3, 2, dtype=np.float64, rng=0)
    net = Network([layer])
    net(np.ones((4, 3)))
    net.backward(np.ones((4, 2)))
    if which == "params":
        layer.params = {key: value + 1.0 for key, value in layer.params.items()}
    else:
        layer.grads = {key: 2.0 * value for key, value in layer.grads.items()}
    expected = {key: layer.params[key] - 0.1 * layer.grads[key] for key in layer.params}
    SGD(0.1).step(net)
    for key, value in expected.items():
        np.testing.assert_allclose(layer.params[key], value, rtol=1e-15, err_msg=key)
