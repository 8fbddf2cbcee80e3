"""Ready-made classifiers built from :mod:`minigrad.nn` layers, each an ``nn.Sequential``.

- :func:`mlp`: a multilayer perceptron of any depth, with optional batch norm and dropout.
- :func:`lenet5`: LeNet-5 for 1x28x28 images (MNIST), with optional batch norm and dropout.
- :func:`lstm_classifier` and :func:`transformer_classifier`: sequence classifiers (float
  features or token ids, batch first), modules of their own rather than Sequentials.

Both return plain ``nn.Sequential`` models, so ``print(model)`` shows every layer and
``model.state_dict()`` keys are ``'0.weight'``, ``'0.bias'``, ... (index of the layer in the
Sequential). Both output raw class scores (logits): pair them with ``nn.CrossEntropyLoss``.
"""

from __future__ import annotations

import numbers

from . import nn
from .tensor import cat, tensor

__all__ = ["mlp", "lenet5", "lstm_classifier", "transformer_classifier", "LSTMClassifier",
           "TransformerClassifier", "ACTIVATIONS"]

#: Activation names accepted by :func:`mlp`, mapped to their layer class.
ACTIVATIONS = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
}


def _check_positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def _check_dropout(p, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p < 1.0:
        raise ValueError(f"{owner}: dropout must be a probability in [0, 1), got {p!r}")
    return float(p)


def mlp(in_features: int, hidden_sizes, num_classes: int, dropout: float = 0.0,
        batch_norm: bool = False, activation: str = "relu") -> nn.Sequential:
    """A multilayer perceptron classifier: ``len(hidden_sizes)`` hidden layers, then the output.

    Architecture, for ``hidden_sizes = (h_1, ..., h_k)`` (any k >= 0)::

        Flatten                           (N, ...) -> (N, in_features): (N, 1, 28, 28) -> (N, 784)
        Linear(in_features, h_1) [BatchNorm1d(h_1)] act [Dropout(p)]
        ...
        Linear(h_{k-1}, h_k)     [BatchNorm1d(h_k)] act [Dropout(p)]
        Linear(h_k, num_classes)          -> logits (N, num_classes)

    Batch norm sits between each hidden Linear and its activation (as in Ioffe and Szegedy);
    dropout follows each hidden activation. With ``hidden_sizes=()`` the model is
    ``Flatten, Linear(in_features, num_classes)``: multinomial logistic regression.

    Args:
        in_features: the number of input features (784 for MNIST's 28x28 images).
        hidden_sizes: the widths of the hidden layers, a sequence of positive ints.
        num_classes: the number of output scores.
        dropout: the dropout probability after each hidden activation (0 = no Dropout layer).
        batch_norm: add a BatchNorm1d after each hidden Linear.
        activation: one of :data:`ACTIVATIONS` (``'relu'``, ``'leaky_relu'``, ``'tanh'``,
            ``'sigmoid'``, ``'gelu'``).
    Returns:
        an ``nn.Sequential`` starting with ``Flatten`` (a no-op on 2-d input).
    """
    owner = "mlp"
    in_features = _check_positive_int(in_features, "in_features", owner)
    num_classes = _check_positive_int(num_classes, "num_classes", owner)
    if isinstance(hidden_sizes, (str, bytes)) or not hasattr(hidden_sizes, "__iter__"):
        raise ValueError(f"{owner}: hidden_sizes must be a sequence of positive ints, "
                         f"got {hidden_sizes!r}")
    hidden = [_check_positive_int(h, "each hidden size", owner) for h in hidden_sizes]
    p = _check_dropout(dropout, owner)
    if activation not in ACTIVATIONS:
        raise ValueError(f"{owner}: unknown activation {activation!r}; expected one of "
                         f"{', '.join(ACTIVATIONS)}")
    layers = [nn.Flatten()]
    width = in_features
    for h in hidden:
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(ACTIVATIONS[activation]())
        if p > 0:
            layers.append(nn.Dropout(p))
        width = h
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


def lenet5(num_classes: int = 10, in_channels: int = 1, dropout: float = 0.0,
           batch_norm: bool = False) -> nn.Sequential:
    """LeNet-5 (LeCun et al., 1998) in its common modern form, for 28x28 images.

    Architecture (shapes for a batch of N images of ``in_channels`` x 28 x 28)::

        Conv2d(in_channels, 6, 5, padding=2) [BatchNorm2d(6)]  ReLU  -> (N, 6, 28, 28)
        MaxPool2d(2)                                                 -> (N, 6, 14, 14)
        Conv2d(6, 16, 5)                     [BatchNorm2d(16)] ReLU  -> (N, 16, 10, 10)
        MaxPool2d(2)                                                 -> (N, 16, 5, 5)
        Flatten                                                      -> (N, 400)
        Linear(400, 120)                     [BatchNorm1d(120)] ReLU [Dropout(p)]
        Linear(120, 84)                      [BatchNorm1d(84)]  ReLU [Dropout(p)]
        Linear(84, num_classes)                                      -> logits (N, num_classes)

    It differs from the 1998 paper in the usual ways: ReLU instead of scaled tanh, max pooling
    instead of trainable subsampling, every C3 map connected to every S2 map, and a plain
    linear output (for cross-entropy) instead of the RBF units. 61,706 parameters for
    MNIST (one input channel, 10 classes, no batch norm).

    Args:
        num_classes: the number of output scores.
        in_channels: the channels of the input images (1 for MNIST).
        dropout: the dropout probability after each hidden fully connected layer.
        batch_norm: add batch norm after each convolution and hidden fully connected layer.
    Returns:
        an ``nn.Sequential`` taking (N, in_channels, 28, 28) float inputs.
    """
    owner = "lenet5"
    num_classes = _check_positive_int(num_classes, "num_classes", owner)
    in_channels = _check_positive_int(in_channels, "in_channels", owner)
    p = _check_dropout(dropout, owner)

    def conv_block(cin, cout, padding):
        block = [nn.Conv2d(cin, cout, 5, padding=padding)]
        if batch_norm:
            block.append(nn.BatchNorm2d(cout))
        return block + [nn.ReLU(), nn.MaxPool2d(2)]

    def dense_block(fin, fout):
        block = [nn.Linear(fin, fout)]
        if batch_norm:
            block.append(nn.BatchNorm1d(fout))
        block.append(nn.ReLU())
        if p > 0:
            block.append(nn.Dropout(p))
        return block

    layers = (conv_block(in_channels, 6, 2) + conv_block(6, 16, 0) + [nn.Flatten()]
              + dense_block(16 * 5 * 5, 120) + dense_block(120, 84)
              + [nn.Linear(84, num_classes)])
    return nn.Sequential(*layers)


# --- sequence classifiers --------------------------------------------------------------------


def _gather_rows(x, lengths):
    """x[n, lengths[n] - 1] for each n of x (N, L, F): the last valid step of each sequence."""
    rows = tensor(list(range(x.shape[0])), device=x.device)
    return x[rows, lengths - 1]


class LSTMClassifier(nn.Module):
    """[Embedding] -> LSTM (batch first) -> the last layer's state at each sequence's last step
    -> [Dropout] -> Linear -> logits. forward(x, lengths=None): x (N, L, input_size) floats, or
    (N, L) token ids when built with ``vocab_size``; ``lengths`` (N,) picks each sequence's
    last valid step of the output (with ``bidirectional``, the backward direction then starts
    on the padding: pad short sequences at the front instead, or give no lengths)."""

    def __init__(self, input_size, hidden_size, num_classes, num_layers=1,
                 bidirectional=False, dropout=0.0, vocab_size=None):
        super().__init__()
        owner = "lstm_classifier"
        hidden_size = _check_positive_int(hidden_size, "hidden_size", owner)
        p = _check_dropout(dropout, owner)
        self.embedding = None if vocab_size is None else nn.Embedding(vocab_size, input_size)
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True,
                            dropout=p if num_layers > 1 else 0.0, bidirectional=bidirectional)
        self.dropout = nn.Dropout(p)
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1),
                              _check_positive_int(num_classes, "num_classes", owner))

    def forward(self, x, lengths=None):
        if self.embedding is not None:
            x = self.embedding(x)
        output, (h_n, _) = self.lstm(x)
        if lengths is None:
            directions = 2 if self.lstm.bidirectional else 1
            last = cat([h_n[-2], h_n[-1]], dim=-1) if directions == 2 else h_n[-1]
        else:
            last = _gather_rows(output, lengths)
        return self.head(self.dropout(last))


def lstm_classifier(input_size, hidden_size, num_classes, num_layers=1, bidirectional=False,
                    dropout=0.0, vocab_size=None) -> LSTMClassifier:
    """An :class:`LSTMClassifier`: (N, L, input_size) (or token ids) -> logits (N, classes).
    For sequential MNIST: ``lstm_classifier(28, 128, 10)`` reads the 28 rows as 28 steps."""
    return LSTMClassifier(input_size, hidden_size, num_classes, num_layers, bidirectional,
                          dropout, vocab_size)


class TransformerClassifier(nn.Module):
    """Linear(input_size, d_model) (or Embedding of ``vocab_size``) + sinusoidal positions ->
    TransformerEncoder (batch first, ``norm_first``) -> LayerNorm -> mean over the
    non-padding positions -> Linear -> logits. forward(x, padding_mask=None), padding_mask
    (N, L) True at padding."""

    def __init__(self, input_size, num_classes, d_model=64, nhead=4, num_layers=2,
                 dim_feedforward=None, dropout=0.1, max_len=1024, vocab_size=None,
                 activation="gelu"):
        super().__init__()
        owner = "transformer_classifier"
        d_model = _check_positive_int(d_model, "d_model", owner)
        p = _check_dropout(dropout, owner)
        self.input = (nn.Linear(input_size, d_model) if vocab_size is None
                      else nn.Embedding(vocab_size, d_model))
        self.position = nn.PositionalEncoding(d_model, max_len, dropout=p, batch_first=True)
        layer = nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward or 4 * d_model, p,
                                           activation=activation, batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, _check_positive_int(num_classes, "num_classes", owner))

    def forward(self, x, padding_mask=None):
        h = self.position(self.input(x))
        h = self.norm(self.encoder(h, src_key_padding_mask=padding_mask))
        if padding_mask is None:
            pooled = h.mean(1)
        else:  # the mean over real positions only
            keep = (~padding_mask).to(h.dtype).unsqueeze(-1)
            pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return self.head(pooled)


def transformer_classifier(input_size, num_classes, d_model=64, nhead=4, num_layers=2,
                           dim_feedforward=None, dropout=0.1, max_len=1024, vocab_size=None,
                           activation="gelu") -> TransformerClassifier:
    """A :class:`TransformerClassifier`: (N, L, input_size) (or token ids) -> logits."""
    return TransformerClassifier(input_size, num_classes, d_model, nhead, num_layers,
                                 dim_feedforward, dropout, max_len, vocab_size, activation)
