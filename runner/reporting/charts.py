"""The HTML report's charts: inline SVG, each with its numbers as a table beside it (for
screen readers, and for anyone who wants the figures)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence


def figure(key: str, caption: str, chart: str, table: Sequence[Sequence[str]]) -> str:
    head, *body = table
    heads = "".join(f"<th scope=\"col\">{html.escape(h)}</th>" for h in head)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in body)
    ident = html.escape(key.replace(".", "-"))
    labelled = chart.replace("<svg role=\"img\"", f"<svg role=\"img\" aria-labelledby="
                             f"\"{ident}-caption\" aria-describedby=\"{ident}-numbers\"", 1)
    return (f"<figure id=\"{ident}\"><figcaption id=\"{ident}-caption\">"
            f"{html.escape(caption)}</figcaption>{labelled}"
            f"<table class=\"numbers sr-only\" id=\"{ident}-numbers\"><caption>"
            f"{html.escape(caption)}</caption><thead><tr>{heads}</tr></thead><tbody>{rows}"
            f"</tbody></table></figure>")


def bar_chart(rows: Sequence[tuple[str, int]]) -> str:
    if not rows:
        return "<p>No data.</p>"
    top = max(n for _, n in rows) or 1
    label_width, bar_width, height = 280, 360, 22
    total_height = height * len(rows) + 30
    bars = []
    for i, (label, n) in enumerate(rows):
        y = i * height + 4
        width = bar_width * n / top
        bars.append(
            f"<text x=\"{label_width - 6}\" y=\"{y + 13}\" text-anchor=\"end\">"
            f"{html.escape(cut(label, 38))}</text>"
            f"<rect class=\"bar\" x=\"{label_width}\" y=\"{y}\" width=\"{width:.1f}\" "
            f"height=\"{height - 6}\" data-label=\"{html.escape(label)}\" data-value=\"{n}\">"
            f"<title>{html.escape(label)}: {n}</title></rect>"
            f"<text x=\"{label_width + width + 4:.1f}\" y=\"{y + 13}\">{n}</text>")
    axis_y = height * len(rows) + 4
    ticks = "".join(
        f"<line class=\"tick\" x1=\"{label_width + bar_width * f:.1f}\" y1=\"{axis_y}\" "
        f"x2=\"{label_width + bar_width * f:.1f}\" y2=\"{axis_y + 4}\"/>"
        f"<text x=\"{label_width + bar_width * f:.1f}\" y=\"{axis_y + 16}\" "
        f"text-anchor=\"middle\">{number(top * f)}</text>" for f in (0, 0.5, 1))
    return (f"<svg role=\"img\" class=\"chart bars\" viewBox=\"0 0 {label_width + bar_width + 60}"
            f" {total_height}\" width=\"100%\">{''.join(bars)}<line class=\"axis\" "
            f"x1=\"{label_width}\" y1=\"{axis_y}\" x2=\"{label_width + bar_width}\" "
            f"y2=\"{axis_y}\"/>{ticks}</svg>")


def line_chart(series: Mapping[str, Sequence[tuple[float, float]]], x_label: str,
                y_label: str) -> str:
    points = [p for values in series.values() for p in values]
    if not points:
        return "<p>No data.</p>"
    left, top, width, height = 56, 10, 560, 180
    max_x = max(x for x, _ in points) or 1
    max_y = max(y for _, y in points) or 1

    def at(x: float, y: float) -> str:
        return f"{left + width * x / max_x:.1f},{top + height - height * y / max_y:.1f}"

    lines = "".join(
        f"<polyline class=\"line s{i}\" fill=\"none\" data-series=\"{html.escape(name)}\" "
        f"points=\"{' '.join(at(x, y) for x, y in values)}\"/>"
        for i, (name, values) in enumerate(series.items()))
    y_ticks = "".join(
        f"<text x=\"{left - 6}\" y=\"{top + height - height * f + 4:.1f}\" "
        f"text-anchor=\"end\">{number(max_y * f)}</text>"
        f"<line class=\"grid\" x1=\"{left}\" x2=\"{left + width}\" "
        f"y1=\"{top + height - height * f:.1f}\" y2=\"{top + height - height * f:.1f}\"/>"
        for f in (0, 0.5, 1))
    x_ticks = "".join(
        f"<text x=\"{left + width * f:.1f}\" y=\"{top + height + 16}\" text-anchor=\"middle\">"
        f"{number(max_x * f)}</text>" for f in (0, 0.5, 1))
    legend = "".join(f"<text class=\"legend s{i}\" x=\"{left + 10 + 110 * i}\" y=\"{top + 12}\">"
                     f"&#9632; {html.escape(name)}</text>" for i, name in enumerate(series))
    return (f"<svg role=\"img\" class=\"chart lines\" viewBox=\"0 0 {left + width + 20} "
            f"{top + height + 44}\" width=\"100%\">{y_ticks}<line class=\"axis\" x1=\"{left}\" "
            f"y1=\"{top + height}\" x2=\"{left + width}\" y2=\"{top + height}\"/>"
            f"<line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" "
            f"y2=\"{top + height}\"/>{x_ticks}{lines}{legend}"
            f"<text x=\"{left + width / 2}\" y=\"{top + height + 36}\" text-anchor=\"middle\">"
            f"{html.escape(x_label)}</text><text x=\"12\" y=\"{top + height / 2}\" "
            f"transform=\"rotate(-90 12 {top + height / 2})\" text-anchor=\"middle\">"
            f"{html.escape(y_label)}</text></svg>")


def timeline(spans: Mapping[str, list[float]]) -> str:
    if not spans:
        return "<p>No call was made.</p>"
    start = min(s for s, _ in spans.values())
    end = max(e for _, e in spans.values())
    total = max(end - start, 1e-3)
    label_width, bar_width, height = 140, 460, 22
    bars = "".join(
        f"<text x=\"{label_width - 6}\" y=\"{i * height + 17}\" text-anchor=\"end\">"
        f"{html.escape(step)}</text><rect class=\"span\" data-step=\"{html.escape(step)}\" "
        f"x=\"{label_width + bar_width * (s - start) / total:.1f}\" y=\"{i * height + 4}\" "
        f"width=\"{max(bar_width * (e - s) / total, 2):.1f}\" height=\"{height - 6}\">"
        f"<title>{html.escape(step)}: {s - start:.2f}-{e - start:.2f} s</title></rect>"
        for i, (step, (s, e)) in enumerate(spans.items()))
    axis_y = height * len(spans) + 4
    ticks = "".join(f"<text x=\"{label_width + bar_width * f:.1f}\" y=\"{axis_y + 14}\" "
                    f"text-anchor=\"middle\">{number(total * f)} s</text>" for f in (0, 0.5, 1))
    view_width = label_width + bar_width + 40
    return (f"<svg role=\"img\" class=\"chart timeline\" viewBox=\"0 0 {view_width} "
            f"{axis_y + 22}\" width=\"100%\">{bars}<line class=\"axis\" "
            f"x1=\"{label_width}\" y1=\"{axis_y}\" x2=\"{label_width + bar_width}\" "
            f"y2=\"{axis_y}\"/>{ticks}</svg>")


def timeline_rows(spans: Mapping[str, list[float]]) -> list[tuple[str, str, str]]:
    if not spans:
        return []
    start = min(s for s, _ in spans.values())
    return [(step, f"{s - start:.2f}", f"{e - start:.2f}") for step, (s, e) in spans.items()]


def number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
