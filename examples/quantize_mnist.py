"""int8 quantization of MNIST classifiers: float32 against dynamic int8, static int8 and
quantization-aware training (QAT), on the MLP 784-512-256-10 and LeNet-5.

For each model the script trains the float32 network (Adam), then

- dynamic (MLP only: it quantizes Linear layers): ``quantize_dynamic`` (int8 weights per
  output channel, activations quantized per batch);
- static: ``prepare`` -> 20 calibration batches of training images -> ``convert`` (integer
  Linear/Conv2d layers: int8 operands, int32 sums, one requantization per layer);
- QAT: ``prepare_qat`` on a copy of the float model, ``--qat-epochs`` (2) of fine-tuning
  with FakeQuantize on every weight and activation, then ``convert``;

and prints test accuracy, bytes of ``minigrad.save(model.state_dict())`` on disk and the
inference time per 10,000 test images (best of 3 passes, batches of 1,000).

    python examples/quantize_mnist.py --data-dir /path/to/mnist       # or MINIGRAD_DATA
    python examples/quantize_mnist.py --model lenet --json results.json
    python examples/quantize_mnist.py --quick      # 3,000 training images, 1 epoch (tests)

NumPy has no int8 matrix product behind BLAS: the integer layers run their (exact) integer
sums through float32 BLAS on the integer codes, so int8 is not faster than float32 here; the
table says by how much.
"""

from __future__ import annotations

import argparse
import copy
import json

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table

import minigrad
from minigrad import models, nn, optim
from minigrad import quantization as Q
from minigrad.data import DataLoader, TensorDataset
from minigrad.quantization.report import HEADERS, format_rows
from minigrad.training import fit


def train(model, x, y, epochs, lr, batch_size, seed):
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr), epochs,
        progress=False)
    return model.eval()


def compare(name, make, x_train, y_train, x_test, y_test, args):
    minigrad.manual_seed(args.seed)
    model = train(make(), x_train, y_train, args.epochs, args.lr, args.batch_size, args.seed)
    results = {"float32": Q.measure(model, x_test, y_test)}
    if name == "mlp":
        results["int8 dynamic"] = Q.measure(Q.quantize_dynamic(model), x_test, y_test)
    prepared = Q.prepare(model)
    Q.calibrate(prepared, x_train, batch_size=500, batches=20)
    results["int8 static"] = Q.measure(Q.convert(prepared), x_test, y_test)
    qat = Q.prepare_qat(copy.deepcopy(model))
    minigrad.manual_seed(args.seed)
    train(qat.train(), x_train, y_train, args.qat_epochs, args.qat_lr, args.batch_size,
          args.seed + 1)
    results[f"int8 QAT ({args.qat_epochs} ep)"] = Q.measure(Q.convert(qat), x_test, y_test)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--model", choices=("mlp", "lenet", "both"), default="both")
    parser.add_argument("--epochs", type=int, default=8, help="float training epochs (8)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--qat-epochs", type=int, default=2)
    parser.add_argument("--qat-lr", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training and 1,000 test images, 1 epoch, 1 QAT epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.qat_epochs, args.train_size = 1, 1, 3000
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    x_train, x_test = x_train.reshape(-1, 1, 28, 28), x_test.reshape(-1, 1, 28, 28)
    tensors = [minigrad.tensor(a) for a in (x_train, y_train, x_test, y_test)]
    builders = {"mlp": lambda: models.mlp(784, (512, 256), 10, dropout=0.2),
                "lenet": lambda: models.lenet5(10)}
    chosen = ["mlp", "lenet"] if args.model == "both" else [args.model]
    report = {}
    for name in chosen:
        results = compare(name, builders[name], *tensors, args)
        report[name] = results
        title = "MLP 784-512-256-10" if name == "mlp" else "LeNet-5"
        print(f"\n{title}: {len(x_train):,} training images, {args.epochs} epoch(s); "
              f"{len(x_test):,} test images")
        print_table(HEADERS, format_rows(results))
    if args.json:
        from minigrad.files import atomic_write_text
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n", "quantize_mnist")


if __name__ == "__main__":
    main()
