"""Knowledge distillation on MNIST (Hinton, Vinyals & Dean 2015): a 784-32-10 student
trained against a 784-512-256-10 teacher's softened outputs, next to the same student
trained on the labels alone, over 3 seeds.

The student's loss is ``nn.functional.distillation_loss``::

    L = α · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − α) · CE(z_s, y)

added to ``fit`` by the ``nn.distillation.Distillation`` callback (the teacher runs in eval
mode under no_grad on each training batch). The script prints each seed's test accuracy for
both students, their means and the gain.

Two regimes. By default both students see the whole training set, as the teacher did. With
``--student-size N`` the students see only N labelled training images (a random subset per
seed, the same for both students of a seed), the teacher still the full set: Hinton et al.'s
§6.1 experiment (a model trained on 3% of the data with the full-data model's soft targets).
There the labels-only student overfits, which is where soft targets are expected to help; on
the full set a 784-32-10 student underfits (training accuracy ≈ 97% at 10 epochs) and a term
that constrains it more has nothing to correct.

    python examples/distillation.py --data-dir /path/to/mnist     # or MINIGRAD_DATA
    python examples/distillation.py --temperature 4 --alpha 0.9 --seeds 3
    python examples/distillation.py --student-size 1800 --epochs 100   # 3% of the images
    python examples/distillation.py --quick     # 3,000 training images, 1 epoch (tests)
"""

from __future__ import annotations

import argparse
import json

import numpy as np

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table

import minigrad
from minigrad import models, nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn.distillation import Distillation
from minigrad.quantization import measure
from minigrad.training import fit


def train(model, train_set, epochs, lr, batch_size, seed, callbacks=()):
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=seed)
    fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr), epochs,
        callbacks=list(callbacks), progress=False)
    return model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--teacher-epochs", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10, help="student epochs (10)")
    parser.add_argument("--student-hidden", type=int, default=32)
    parser.add_argument("--temperature", type=float, default=4.0)
    parser.add_argument("--alpha", type=float, default=0.9)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--student-size", type=int, default=None,
                        help="labelled training images the students see (default: all)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training and 1,000 test images, 1 epoch each, 1 seed")
    args = parser.parse_args(argv)
    if args.quick:
        args.teacher_epochs, args.epochs, args.seeds, args.train_size = 1, 1, 1, 3000
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    train_set = TensorDataset(x_train, y_train)
    x_test_t, y_test_t = minigrad.tensor(x_test), minigrad.tensor(y_test)
    if args.student_size is not None and not 0 < args.student_size <= len(x_train):
        parser.error(f"--student-size must be in 1..{len(x_train)}, got {args.student_size}")

    minigrad.manual_seed(0)
    teacher = train(models.mlp(784, (512, 256), 10, dropout=0.2), train_set,
                    args.teacher_epochs, args.lr, args.batch_size, 0)
    teacher_acc = measure(teacher, x_test_t, y_test_t, repeats=1)["accuracy"]
    print(f"teacher 784-512-256-10: test accuracy {100 * teacher_acc:.2f}% "
          f"({args.teacher_epochs} epochs, {len(x_train):,} images)\n")
    rows, plain, distilled, train_accuracy = [], [], [], []
    for seed in range(1, args.seeds + 1):
        student_set, x_seen, y_seen = train_set, x_train, y_train
        if args.student_size is not None:
            keep = np.random.default_rng(seed).permutation(len(x_train))[:args.student_size]
            x_seen, y_seen = x_train[keep], y_train[keep]
            student_set = TensorDataset(x_seen, y_seen)
        x_seen_t, y_seen_t = minigrad.tensor(x_seen), minigrad.tensor(y_seen)
        accuracies, seen = [], []
        for with_teacher in (False, True):
            minigrad.manual_seed(seed)      # both students start from the same weights
            student = models.mlp(784, (args.student_hidden,), 10)
            callbacks = [Distillation(teacher, args.temperature, args.alpha)] \
                if with_teacher else []
            train(student, student_set, args.epochs, args.lr, args.batch_size, seed, callbacks)
            accuracies.append(measure(student, x_test_t, y_test_t, repeats=1)["accuracy"])
            seen.append(measure(student, x_seen_t, y_seen_t, repeats=1)["accuracy"])
        plain.append(accuracies[0])
        distilled.append(accuracies[1])
        train_accuracy.append(seen)
        rows.append([f"seed {seed}", 100 * accuracies[0], 100 * accuracies[1],
                     100 * (accuracies[1] - accuracies[0]), 100 * seen[0], 100 * seen[1]])
    mean_plain, mean_distilled = sum(plain) / len(plain), sum(distilled) / len(distilled)
    mean_seen = [sum(a[i] for a in train_accuracy) / len(train_accuracy) for i in (0, 1)]
    rows.append(["mean", 100 * mean_plain, 100 * mean_distilled,
                 100 * (mean_distilled - mean_plain), 100 * mean_seen[0], 100 * mean_seen[1]])
    seen_images = len(x_train) if args.student_size is None else args.student_size
    print(f"student 784-{args.student_hidden}-10, {args.epochs} epochs, T={args.temperature}, "
          f"alpha={args.alpha}, {seen_images:,} training images")
    print_table(["", "labels only %", "distilled %", "gain (points)", "train: labels only %",
                 "train: distilled %"], rows, ["", ".2f", ".2f", "+.2f", ".2f", ".2f"])
    if args.json:
        from minigrad.files import atomic_write_text
        report = {"teacher_accuracy": teacher_acc, "labels_only": plain, "distilled": distilled,
                  "train_accuracy_labels_only_distilled": train_accuracy,
                  "settings": {k: v for k, v in vars(args).items() if k != "data_dir"}}
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n", "distillation")


if __name__ == "__main__":
    main()
