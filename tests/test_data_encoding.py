"""minigrad.data.encoding: OneHotEncoder, OrdinalEncoder, LabelEncoder on string and numeric
categories: hand-checked codes, round trips, unknown categories, state, scikit-learn agreement."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import data

COLORS = np.array([["red", "S"], ["blue", "M"], ["red", "L"], ["green", "M"]], dtype=object)


def test_one_hot_hand_checked():
    enc = data.OneHotEncoder().fit(COLORS)
    assert [c.tolist() for c in enc.categories_] == [["blue", "green", "red"], ["L", "M", "S"]]
    expected = np.array([[0, 0, 1, 0, 0, 1],
                         [1, 0, 0, 0, 1, 0],
                         [0, 0, 1, 1, 0, 0],
                         [0, 1, 0, 0, 1, 0]], dtype=np.float64)
    np.testing.assert_array_equal(enc.transform(COLORS), expected)
    assert enc.transform(COLORS).dtype == np.float64
    assert (enc.inverse_transform(expected) == COLORS).all()
    assert enc.get_feature_names_out() == ["x0_blue", "x0_green", "x0_red", "x1_L", "x1_M",
                                           "x1_S"]
    first = data.OneHotEncoder(drop="first").fit(COLORS)
    np.testing.assert_array_equal(first.transform(COLORS), expected[:, [1, 2, 4, 5]])
    assert (first.inverse_transform(first.transform(COLORS)) == COLORS).all()


def test_one_hot_unknown_categories():
    enc = data.OneHotEncoder().fit(COLORS)
    unseen = np.array([["purple", "M"]], dtype=object)
    with pytest.raises(ValueError, match=r"OneHotEncoder.transform: found unknown categories "
                                         r"\['purple'\] in feature 0"):
        enc.transform(unseen)
    ignore = data.OneHotEncoder(handle_unknown="ignore").fit(COLORS)
    np.testing.assert_array_equal(ignore.transform(unseen), [[0, 0, 0, 0, 1, 0]])
    assert ignore.inverse_transform(ignore.transform(unseen)).tolist() == [[None, "M"]]


@given(st.integers(1, 30), st.integers(1, 3), st.integers(0, 10_000))
@settings(max_examples=30)
def test_one_hot_against_numpy_transcription(n, f, seed):
    x = np.random.default_rng(seed).integers(-2, 3, (n, f))
    enc = data.OneHotEncoder().fit(x)
    blocks = []
    for j in range(f):
        cats = np.unique(x[:, j])
        blocks.append((x[:, j][:, None] == cats[None, :]).astype(np.float64))
    np.testing.assert_array_equal(enc.transform(x), np.concatenate(blocks, axis=1))
    np.testing.assert_array_equal(enc.inverse_transform(enc.transform(x)), x)


def test_numeric_categories_on_device_and_nan(device):
    x = np.array([[1.5, np.nan], [0.5, 2.0], [1.5, np.nan]])
    enc = data.OneHotEncoder().fit(minigrad.tensor(x, device=device))
    assert enc.categories_[1][0] == 2.0 and np.isnan(enc.categories_[1][1])   # NaN sorts last
    out = enc.transform(minigrad.tensor(x, device=device))
    assert out.device == minigrad.device(device)
    np.testing.assert_array_equal(out.cpu().numpy(), [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]])
    back = enc.inverse_transform(out).cpu().numpy()
    np.testing.assert_array_equal(back, x)


def test_ordinal_encoder():
    enc = data.OrdinalEncoder().fit(COLORS)
    np.testing.assert_array_equal(enc.transform(COLORS), [[2, 2], [0, 1], [2, 0], [1, 1]])
    assert (enc.inverse_transform(enc.transform(COLORS)) == COLORS).all()
    # an explicit order is kept, not sorted
    sized = data.OrdinalEncoder(categories=[["red", "green", "blue"], ["S", "M", "L"]])
    np.testing.assert_array_equal(sized.fit_transform(COLORS), [[0, 0], [2, 1], [0, 2], [1, 1]])
    unseen = np.array([["pink", "S"]], dtype=object)
    with pytest.raises(ValueError, match="OrdinalEncoder.transform: found unknown"):
        enc.transform(unseen)
    coded = data.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1).fit(COLORS)
    np.testing.assert_array_equal(coded.transform(unseen), [[-1, 2]])
    assert coded.inverse_transform(coded.transform(unseen)).tolist() == [[None, "S"]]
    with pytest.raises(ValueError, match="unknown_value 1 is a code already used"):
        data.OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=1).fit(COLORS)
    with pytest.raises(ValueError, match=r"codes \[7.0\] of feature 0"):
        enc.inverse_transform(np.array([[7.0, 0.0]]))


def test_label_encoder(device):
    enc = data.LabelEncoder().fit(np.array(["dog", "cat", "dog", "emu"]))
    assert enc.classes_.tolist() == ["cat", "dog", "emu"]
    np.testing.assert_array_equal(enc.transform(["emu", "cat"]), [2, 0])
    assert enc.inverse_transform(np.array([1, 2])).tolist() == ["dog", "emu"]
    with pytest.raises(ValueError, match=r"previously unseen labels: \['owl'\]"):
        enc.transform(["owl"])
    with pytest.raises(ValueError, match=r"codes must lie in 0..2, got min 0, max 3"):
        enc.inverse_transform(np.array([0, 3]))
    y = minigrad.tensor([30, 10, 20, 10], device=device)
    numeric = data.LabelEncoder().fit(y)
    codes = numeric.transform(y)
    assert codes.device == minigrad.device(device)
    np.testing.assert_array_equal(codes.cpu().numpy(), [2, 0, 1, 0])
    np.testing.assert_array_equal(numeric.inverse_transform(codes).cpu().numpy(), [30, 10, 20, 10])


def test_encoder_errors_name_the_class_and_shape():
    with pytest.raises(RuntimeError, match="OneHotEncoder.transform: not fitted"):
        data.OneHotEncoder().transform(COLORS)
    with pytest.raises(RuntimeError, match="LabelEncoder.transform: not fitted"):
        data.LabelEncoder().transform([1])
    with pytest.raises(ValueError, match=r"OrdinalEncoder.fit: expected a 2-D array .*\(4,\)"):
        data.OrdinalEncoder().fit(COLORS[:, 0])
    with pytest.raises(TypeError, match="feature 0 holds int, str; a column must hold only"):
        data.OneHotEncoder().fit(np.array([["a"], [1]], dtype=object))
    enc = data.OneHotEncoder().fit(COLORS)
    with pytest.raises(ValueError, match=r"X has 1 features \(shape \(4, 1\)\).*fitted on 2"):
        enc.transform(COLORS[:, :1])
    with pytest.raises(TypeError, match="feature 0 holds numbers but was fitted on strings"):
        enc.transform(np.array([[1, 2]]))


def test_state_dict_round_trip_through_save(tmp_path):
    enc = data.OneHotEncoder(handle_unknown="ignore").fit(COLORS)
    minigrad.save(enc.state_dict(), tmp_path / "enc.npz")
    fresh = data.OneHotEncoder()
    fresh.load_state_dict(minigrad.load(tmp_path / "enc.npz"))
    assert fresh.handle_unknown == "ignore"
    probe = np.array([["green", "L"], ["teal", "S"]], dtype=object)
    np.testing.assert_array_equal(fresh.transform(probe), enc.transform(probe))
    with pytest.raises(ValueError, match="OrdinalEncoder.load_state_dict: the state is for "
                                         "'OneHotEncoder'"):
        data.OrdinalEncoder().load_state_dict(enc.state_dict())


def test_agrees_with_sklearn():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    rng = np.random.default_rng(1)
    x = np.stack([rng.choice(["a", "bb", "c", "dd"], 50), rng.choice(["x", "y"], 50)], axis=1)
    for drop in (None, "first", "if_binary"):
        ours = data.OneHotEncoder(drop=drop).fit(x)
        ref = preprocessing.OneHotEncoder(drop=drop, sparse_output=False).fit(x)
        np.testing.assert_array_equal(ours.transform(x), ref.transform(x))
        assert ours.get_feature_names_out() == list(ref.get_feature_names_out())
    np.testing.assert_array_equal(data.OrdinalEncoder().fit_transform(x),
                                  preprocessing.OrdinalEncoder().fit_transform(x))
