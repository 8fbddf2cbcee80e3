"""The data of a classifier run: a synthetic set drawn from the seed (with its own test set) or
MNIST from local IDX files, the validation split, and standardization fitted on the training
part only."""

from __future__ import annotations

from typing import NamedTuple

from .config import TEST_SEED_OFFSET, ConfigError


class TrainData(NamedTuple):
    """The three splits as arrays (float32 inputs, int64 labels) and what the model needs."""
    x_train: object
    y_train: object
    x_val: object    # None without a validation split
    y_val: object
    x_test: object
    y_test: object
    num_classes: int
    input_shape: tuple  # of one sample, e.g. (2,), (784,) or (1, 28, 28)


def load_data(config: dict) -> TrainData:
    """Load or draw the data of ``config``: split off the validation set (``random_split`` with
    the seed), and standardize with statistics of the remaining training part only (one mean
    and std per feature for the synthetic sets; one for all pixels of MNIST)."""
    import numpy as np

    from minigrad.data import (IDXError, StandardScaler, TensorDataset, load_mnist,
                               make_blobs, make_moons, make_spirals, random_split)

    data, seed, limit = config["data"], config["seed"], config["limit"]
    if data == "mnist":
        try:
            x_train, y_train = load_mnist(config["data_dir"], train=True)
            x_test, y_test = load_mnist(config["data_dir"], train=False)
        except (FileNotFoundError, IDXError) as exc:
            raise ConfigError(f"--data-dir {config['data_dir']!r}: {exc}") from None
        # LeNet takes (1, 28, 28) images, the sequence models 28 rows of 28 pixels (time
        # steps), the MLP a flat 784
        shape = {"lenet": (1, 28, 28), "lstm": (28, 28), "transformer": (28, 28)}.get(
            config["model"], (784,))
        axis = None
    else:
        n, noise, test_seed = config["samples"], config["noise"], seed + TEST_SEED_OFFSET
        n_test = max(1, n // 2)
        if data == "moons":
            x_train, y_train = make_moons(n, noise=noise, seed=seed)
            x_test, y_test = make_moons(n_test, noise=noise, seed=test_seed)
        elif data == "spirals":
            k = config["classes"]
            x_train, y_train = make_spirals(n, classes=k, noise=noise, seed=seed)
            x_test, y_test = make_spirals(n_test, classes=k, noise=noise, seed=test_seed)
        else:  # blobs: one set of centers for both sets, drawn from the seed
            centers = np.random.default_rng(seed).uniform(-10.0, 10.0, (config["classes"], 2))
            x_train, y_train = make_blobs(n, centers=centers, std=noise, seed=seed)
            x_test, y_test = make_blobs(n_test, centers=centers, std=noise, seed=test_seed)
        shape = (2,)
        axis = 0
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]

    x_val = y_val = None
    if config["val_fraction"] > 0:
        n = len(y_train)
        n_val = round(n * config["val_fraction"])
        if not 1 <= n_val < n:
            raise ConfigError(f"--val-fraction {config['val_fraction']} of {n} training "
                              f"samples leaves {n_val} for validation and {n - n_val} for "
                              f"training; both need at least one")
        train_part, val_part = random_split(TensorDataset(y_train), [n - n_val, n_val],
                                            seed=seed)
        x_val, y_val = x_train[val_part.indices], y_train[val_part.indices]
        x_train, y_train = x_train[train_part.indices], y_train[train_part.indices]

    scaler = StandardScaler(axis=axis).fit(x_train)

    def prepare(x):
        return np.ascontiguousarray(scaler.transform(x), dtype=np.float32).reshape(
            (len(x),) + shape)

    return TrainData(prepare(x_train), y_train, None if x_val is None else prepare(x_val),
                     y_val, prepare(x_test), y_test, config["num_classes"], shape)
