"""Data for training: datasets and loaders, splits, preprocessing fitted on training data only,
batch-wise image augmentation, the IDX/MNIST reader (local files only) and synthetic sets.

Names follow ``torch.utils.data`` (``Dataset``, ``TensorDataset``, ``DataLoader``,
``random_split``, ``Subset``) and scikit-learn (``KFold``, ``StandardScaler``, ``MinMaxScaler``,
``SimpleImputer``, ``make_moons``, ``make_blobs``, ...).
"""

from .augment import Compose, GaussianNoise, RandomCrop, RandomHorizontalFlip
from .dataset import Dataset, KFold, Subset, TensorDataset, kfold_indices, random_split
from .idx import IDXError, load_mnist, read_idx
from .loader import DataLoader, collate
from .preprocessing import MinMaxScaler, SimpleImputer, StandardScaler
from .synthetic import RegressionData, make_blobs, make_moons, make_regression, make_spirals

__all__ = [
    "Dataset", "TensorDataset", "Subset", "DataLoader", "collate", "random_split", "KFold",
    "kfold_indices", "StandardScaler", "MinMaxScaler", "SimpleImputer", "RandomCrop",
    "RandomHorizontalFlip", "GaussianNoise", "Compose", "read_idx", "load_mnist", "IDXError",
    "make_regression", "make_moons", "make_spirals", "make_blobs", "RegressionData",
]
