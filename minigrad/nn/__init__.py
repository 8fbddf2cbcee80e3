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

from .losses import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HingeLoss, HuberLoss,
                     KLDivLoss, L1Loss, MSELoss, MultiMarginLoss, NLLLoss)

__all__ = [
    "Module", "Parameter", "Sequential", "ModuleList",
    "Identity", "Linear", "Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "Dropout", "BatchNorm1d", "BatchNorm2d", "LayerNorm",
    "Embedding", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax",
    "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "HingeLoss", "MultiMarginLoss", "KLDivLoss",
    "SyncBatchNorm", "functional", "init", "parallel", "utils",
]
