"""``python -m minigrad quantize MODEL [--mode dynamic|static] [--data-dir DIR] ...``: int8
quantization of a model the train command wrote (its model.npz, with the config.json beside
it), measured against the float model on the same run's test data: accuracy, bytes on disk,
inference time per 10,000 images. ``--out PATH`` saves the int8 state dict."""

from __future__ import annotations

import sys

from . import arguments


def add_parser(commands) -> None:
    """Register ``quantize`` and its flags."""
    quantize = commands.add_parser(
        "quantize", help="int8 quantization of a trained model, measured against float32",
        description="Quantize the model.npz of a `python -m minigrad train` run to int8 "
                    "(dynamic: int8 weights, activations quantized per batch; static: "
                    "calibrated int8 activations and integer Linear/Conv2d layers) and "
                    "compare accuracy, size on disk and inference time with the float model.")
    quantize.add_argument("model", metavar="MODEL", help="model.npz written by the train command")
    quantize.add_argument("--mode", choices=("dynamic", "static"), default="dynamic",
                          help="dynamic (Linear layers only) or static (default dynamic)")
    quantize.add_argument("--data-dir", metavar="DIR",
                          help="the MNIST folder, when it moved since training")
    quantize.add_argument("--calibration-batches", type=arguments.positive_int, default=10,
                          metavar="N", help="static mode: batches of 500 training images "
                                            "observed before converting (default 10)")
    quantize.add_argument("--repeats", type=arguments.positive_int, default=3, metavar="N",
                          help="timed passes over the test set; the best counts (default 3)")
    quantize.add_argument("--out", metavar="PATH", help="write the int8 state dict here")
    quantize.set_defaults(run=run)


def run(args) -> int:
    import minigrad as mg
    from minigrad import quantization as Q
    from minigrad.quantization.report import HEADERS, format_rows
    from minigrad.recipes.config import ConfigError
    from minigrad.recipes.data import load_data
    from minigrad.recipes.trained import load_trained_model, read_run_settings

    try:
        settings = read_run_settings(args.model, "MODEL")
        if args.data_dir:
            settings["data_dir"] = args.data_dir
        data = load_data(settings)
        model = load_trained_model(args.model, data.input_shape, data.num_classes, "MODEL")
    except ConfigError as exc:
        print(f"python -m minigrad quantize: error: {exc}", file=sys.stderr)
        return 2
    shape = (-1,) + tuple(data.input_shape)
    x_test = mg.tensor(data.x_test.reshape(shape))
    y_test = mg.tensor(data.y_test)
    if args.mode == "dynamic":
        quantized = Q.quantize_dynamic(model)
    else:
        try:
            prepared = Q.prepare(model)
        except TypeError as exc:
            print(f"python -m minigrad quantize: error: {exc}", file=sys.stderr)
            return 2
        Q.calibrate(prepared, mg.tensor(data.x_train.reshape(shape)),
                    batches=args.calibration_batches)
        quantized = Q.convert(prepared)
    results = {"float32": Q.measure(model, x_test, y_test, repeats=args.repeats),
               f"int8 {args.mode}": Q.measure(quantized, x_test, y_test, repeats=args.repeats)}
    print(f"{settings['model']} on {settings['data']}: {len(data.y_test):,} test samples")
    _print_table(HEADERS, format_rows(results))
    if args.out:
        mg.save(quantized.state_dict(), args.out)
        print(f"int8 state dict written to {args.out}")
    return 0


def _print_table(headers, rows) -> None:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(str(h).rjust(w) for h, w in zip(headers, widths)))
    for row in rows:
        print("  ".join(str(v).rjust(w) for v, w in zip(row, widths)))
