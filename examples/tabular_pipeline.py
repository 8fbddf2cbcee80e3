r"""Preparing tabular data: a classification with duplicates, missing values, outliers, a
categorical column and class imbalance, trained with and without each preparation step.

The data (generated here, seeded): six numeric features on very different scales
(x1 ~ 50 N(0, 1), x5 ~ 1000 N(0, 1), ...), a ``region`` column of strings, and a rare positive
class (about 10%)::

    logit = 1.5 z0 - 1.0 z1 + 0.8 z3 + effect[region] - 3.2,   y ~ Bernoulli(sigmoid(logit))

(z the standardized features). Then 10% of x0, x1, x3 go missing (NaN), 2% of x1 become
gross measurement errors (x30) and 5% of the rows are repeated.

Every step is fitted on the training split only and reused unchanged on the test split:

    drop_duplicates                      training rows only
    SimpleImputer(strategy='median')     vs filling NaN with 0
    OutlierDetector('iqr', 3.0, clip)    x outside [Q1 - 3 IQR, Q3 + 3 IQR] moved to the bound
    StandardScaler                       z = (x - mean) / std
    OneHotEncoder(region)                vs one ordinal code column
    SMOTE(k_neighbors=5)                 vs the imbalanced training set

and the model is :class:`minigrad.data.LinearModel` (softmax regression trained by minigrad,
full-batch gradient descent). The score is the F1 of the rare class on the test split,
``F1 = 2 TP / (2 TP + FP + FN)``. Finally the full preparation is saved with the model in one
``minigrad.save`` checkpoint, reloaded and checked to give the same predictions, and an
L1-penalized model with ``SelectFromModel`` shows which columns the L1 penalty keeps.

Run:

    python examples/tabular_pipeline.py              # 6,000 rows
    python examples/tabular_pipeline.py --quick      # 1,500 rows, fewer epochs (for the tests)
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table
import minigrad
from minigrad import data
from minigrad.metrics import f1_score

REGIONS = np.array(["east", "north", "south", "west"])
EFFECT = {"east": 0.0, "north": 1.2, "south": -0.8, "west": 0.4}
SCALES = np.array([1.0, 50.0, 0.01, 5.0, 1.0, 1000.0])
NUMERIC = [f"x{j}" for j in range(6)]


def make_table(n: int, seed: int):
    """``(numeric (n', 6) with NaN, region (n',) strings, y (n',))`` with duplicates."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 6))
    region = rng.choice(REGIONS, n, p=[0.4, 0.2, 0.25, 0.15])
    effect = np.vectorize(EFFECT.get)(region)
    logit = 1.5 * z[:, 0] - 1.0 * z[:, 1] + 0.8 * z[:, 3] + effect - 3.2
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    x = z * SCALES + np.array([0.0, 200.0, 0.5, -10.0, 3.0, 0.0])
    errors = rng.random(n) < 0.02
    x[errors, 1] *= 30.0
    for j in (0, 1, 3):
        x[rng.random(n) < 0.10, j] = np.nan
    repeat = rng.choice(n, n // 20, replace=False)
    order = rng.permutation(n + repeat.size)
    return (np.concatenate([x, x[repeat]])[order], np.concatenate([region, region[repeat]])[order],
            np.concatenate([y, y[repeat]])[order])


def prepare(steps, x_num, region, y):
    """Fit the chosen steps on the training data; return (features, labels, transform)."""
    if steps["dedupe"]:
        # the region as a code column, so a whole row (with its label) can be compared
        codes = data.OrdinalEncoder().fit(region[:, None])
        rows = np.concatenate([x_num, codes.transform(region[:, None])], axis=1)
        rows, y = data.drop_duplicates(rows, y)
        x_num, region = rows[:, :6], codes.inverse_transform(rows[:, 6:])[:, 0]
    numeric = data.Pipeline([
        ("impute", data.SimpleImputer("median") if steps["impute"] else
         data.SimpleImputer("constant", fill_value=0.0)),
        ("outliers", data.OutlierDetector("iqr", 3.0, action="clip") if steps["outliers"]
         else "passthrough"),
        ("scale", data.StandardScaler() if steps["scale"] else "passthrough"),
    ])
    categorical = data.OneHotEncoder() if steps["onehot"] else data.OrdinalEncoder()
    numeric.fit(x_num)
    categorical.fit(region[:, None])

    def transform(xn, reg):
        return np.concatenate([numeric.transform(xn), categorical.transform(reg[:, None])], 1)

    features = transform(x_num, region)
    if steps["resample"]:
        features, y = data.SMOTE(k_neighbors=5, seed=0).fit_resample(features, y)
    return features, y, transform, numeric, categorical


def run(steps, train, test, epochs):
    features, labels, transform, numeric, categorical = prepare(steps, *train)
    model = data.LinearModel(lr=0.1, epochs=epochs).fit(features, labels)
    predicted = model.predict(transform(test[0], test[1]))
    return f1_score(test[2], predicted), model, numeric, categorical, transform


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="1,500 rows, 150 epochs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.epochs = 1500, 150

    x_num, region, y = make_table(args.rows, args.seed)
    cut = int(0.7 * len(y))
    train = (x_num[:cut], region[:cut], y[:cut])
    test = (x_num[cut:], region[cut:], y[cut:])
    print(f"{len(y)} rows ({cut} train, {len(y) - cut} test), positive class "
          f"{y.mean():.1%}, {np.isnan(x_num).any(1).mean():.1%} of rows with a missing value")

    full = {"dedupe": True, "impute": True, "outliers": True, "scale": True, "onehot": True,
            "resample": True}
    variants = [("all steps", {})] + [
        (f"without {label}", {key: False}) for key, label in
        [("dedupe", "drop_duplicates"), ("impute", "median imputation (NaN -> 0)"),
         ("outliers", "outlier clipping"), ("scale", "standardization"),
         ("onehot", "one-hot (ordinal code)"), ("resample", "SMOTE")]]
    rows = []
    for name, change in variants:
        score = run({**full, **change}, train, test, args.epochs)[0]
        rows.append([name, score])
    print_table(["variant", "test F1"], rows, ["", ".3f"])

    # the fitted preparation travels with the model in one checkpoint, no pickle
    score, model, numeric, categorical, transform = run(full, train, test, args.epochs)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "tabular.npz")
        minigrad.save({"model": model.state_dict(), "numeric": numeric.state_dict(),
                       "region": categorical.state_dict()}, path)
        saved = minigrad.load(path)
    numeric2 = data.Pipeline([("impute", data.SimpleImputer()),
                              ("outliers", data.OutlierDetector(action="clip")),
                              ("scale", data.StandardScaler())])
    numeric2.load_state_dict(saved["numeric"])
    region2, model2 = data.OneHotEncoder(), data.LinearModel()
    region2.load_state_dict(saved["region"])
    model2.load_state_dict(saved["model"])
    again = model2.predict(np.concatenate([numeric2.transform(test[0]),
                                           region2.transform(test[1][:, None])], 1))
    same = bool((again == model.predict(transform(test[0], test[1]))).all())
    print(f"reloaded checkpoint gives the same test predictions: {same}")

    # L1 as feature selection: the non-zero weights of an L1-penalized model
    features, labels, *_ = prepare(full, *train)
    names = NUMERIC + [f"region={r}" for r in region2.categories_[0].tolist()]
    selector = data.SelectFromModel(data.LinearModel(alpha=0.02, lr=0.1, epochs=args.epochs))
    kept = selector.fit(features, labels).get_support(indices=True)
    print(f"L1 (alpha=0.02) keeps {len(kept)} of {len(names)} columns: "
          f"{', '.join(names[k] for k in kept)}")


if __name__ == "__main__":
    main()
