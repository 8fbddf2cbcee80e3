"""How :mod:`minigrad.explain` shows what it read: :class:`Explanation` (a title, formula
lines, tables, notes, a plot) rendered as a table, Markdown or JSON; the formula lines taken
from a docstring; a terminal plot. Nothing here computes any math of the objects explained."""

from __future__ import annotations

import inspect
import json
import textwrap

__all__ = ["Explanation", "Section", "ascii_plot", "formula_lines"]


class Section:
    """A titled table: ``headers`` and ``rows`` (lists of numbers and strings)."""

    def __init__(self, title: str, headers, rows):
        self.title = title
        self.headers = list(headers)
        self.rows = [list(row) for row in rows]

    def to_dict(self) -> dict:
        return {"title": self.title, "headers": self.headers, "rows": self.rows}


class Explanation:
    """The account of one object: a title, its formula lines, tables, notes and an optional
    terminal plot. ``str()`` is the table form; :meth:`render` takes 'table', 'markdown' or
    'json'."""

    def __init__(self, title: str, formula, sections, notes=(), plot=None):
        self.title = title
        self.formula = list(formula)
        self.sections = list(sections)
        self.notes = list(notes)
        self.plot = plot

    def to_dict(self) -> dict:
        return {"title": self.title, "formula": self.formula,
                "sections": [s.to_dict() for s in self.sections], "notes": self.notes}

    def render(self, format: str = "table") -> str:
        if format == "json":
            return json.dumps(self.to_dict(), indent=1, ensure_ascii=False)
        if format == "markdown":
            return self._markdown()
        if format == "table":
            return self._table()
        raise ValueError(f"Explanation.render: format must be 'table', 'markdown' or 'json', "
                         f"got {format!r}")

    def __str__(self):
        return self._table()

    def _table(self) -> str:
        lines = textwrap.wrap(self.title, 100, subsequent_indent="    ")
        lines += ["  " + line for line in self.formula]
        for section in self.sections:
            cells = [[_cell(v) for v in row] for row in section.rows]
            widths = [max([len(h)] + [len(row[i]) for row in cells])
                      for i, h in enumerate(section.headers)]
            lines.append(section.title)
            lines.append(" ".join(h.rjust(w) for h, w in zip(section.headers, widths)))
            lines.extend(" ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)
        lines.extend(self.notes)
        if self.plot:
            lines.extend(self.plot)
        return "\n".join(lines)

    def _markdown(self) -> str:
        lines = [f"**{self.title}**", "", "```"] + self.formula + ["```"]
        for section in self.sections:
            lines += ["", f"*{section.title}*", "",
                      "| " + " | ".join(section.headers) + " |",
                      "|" + "---|" * len(section.headers)]
            lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in section.rows]
        if self.notes:
            lines += [""] + self.notes
        if self.plot:
            lines += ["", "```"] + self.plot + ["```"]
        return "\n".join(lines)


def _cell(value) -> str:
    """A table cell: floats to 6 significant digits, everything else as text."""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def formula_lines(obj) -> list:
    """The formula of a class or function, from its docstring: the first literal block (the
    indented lines after a line ending in '::'), else the first paragraph."""
    doc = inspect.getdoc(obj) or ""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith("::"):
            block = []
            for following in lines[i + 1:]:
                if following.strip() and not following.startswith(" "):
                    break
                block.append(following)
            while block and not block[-1].strip():
                block.pop()
            while block and not block[0].strip():
                block.pop(0)
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            return [b[indent:] for b in block]
    paragraphs = doc.split("\n\n")
    lines = [line.strip() for line in paragraphs[0].splitlines()]
    for paragraph in paragraphs[1:]:
        if paragraph.startswith(" "):                  # an indented formula block
            block = paragraph.splitlines()
            indent = min(len(b) - len(b.lstrip()) for b in block if b.strip())
            lines += [b[indent:] for b in block]
    return lines


def _floats(tensor) -> list:
    """A tensor's values as a flat list of Python numbers (explain shows small CPU tensors)."""
    return [v for v in _flat(tensor.detach().cpu().numpy().tolist())]


def _flat(value):
    if isinstance(value, list):
        for item in value:
            yield from _flat(item)
    else:
        yield value


def _index_names(shape) -> list:
    """'[0]', '[0,1]', ... for every element of an array of ``shape``, row-major."""
    names = [""]
    for size in shape:
        names = [f"{n},{i}" if n else str(i) for n in names for i in range(size)]
    return [f"[{n}]" for n in names]



def ascii_plot(values, height: int = 8, axis: str = "t") -> list:
    """A terminal plot of ``values`` (one column per value), the top and bottom labelled;
    ``axis`` names the horizontal axis (its values are 0 .. len − 1)."""
    low, high = min(values), max(values)
    span = high - low or 1.0
    levels = [round((v - low) / span * (height - 1)) for v in values]
    label_width = max(len(f"{high:.4g}"), len(f"{low:.4g}"))
    lines = []
    for row in range(height - 1, -1, -1):
        label = f"{high:.4g}" if row == height - 1 else f"{low:.4g}" if row == 0 else ""
        marks = "".join("*" if level == row else " " for level in levels)
        lines.append(f"{label.rjust(label_width)} |{marks}")
    lines.append(" " * label_width + " +" + "-" * len(values) + f" {axis} = 0..{len(values) - 1}")
    return lines
