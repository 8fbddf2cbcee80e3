"""Data for training: datasets and loaders, splits, preprocessing fitted on training data only,
batch-wise image augmentation, the IDX/MNIST reader (local files only) and synthetic sets.

Names follow ``torch.utils.data`` (``Dataset``, ``TensorDataset``, ``DataLoader``,
``random_split``, ``Subset``) and scikit-learn (``KFold``, ``StandardScaler``, ``MinMaxScaler``,
``SimpleImputer``, ``make_moons``, ``make_blobs``, ...).

Data preparation follows scikit-learn's estimator contract (``fit`` on the training split,
``transform`` anywhere, fitted attributes ending in ``_``, transform-before-fit is an error):
cleaning (``drop_duplicates``, ``OutlierDetector``, ``RobustScaler``), encoding
(``OneHotEncoder``, ``OrdinalEncoder``, ``LabelEncoder``), feature selection
(``VarianceThreshold``, ``SelectKBest``, ``RFE``, ``SelectFromModel``) and extraction (``PCA``,
``LinearDiscriminantAnalysis``, ``FeatureHasher``), resampling (``RandomOverSampler``,
``SMOTE``, ``RandomUnderSampler``, imbalanced-learn's names; ``WeightedRandomSampler``,
PyTorch's), time series (``moving_average`` ... ``SlidingWindowDataset``), more augmentation
(``RandomRotation``, ``RandomAffine``, ``ColorJitter``, ``RandomErasing``, ``Normalize``) and
``Pipeline`` with ``state_dict`` for checkpoints.
"""

from .augment import Compose, GaussianNoise, RandomCrop, RandomHorizontalFlip
from .cleaning import OutlierDetector, RobustScaler, drop_duplicates
from .dataset import Dataset, KFold, Subset, TensorDataset, kfold_indices, random_split
from .decomposition import PCA, LinearDiscriminantAnalysis
from .distributed import DistributedSampler
from .encoding import LabelEncoder, OneHotEncoder, OrdinalEncoder
from .geometric import RandomAffine, RandomRotation, bilinear_resample
from .hashing import FeatureHasher, murmurhash3_32
from .idx import IDXError, load_mnist, read_idx
from .linear_model import LinearModel
from .loader import DataLoader, collate
from .photometric import ColorJitter, Normalize, RandomErasing
from .pipeline import Pipeline
from .preprocessing import MinMaxScaler, SimpleImputer, StandardScaler
from .resampling import (SMOTE, RandomOverSampler, RandomUnderSampler, WeightedRandomSampler,
                         nearest_neighbors)
from .sequence import (PaddedBatch, PaddedSequenceDataset, TextDataset, Vocabulary,
                       pad_collate, pad_sequence)
from .selection import (RFE, SelectFromModel, SelectKBest, VarianceThreshold, f_classif,
                        f_regression, mutual_info_classif)
from .splits import StratifiedKFold, train_val_test_split
from .synthetic import RegressionData, make_blobs, make_moons, make_regression, make_spirals
from .timeseries import (DecomposeResult, SlidingWindowDataset, detrend, difference,
                         exponential_smoothing, holt_linear, moving_average, seasonal_decompose)

__all__ = [
    "DistributedSampler",
    "Dataset", "TensorDataset", "Subset", "DataLoader", "collate", "random_split", "KFold",
    "StratifiedKFold", "train_val_test_split",
    "kfold_indices", "StandardScaler", "MinMaxScaler", "SimpleImputer", "RandomCrop",
    "RandomHorizontalFlip", "GaussianNoise", "Compose", "read_idx", "load_mnist", "IDXError",
    "make_regression", "make_moons", "make_spirals", "make_blobs", "RegressionData",
    # data preparation (scikit-learn's names)
    "drop_duplicates", "OutlierDetector", "RobustScaler", "OneHotEncoder", "OrdinalEncoder",
    "LabelEncoder", "PCA", "LinearDiscriminantAnalysis", "FeatureHasher", "murmurhash3_32",
    "Pipeline", "RandomOverSampler", "SMOTE", "RandomUnderSampler", "WeightedRandomSampler",
    "nearest_neighbors", "moving_average", "exponential_smoothing", "holt_linear", "difference",
    "detrend", "seasonal_decompose", "DecomposeResult", "SlidingWindowDataset",
    "VarianceThreshold", "SelectKBest", "RFE", "SelectFromModel", "f_classif", "f_regression",
    "mutual_info_classif", "LinearModel", "RandomRotation", "RandomAffine", "bilinear_resample",
    "ColorJitter", "RandomErasing", "Normalize",
    # sequences
    "pad_sequence", "pad_collate", "PaddedBatch", "PaddedSequenceDataset", "Vocabulary",
    "TextDataset",
]
