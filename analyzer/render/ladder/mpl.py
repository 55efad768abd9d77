"""Ladder → matplotlib Figure (SVG, PNG, PDF): the same content as the text version.

x: the client's lifeline at 0, the server's at 1; the time column and the client's states
to the left, the server's states to the right. y: the layout's rows, growing downwards.
Arrows run from ``y_send`` to ``y_arrive``; the label sits on the arrow, rotated with it;
checks, retransmission marks and notes under it. Observed states are boxed, inferred ones
dashed and italic. TIME_WAIT is a bar along the lifeline (open at the bottom when it goes
on past the capture). Figures are built without pyplot (no global state); SVG output is
deterministic (``svg.hashsalt``, no date in the metadata) for golden files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from analyzer.render.ladder.labels import T
from analyzer.render.ladder.model import Arrow, Band, Bracket, Gap, Ladder, StateMark

__all__ = ["COLOURS", "figure", "fonts", "quiet_fonts", "save", "savefig_kwargs"]

COLOURS = {"normal": "#333333", "error": "#d62728", "warning": "#e67e00",
           "retransmission": "#1f77b4", "reset": "#9467bd", "info": "#555555",
           "state": "#2b5d34", "inferred": "#6b6b6b", "band": "#eef2f8", "gap": "#999999",
           "bracket": "#8e44ad", "capture": "#bbbbbb"}
ROW_IN = 0.24          # inches per layout row
WIDTH_IN = 11.0
X_MIN, X_MAX = -0.78, 1.45
FONT = 7.5
_CJK = ["DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP",
        "Source Han Sans SC", "Microsoft YaHei", "SimHei"]


@contextmanager
def quiet_fonts() -> Iterator[None]:
    """Silence "weight normal not found, using 500" (CJK fonts come in one weight)."""
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def fonts(lang: str) -> list[str]:
    """DejaVu Sans, plus the installed CJK fonts for Chinese (per-glyph fallback)."""
    if lang != "zh":
        return ["DejaVu Sans"]
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[f for f in _CJK[1:] if f in have]]


def crossing_frames(lad: Ladder) -> set[int]:
    """Frames of arrows that cross an arrow going the other way: their labels are written
    near the sender instead of in the middle, where the two would collide."""
    out: set[int] = set()
    spans = sorted((min(a.y_send, a.y_arrive), max(a.y_send, a.y_arrive), a.src, a.frame)
                    for a in lad.arrows)
    for i, (lo, hi, src, frame) in enumerate(spans):
        for lo2, hi2, src2, frame2 in spans[i + 1:]:
            if lo2 >= hi:
                break
            if src2 != src and hi2 > lo:
                out.update((frame, frame2))
    return out


def _extra_rows(lad: Ladder) -> float:
    return 1.0 + 0.9 * (len(lad.notes) + len(lad.legend)) + 0.9 * len(lad.brackets)


class _Draw:
    def __init__(self, lad: Ladder) -> None:
        self.lad = lad
        self.bottom = lad.height + _extra_rows(lad)
        self.fig = Figure(figsize=(WIDTH_IN, max(self.bottom * ROW_IN, 3.0)))
        self.ax = self.fig.add_axes((0.0, 0.0, 1.0, 1.0))
        self.ax.set_xlim(X_MIN, X_MAX)
        self.ax.set_ylim(max(self.bottom, 3.0 / ROW_IN), 0)
        self.ax.set_axis_off()
        self.lane_in = WIDTH_IN / (X_MAX - X_MIN)
        self.crossing = crossing_frames(lad)

    def text(self, x: float, y: float, s: str, **kw: Any) -> None:
        kw.setdefault("fontsize", FONT)
        if self.lad.lang == "zh":
            kw.pop("weight", None)  # CJK fonts come in one weight
        self.ax.text(x, y, s, **kw)

    def heads(self) -> None:
        lad = self.lad
        self.text(X_MIN + 0.02, 0.8, lad.title.text, fontsize=FONT + 2, weight="bold",
                  va="center")
        for line in (lad.client, lad.server):
            self.text(line.x, 1.7, line.title.text, ha="center", va="center", weight="bold",
                      fontsize=FONT + 1)
            self.state(line.x, 2.4, line.initial.text, True, line.role, centre=True)
            self.ax.plot([line.x, line.x], [2.8, self.lad.height - 0.6], color="#444444",
                         lw=1.0, zorder=1)
            self.state(line.x, lad.height - 0.3, line.final.text, True, line.role, centre=True)
        if lad.capture_x is not None:
            self.ax.plot([lad.capture_x] * 2, [2.8, lad.height - 0.6], color=COLOURS["capture"],
                         lw=0.8, ls=(0, (1, 3)), zorder=0)
            self.text(lad.capture_x, 2.6, T[lad.lang]["capture"], ha="center", va="bottom",
                      fontsize=FONT - 1.5, color=COLOURS["gap"])

    def state(self, x: float, y: float, s: str, observed: bool, role: str,
              centre: bool = False) -> None:
        ha = "center" if centre else ("right" if role == "client" else "left")
        dx = 0.0 if centre else (-0.03 if role == "client" else 0.03)
        box = {"boxstyle": "round,pad=0.25", "fc": "#eaf5ec" if observed else "white",
               "ec": COLOURS["state"] if observed else COLOURS["inferred"], "lw": 0.8,
               "ls": "-" if observed else (0, (2, 2))}
        self.text(x + dx, y, s, ha=ha, va="center", bbox=box, zorder=4,
                  color=COLOURS["state"] if observed else COLOURS["inferred"],
                  style="normal" if observed else "italic")

    def angle(self, a: Arrow) -> float:
        dx = (1.0 if a.src == "client" else -1.0) * self.lane_in
        dy = -(a.y_arrive - a.y_send) * ROW_IN
        deg = math.degrees(math.atan2(dy, dx))
        if deg > 90:
            deg -= 180
        elif deg < -90:
            deg += 180
        return deg

    def arrow(self, a: Arrow) -> None:
        x0, x1 = (0.0, 1.0) if a.src == "client" else (1.0, 0.0)
        colour = COLOURS.get(a.style, COLOURS["normal"])
        self.ax.add_patch(FancyArrowPatch((x0, a.y_send), (x1, a.y_arrive),
                                          arrowstyle="-|>", mutation_scale=9, color=colour,
                                          lw=1.4 if a.style in ("error", "warning") else 0.9,
                                          shrinkA=0, shrinkB=0, zorder=3))
        rot = self.angle(a)
        at, ha = (0.5, "center") if a.frame not in self.crossing else \
            ((0.04, "left") if a.src == "client" else (0.96, "right"))
        frac = at if a.src == "client" else 1.0 - at
        mid = a.y_send + (a.y_arrive - a.y_send) * frac
        label = " ".join(([a.step.text] if a.step else []) + [f.text for f in a.label])
        self.text(at, mid - 0.12, label, ha=ha, va="bottom", rotation=rot,
                  rotation_mode="anchor", color=colour, zorder=5,
                  weight="bold" if a.step else "normal")
        under = [(f.text, COLOURS["state"] if "✓" in f.text else COLOURS["error"])
                 for f in (a.check,) if f is not None]
        under += [(a.retx.text, COLOURS["retransmission"])] if a.retx is not None else []
        under += [(("⚠ " if n.style != "info" else "") + n.field.text,
                   COLOURS.get(n.style, COLOURS["info"])) for n in a.notes]
        for i, (s, c) in enumerate(under):
            self.text(at, mid + 0.15 + 0.85 * i, s, ha=ha, va="top", rotation=rot,
                      rotation_mode="anchor", color=c, fontsize=FONT - 0.5, zorder=5)
        if a.time is not None:
            self.text(X_MIN + 0.02, a.y_capture, a.time.text, ha="left", va="center",
                      family="DejaVu Sans Mono", fontsize=FONT - 1, color=COLOURS["gap"])

    def band(self, b: Band) -> None:
        self.ax.add_patch(Rectangle((0.0, b.y_top), 1.0, b.y_bottom - b.y_top,
                                    fc=COLOURS["band"], ec="#9aa9c2", lw=0.6, ls="--",
                                    zorder=2))
        self.text(0.5, (b.y_top + b.y_bottom) / 2, b.text.text, ha="center", va="center",
                  style="italic", color="#34495e", zorder=5)

    def gap(self, g: Gap) -> None:
        self.ax.add_patch(Rectangle((-0.06, g.y_top), 1.12, g.y_bottom - g.y_top, fc="white",
                                    ec="none", zorder=2))
        for y in (g.y_top, g.y_bottom):
            xs = [-0.06 + 0.02 * i for i in range(57)]
            ys = [y + (0.12 if i % 2 else -0.12) for i in range(57)]
            self.ax.plot(xs, ys, color=COLOURS["gap"], lw=0.7, zorder=2)
        self.text(0.5, (g.y_top + g.y_bottom) / 2, g.text.text, ha="center", va="center",
                  color=COLOURS["gap"], style="italic", zorder=5)

    def bracket(self, b: Bracket, i: int) -> None:
        x = 0.0 if b.role == "client" else 1.0
        w = 0.014
        self.ax.add_patch(Rectangle((x - w / 2, b.y_top), w, b.y_bottom - b.y_top,
                                    fc=COLOURS["bracket"], ec="none", alpha=0.35, zorder=2))
        if b.open_end:
            self.ax.plot([x], [b.y_bottom], marker="v", color=COLOURS["bracket"], ms=5)
        who = self.lad.client.title.text if b.role == "client" else self.lad.server.title.text
        self.text(X_MIN + 0.02, self.lad.height + 0.6 + 0.9 * i,
                  f"▌ {who.split(' ')[0]}: {b.text.text}", color=COLOURS["bracket"],
                  va="center")

    def state_mark(self, m: StateMark) -> None:
        x = 0.0 if m.role == "client" else 1.0
        self.state(x, m.y, m.state.text, m.observed, m.role)

    def footer(self) -> None:
        y = self.lad.height + 0.6 + 0.9 * len(self.lad.brackets)
        for n in self.lad.notes:
            where = f"frame {n.frame}: " if n.frame >= 0 else ""
            self.text(X_MIN + 0.02, y, ("⚠ " if n.style != "info" else "") + where
                      + n.field.text, color=COLOURS.get(n.style, COLOURS["info"]), va="center")
            y += 0.9
        for f in self.lad.legend:
            self.text(X_MIN + 0.02, y, f.text, color=COLOURS["gap"], fontsize=FONT - 1,
                      va="center")
            y += 0.9

    def draw(self) -> Figure:
        self.heads()
        for b in self.lad.bands:
            self.band(b)
        for g in self.lad.gaps:
            self.gap(g)
        for i, br in enumerate(self.lad.brackets):
            self.bracket(br, i)
        for a in self.lad.arrows:
            self.arrow(a)
        for m in self.lad.states:
            self.state_mark(m)
        self.footer()
        return self.fig


def figure(lad: Ladder) -> Figure:
    """The diagram as a matplotlib Figure (no pyplot)."""
    import matplotlib

    with quiet_fonts(), matplotlib.rc_context({"font.family": fonts(lad.lang),
                                               "svg.hashsalt": "synack"}):
        return _Draw(lad).draw()


def savefig_kwargs(fmt: str) -> dict[str, Any]:
    """Metadata that keeps output deterministic (no dates, no version strings)."""
    meta: dict[str, dict[str, Any]] = {
        "svg": {"Date": None, "Creator": "synack"},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": "synack",
                "Producer": "synack"},
        "png": {"Software": "synack"},
    }
    return {"format": fmt, "metadata": meta.get(fmt, {})}


def save(lad: Ladder, target: str | Path | IO[Any], fmt: str = "svg", dpi: int = 110) -> None:
    """Write the diagram as svg, png or pdf (``target``: a path or a binary/text stream)."""
    import matplotlib

    fig = figure(lad)
    height_px = fig.get_figheight() * dpi
    if fmt == "png" and height_px > 60000:  # beyond what raster backends accept
        dpi = max(int(60000 / fig.get_figheight()), 10)
    with quiet_fonts(), matplotlib.rc_context({"font.family": fonts(lad.lang),
                                               "svg.hashsalt": "synack",
                                               "svg.fonttype": "path"}):
        fig.savefig(target, dpi=dpi, **savefig_kwargs(fmt))
