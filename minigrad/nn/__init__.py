"""Neural-network building blocks, with ``torch.nn``'s names and semantics: Module and
Parameter, containers, layers, activations, initialization (:mod:`minigrad.nn.init`) and the
same operations as functions (:mod:`minigrad.nn.functional`).
"""

from . import functional, init, parallel, utils
from .conv import AvgPool2d, Conv2d, MaxPool2d
from .layers import (GELU, BatchNorm1d, BatchNorm2d, Dropout, Embedding, Flatten, Identity,
                     LayerNorm, LeakyReLU, Linear, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh)
from .module import Module, ModuleList, Parameter, Sequential
from .parallel import SyncBatchNorm
from .rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .attention import (MultiheadAttention, PositionalEncoding, TransformerEncoder,
                        TransformerEncoderLayer)

from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, HuberLoss,
                     KLDivLoss, L1Loss, MSELoss, MultiMarginLoss, NLLLoss)
from .distillation import DistillationLoss

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList",
    "Identity", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "Embedding", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax",
    "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "HingeLoss", "MultiMarginLoss", "KLDivLoss", "DistillationLoss",
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
    "MultiheadAttention", "TransformerEncoderLayer", "TransformerEncoder", "PositionalEncoding",
    "SyncBatchNorm", "functional", "init", "parallel", "utils",
]
