"""A character-level language model of the standard library's own documentation: the English
help texts of ``pydoc_data.topics`` (about 465,000 characters, in every Python installation),
modelled by an LSTM and by a small causal Transformer.

The text (topics in sorted order) is split 90/10 into training and held-out parts; a
character :class:`~minigrad.data.Vocabulary` is built from the training part and
:class:`~minigrad.data.TextDataset` cuts it into windows (input = characters t..t+L-1, target
= characters t+1..t+L). Both models are trained with Adam on next-character cross-entropy;
the score is bits per character on the held-out part, cross-entropy / ln 2 (a uniform guess
over the vocabulary scores log2(V) ≈ 6.7). Each model then samples a few lines.

- LSTM: Embedding(V, 64), LSTM(64 -> 256), Linear(256 -> V).
- Transformer: Embedding(V, 128) + sinusoidal positions, 2 pre-norm encoder layers (4 heads,
  feed-forward 512, GELU) under a causal mask, LayerNorm, Linear(128 -> V).

    python examples/char_lm.py                      # both models, ~4 min each
    python examples/char_lm.py --models lstm --max-seconds 600
    python examples/char_lm.py --quick              # tiny models, a few steps
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from _common import print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TextDataset, Vocabulary
from minigrad.nn import functional as F


def load_text():
    from pydoc_data.topics import topics
    return "".join(topics[k] for k in sorted(topics))


class CharLSTM(nn.Module):
    def __init__(self, vocab_size, embed, hidden):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        output, state = self.lstm(self.embedding(ids), state)
        return self.head(output), state


class CharTransformer(nn.Module):
    def __init__(self, vocab_size, d_model, heads, layers, max_len, dropout=0.1):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, d_model)
        self.position = nn.PositionalEncoding(d_model, max_len, dropout, batch_first=True)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids, state=None):
        # Embedding starts as N(0, 1), the scale of the positions' sines: no √d_model factor
        h = self.position(self.embedding(ids))
        h = self.encoder(h, is_causal=True)  # position t sees positions 0..t only
        return self.head(self.norm(h)), None


def bits_per_char(model, dataset, batch_size=64, max_windows=None):
    """Mean next-character cross-entropy over the dataset's windows, in bits."""
    model.eval()
    n = len(dataset) if max_windows is None else min(len(dataset), max_windows)
    total, count = 0.0, 0
    with minigrad.no_grad():
        for start in range(0, n, batch_size):
            x, y = dataset.get_batch(np.arange(start, min(start + batch_size, n)))
            logits, _ = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            total += loss.item() * y.numel()
            count += y.numel()
    model.train()
    return total / count / math.log(2)


def sample(model, vocab, prompt, length, temperature, rng, window):
    """Characters drawn one at a time from softmax(logits / temperature)."""
    model.eval()
    ids = vocab.encode(prompt)
    state = None
    with minigrad.no_grad():
        if isinstance(model, CharLSTM):  # feed the prompt once, then carry (h, c)
            logits, state = model(minigrad.tensor([ids]))
            for _ in range(length):
                ids.append(_draw(logits[0, -1].numpy(), temperature, rng))
                logits, state = model(minigrad.tensor([[ids[-1]]]), state)
        else:  # re-read the last `window` characters each time
            for _ in range(length):
                logits, _ = model(minigrad.tensor([ids[-window:]]))
                ids.append(_draw(logits[0, -1].numpy(), temperature, rng))
    model.train()
    return vocab.decode(ids)


def _draw(logits, temperature, rng):
    z = logits / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(len(p), p=p / p.sum()))


def train(kind, args, vocab, train_set, test_set):
    minigrad.manual_seed(args.seed)
    if kind == "lstm":
        model = CharLSTM(len(vocab), args.lstm_embed, args.lstm_hidden)
        lr = args.lr_lstm
    else:
        model = CharTransformer(len(vocab), args.d_model, 4, args.layers, args.seq_len)
        lr = args.lr_transformer
    optimizer = optim.Adam(model.parameters(), lr=lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed,
                        drop_last=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{kind}: {n_params:,} parameters", flush=True)
    start, step = time.perf_counter(), 0
    done = False
    while not done:
        for x, y in loader:
            logits, _ = model(x)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            elapsed = time.perf_counter() - start
            if step % args.log_every == 0:
                print(f"  {kind} step {step:5d}  train {loss.item() / math.log(2):.3f} bits/char"
                      f"  ({elapsed:.0f} s)", flush=True)
            if step >= args.steps or elapsed > args.max_seconds:
                done = True
                break
    seconds = time.perf_counter() - start
    bpc = bits_per_char(model, test_set, max_windows=args.eval_windows)
    return model, bpc, step, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=["lstm", "transformer"],
                        default=["lstm", "transformer"])
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3000, help="most steps per model")
    parser.add_argument("--max-seconds", type=float, default=240.0,
                        help="training time per model (default 240)")
    parser.add_argument("--lstm-embed", type=int, default=64)
    parser.add_argument("--lstm-hidden", type=int, default=256)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--lr-lstm", type=float, default=3e-3)
    parser.add_argument("--lr-transformer", type=float, default=1e-3)
    parser.add_argument("--eval-windows", type=int, default=None,
                        help="held-out windows scored (default: all)")
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument("--sample-chars", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="tiny models, 20 steps each")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.seq_len, args.lstm_hidden, args.d_model, args.layers = 20, 32, 32, 32, 1
        args.eval_windows, args.log_every, args.sample_chars = 64, 10, 60

    text = load_text()
    split = int(len(text) * 0.9)
    vocab = Vocabulary.from_text(text[:split], level="char")
    train_ids, test_ids = vocab.encode(text[:split]), vocab.encode(text[split:])
    train_set = TextDataset(train_ids, args.seq_len, stride=args.seq_len // 2)
    test_set = TextDataset(test_ids, args.seq_len)
    print(f"pydoc_data.topics: {len(text):,} characters, vocabulary of {len(vocab)} "
          f"(uniform guess: {math.log2(len(vocab)):.2f} bits/char); {len(train_set):,} "
          f"training windows of {args.seq_len}, {len(test_ids):,} held-out characters\n")
    rows, samples = [], []
    rng = np.random.default_rng(args.seed)
    for kind in args.models:
        model, bpc, steps, seconds = train(kind, args, vocab, train_set, test_set)
        rows.append([kind, steps, seconds, bpc])
        samples.append((kind, sample(model, vocab, "The ", args.sample_chars, 0.7, rng,
                                     args.seq_len)))
    print()
    print_table(["model", "steps", "seconds", "held-out bits/char"], rows,
                ["", "", ".0f", ".3f"])
    for kind, text_out in samples:
        print(f"\n--- {kind} sample (temperature 0.7) ---\n{text_out}")


if __name__ == "__main__":
    main()
