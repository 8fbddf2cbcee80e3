"""``python -m minigrad formulas``: the formula catalogue (:mod:`minigrad.formulas`), one
formula a line, its id first; ``--show ID`` one entry with its variants and LaTeX;
``--compare ID`` how far apart its variants are on the same random inputs; ``--markdown PATH``
renders the catalogue to Markdown (docs/formulas.md)."""

from __future__ import annotations

import sys


def add_parser(commands) -> None:
    """Register ``formulas`` and its flags."""
    parser = commands.add_parser(
        "formulas", help="the formula catalogue: MSE, cross-entropy, momentum, Adam, ...",
        description="List the formulas of training texts that minigrad knows, with their "
                    "convention variants; check your own code with `python -m minigrad audit`.")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--show", metavar="ID", help="one formula: variants, LaTeX, minigrad")
    action.add_argument("--compare", metavar="ID",
                        help="the largest difference between each pair of its variants")
    action.add_argument("--markdown", metavar="PATH",
                        help="write the catalogue as Markdown to PATH (e.g. docs/formulas.md)")
    parser.set_defaults(run=run, validate=validate)


def validate(args):
    from ..formulas import FORMULAS

    for flag in ("show", "compare"):
        value = getattr(args, flag)
        if value is not None and value not in FORMULAS:
            return f"--{flag} {value!r}: unknown formula; expected one of {', '.join(FORMULAS)}"
    return None


def compare_variants(formula_id: str, trials: int = 4, seed: int = 0) -> list:
    """Lines: for each pair of variants, max |a − b| over ``trials`` random input sets."""
    import numpy as np

    from ..formulas import formula

    f = formula(formula_id)
    rng = np.random.default_rng(seed)
    cases = [f.sample(rng, case) for case in range(trials)]
    values = {v.name: [np.asarray(f.call(v.reference, c), dtype=np.float64) for c in cases]
              for v in f.variants}
    lines = [f"{f.id}: max |difference| between variants on {trials} random input sets"]
    names = list(values)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            diff = max(float(np.max(np.abs(x - y))) for x, y in zip(values[a], values[b]))
            lines.append(f"  {a} vs {b}: {diff:.6g}" + ("  (the same)" if diff < 1e-12 else ""))
    return lines


def run(args) -> int:
    from ..files import atomic_write_text
    from ..formulas import catalogue_lines, formula, render_markdown

    if args.markdown:
        try:
            atomic_write_text(args.markdown, render_markdown() + "\n",
                              "python -m minigrad formulas")
        except OSError as exc:
            print(f"python -m minigrad formulas: error: cannot write {args.markdown}: {exc}",
                  file=sys.stderr)
            return 2
        print(f"wrote {args.markdown}")
        return 0
    if args.compare:
        print("\n".join(compare_variants(args.compare)))
        return 0
    if args.show:
        f = formula(args.show)
        print(f"{f.id}: {f.title}; called as fn({', '.join(f.signature)})")
        for v in f.variants:
            print(f"  {v.name}: {v.text}" + (f"  ({v.note})" if v.note else ""))
            print(f"      LaTeX: {v.latex}" + (f"   minigrad: {v.minigrad_name}"
                                              if v.minigrad_name else ""))
        for text, _ in f.mistakes:
            print(f"  known mistake: {text}")
        return 0
    print("\n".join(catalogue_lines()))
    return 0
