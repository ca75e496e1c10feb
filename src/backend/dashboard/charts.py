"""Small inline SVG line charts, rendered on the server (pure functions)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

__all__ = ["Line", "line_chart"]

PALETTE = ("#1d70b8", "#d4351c", "#00703c", "#6f72af", "#f47738", "#505a5f")


@dataclass(frozen=True)
class Line:
    label: str
    points: Sequence[tuple[int, float]]  # (unix seconds, value)


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    unit: str,
    width: int = 720,
    height: int = 220,
    gap_s: int = 3600,
) -> str:
    """An accessible SVG chart; a gap longer than ``gap_s`` breaks the line."""
    pad_l, pad_r, pad_t, pad_b = 48, 12, 24, 28
    all_points = [p for line in lines for p in line.points]
    if not all_points:
        return f'<p class="muted">No {escape(title.lower())} readings in this period.</p>'
    t0 = min(p[0] for p in all_points)
    t1 = max(p[0] for p in all_points)
    v0 = min(p[1] for p in all_points)
    v1 = max(p[1] for p in all_points)
    if v1 - v0 < 1:
        v0, v1 = v0 - 0.5, v1 + 0.5
    span_t = max(t1 - t0, 1)

    def x(t: int) -> float:
        return pad_l + (t - t0) / span_t * (width - pad_l - pad_r)

    def y(v: float) -> float:
        return pad_t + (v1 - v) / (v1 - v0) * (height - pad_t - pad_b)

    parts = [
        f'<svg role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'class="chart" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for frac in (0.0, 0.5, 1.0):
        v = v0 + frac * (v1 - v0)
        parts.append(
            f'<line x1="{pad_l}" x2="{width - pad_r}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            'stroke="#b1b4b6" stroke-width="0.5"/>'
            f'<text x="{pad_l - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11">'
            f"{v:.1f}{escape(unit)}</text>"
        )
    for t, anchor in ((t0, "start"), (t1, "end")):
        label = datetime.fromtimestamp(t, UTC).strftime("%d %b %H:%M")
        parts.append(
            f'<text x="{x(t):.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="11">'
            f"{label}</text>"
        )
    for i, line in enumerate(lines):
        colour = PALETTE[i % len(PALETTE)]
        segments: list[list[str]] = [[]]
        last_t: int | None = None
        for t, v in sorted(line.points):
            if last_t is not None and t - last_t > gap_s:
                segments.append([])
            segments[-1].append(f"{x(t):.1f},{y(v):.1f}")
            last_t = t
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                    f'points="{" ".join(seg)}"/>'
                )
        parts.append(
            f'<text x="{pad_l + 8 + 120 * i}" y="14" font-size="12" fill="{colour}">'
            f"■ {escape(line.label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
