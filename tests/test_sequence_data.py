"""Sequence data: pad_sequence against a NumPy transcription (both layouts and sides) with its
gradient, pad_collate's lengths and mask, PaddedSequenceDataset through the DataLoader,
Vocabulary (char and word, unknown token, ordering, save/load) and TextDataset windows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend
from minigrad.data import (DataLoader, PaddedSequenceDataset, TextDataset, Vocabulary,
                           pad_collate, pad_sequence)


def _cpu(t):
    return backend.to_device(t.detach().data, "cpu")


@settings(max_examples=30)
@given(lengths=st.lists(st.integers(0, 4), min_size=1, max_size=4).filter(lambda l: max(l) > 0),
       trailing=st.lists(st.integers(1, 3), max_size=2), batch_first=st.booleans(),
       side=st.sampled_from(["right", "left"]), value=st.sampled_from([0.0, -1.5]),
       seed=st.integers(0, 2**31))
def test_pad_sequence_matches_numpy(lengths, trailing, batch_first, side, value, seed, device):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(n,) + tuple(trailing)) for n in lengths]
    longest = max(lengths)
    expected = np.full((len(arrays), longest) + tuple(trailing), value)
    for b, a in enumerate(arrays):
        if side == "right":
            expected[b, :len(a)] = a
        else:
            expected[b, longest - len(a):] = a
    if not batch_first:
        expected = expected.swapaxes(0, 1)
    seqs = [mg.tensor(a, device=device, requires_grad=True) for a in arrays]
    out = pad_sequence(seqs, batch_first=batch_first, padding_value=value, padding_side=side)
    np.testing.assert_array_equal(_cpu(out), expected)
    upstream = rng.normal(size=expected.shape)
    (out * mg.tensor(upstream, device=device)).sum().backward()
    up = upstream if batch_first else upstream.swapaxes(0, 1)
    for b, (s, a) in enumerate(zip(seqs, arrays)):
        part = up[b, :len(a)] if side == "right" else up[b, longest - len(a):]
        np.testing.assert_array_equal(_cpu(s.grad), part)


def test_pad_collate_lengths_and_mask(device):
    samples = [(mg.tensor([1, 2, 3], device=device), 0), (mg.tensor([4], device=device), 1),
               (mg.tensor([5, 6], device=device), 1)]
    batch = pad_collate(samples, padding_value=-1)
    np.testing.assert_array_equal(_cpu(batch.inputs), [[1, 2, 3], [4, -1, -1], [5, 6, -1]])
    np.testing.assert_array_equal(_cpu(batch.lengths), [3, 1, 2])
    np.testing.assert_array_equal(_cpu(batch.padding_mask), [[False, False, False],
                                                             [False, True, True],
                                                             [False, False, True]])
    assert batch.padding_mask.dtype == mg.bool_ and batch.lengths.dtype == mg.int64
    np.testing.assert_array_equal(_cpu(batch.targets), [0, 1, 1])
    no_targets = pad_collate([mg.tensor([1.0]), mg.tensor([2.0, 3.0])], batch_first=False)
    assert no_targets.targets is None and no_targets.inputs.shape == (2, 2)


def test_padded_dataset_through_the_loader():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(n, 2)).astype(np.float32) for n in (3, 5, 1, 4)]
    ds = PaddedSequenceDataset(seqs, targets=[0, 1, 0, 1])
    batches = list(DataLoader(ds, batch_size=2))
    assert [tuple(b.inputs.shape) for b in batches] == [(2, 5, 2), (2, 4, 2)]
    np.testing.assert_array_equal(_cpu(batches[1].lengths), [1, 4])
    np.testing.assert_array_equal(_cpu(batches[0].inputs)[0, 3:], 0.0)
    with pytest.raises(ValueError, match="PaddedSequenceDataset: 4 sequences but 3 targets"):
        PaddedSequenceDataset(seqs, targets=[0, 1, 0])


def test_pad_sequence_bad_input():
    with pytest.raises(ValueError, match=r"pad_sequence: sequences must share.*\(2, 3\), \(2, 4\)"):
        pad_sequence([mg.zeros((2, 3)), mg.zeros((2, 4))])
    with pytest.raises(ValueError, match="pad_sequence: no sequences"):
        pad_sequence([])


def test_vocabulary_char_and_word(tmp_path):
    text = "abracadabra"
    vocab = Vocabulary.from_text(text)
    # <unk>, then by count: a (5), b (2), r (2; b seen first), c (1), d (1)
    assert vocab.itos == ["<unk>", "a", "b", "r", "c", "d"]
    ids = vocab.encode("abcz")
    assert ids == [1, 2, 4, vocab.unk_index] and vocab.unk_index == 0
    assert vocab.decode(vocab.encode(text)) == text
    assert len(vocab) == 6 and vocab["z"] == 0 and "a" in vocab
    words = Vocabulary.from_text("the cat saw the dog the end", level="word", min_freq=2,
                                 specials=("<pad>", "<unk>"))
    assert words.itos == ["<pad>", "<unk>", "the"]
    assert words.encode("the bird") == [2, 1] and words.unk_index == 1
    assert words.decode([2, 1]) == "the <unk>"
    capped = Vocabulary.from_text(text, max_size=3)
    assert capped.itos == ["<unk>", "a", "b"]
    vocab.save(tmp_path / "vocab.json")
    again = Vocabulary.load(tmp_path / "vocab.json")
    assert again.itos == vocab.itos and again.encode("abcz") == ids
    with pytest.raises(IndexError, match=r"Vocabulary.decode: indices \[9\] outside \[0, 6\)"):
        vocab.decode([1, 9])
    with pytest.raises(ValueError, match="Vocabulary: level"):
        Vocabulary.from_text(text, level="sentence")


@settings(max_examples=25)
@given(n=st.integers(2, 30), seq_len=st.integers(1, 6), stride=st.sampled_from([None, 1, 3]))
def test_text_dataset_windows(n, seq_len, stride):
    if n < seq_len + 1:
        with pytest.raises(ValueError, match="TextDataset"):
            TextDataset(np.arange(n), seq_len, stride)
        return
    ds = TextDataset(np.arange(n) * 10, seq_len, stride)
    step = seq_len if stride is None else stride
    starts = list(range(0, n - seq_len, step))
    assert len(ds) == len(starts)
    x, y = ds.get_batch(np.arange(len(ds)))
    for row, s in enumerate(starts):
        np.testing.assert_array_equal(_cpu(x)[row], np.arange(s, s + seq_len) * 10)
        np.testing.assert_array_equal(_cpu(y)[row], np.arange(s + 1, s + seq_len + 1) * 10)
    assert x.dtype == mg.int64
    x0, _ = ds[0]
    assert x0.shape == (seq_len,)
