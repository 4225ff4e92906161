"""One real pairwise answer, replayed: text re-wrapped at a fixed width, each sample's caret offset
mapped to its (column, line) on that grid (the release's ``visualize_gaze.py``: 60 characters,
monospace). Positions are text-grid positions, not screen pixels."""
from __future__ import annotations

import numpy as np
import pandas as pd

WRAP = 60
#: Minimum on-answer samples on each pane and modality for an example answer pair.
EXAMPLE_MIN_SAMPLES = 100
#: Longest answer allowed in the example (UTF-16 units), so that the wrapped text fits a figure.
EXAMPLE_MAX_LENGTH = 1600


def wrap_grid(text: str, width: int = WRAP) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Wrap ``text`` at ``width`` columns (greedy, on spaces; newlines kept) and map offsets to the grid.

    Returns ``lines`` and, per **UTF-16** offset of the text, its ``col`` and ``line`` (what the
    browser's caret offsets count). Offsets past the end map to the last character.

    >>> lines, col, line = wrap_grid("ab cd ef", width=5)
    >>> lines, col.tolist(), line.tolist()
    (['ab cd', 'ef'], [0, 1, 2, 3, 4, 4, 0, 1], [0, 0, 0, 0, 0, 0, 1, 1])
    """
    cols, rows, lines = [], [], []
    r = 0
    for para in text.split("\n"):
        cur, c = "", 0
        i = 0
        words = para.split(" ")
        for wi, word in enumerate(words):
            piece = word if wi == 0 else " " + word
            if c + len(piece) > width and cur:
                lines.append(cur)
                r += 1
                cur, c = "", 0
                if wi > 0:  # the breaking space stays at the end of the previous line
                    cols.append(width - 1 if width > 0 else 0)
                    rows.append(r - 1)
                    piece = word
            for ch in piece:
                units = 2 if ord(ch) > 0xFFFF else 1
                cols.extend([min(c, width - 1)] * units)
                rows.extend([r] * units)
                cur += ch
                c += 1
            i += 1
        lines.append(cur)
        cols.append(min(c, width - 1))  # the newline itself
        rows.append(r)
        r += 1
    cols, rows = cols[:-1] or [0], rows[:-1] or [0]  # no newline after the last paragraph
    return lines, np.asarray(cols, dtype=np.int64), np.asarray(rows, dtype=np.int64)


def pick_example(meta: pd.DataFrame, seed: int = 0, pick: int = 0) -> int:
    """Choose a pairwise query for F1 by a seeded rule; ``pick`` selects another one.

    Eligible: pairwise queries with gaze and mouse curves on both panes, each from at least
    :data:`EXAMPLE_MIN_SAMPLES` samples, both answers at most :data:`EXAMPLE_MAX_LENGTH` long.
    The eligible ids are sorted and permuted with ``default_rng(seed)``; entry ``pick`` is taken.
    """
    m = meta[(meta["mode"] == "pairwise") & (meta["n_samples"] >= EXAMPLE_MIN_SAMPLES)
             & (meta["length"] <= EXAMPLE_MAX_LENGTH)]
    full = m.groupby("query_id").size()
    ids = np.sort(full[full == 4].index.to_numpy())
    if len(ids) == 0:
        raise ValueError("no pairwise query qualifies as the F1 example")
    order = np.random.default_rng(seed).permutation(len(ids))
    return int(ids[order[pick % len(ids)]])


def answer_path(samples: pd.DataFrame, query: pd.Series, width: int = WRAP) -> tuple[pd.DataFrame, dict]:
    """On-answer samples of one query on both panes, with time and text-grid coordinates.

    Returns the path (modality, pane, t_s since the query's first on-answer sample, pos, col,
    line) and per pane the wrapped ``lines``.
    """
    s = samples[samples["query_id"] == int(query["query_id"])].sort_values("epoch")
    t0 = None
    parts, texts = [], {}
    for p in (1, 2):
        text = str(query[f"llm_response_{p}"]).replace("\r\n", "")
        lines, col, line = wrap_grid(text, width)
        texts[p] = lines
        for m in ("gaze", "mouse"):
            pos = s[f"{m}{p}_pos"].to_numpy(dtype=float, na_value=np.nan)
            ch = s[f"{m}{p}_char"].to_numpy(dtype=float, na_value=np.nan)
            ok = np.isfinite(pos) & (pos >= 0) & (pos <= 1) & np.isfinite(ch)
            c = np.clip(ch[ok].astype(np.int64), 0, len(col) - 1)
            parts.append(pd.DataFrame({"modality": m, "pane": p, "epoch": s["epoch"].to_numpy()[ok],
                                       "pos": pos[ok], "col": col[c], "line": line[c]}))
    path = pd.concat(parts, ignore_index=True)
    t0 = path["epoch"].min()
    path["t_s"] = (path["epoch"] - t0) / 1000.0
    return path.sort_values(["epoch", "modality", "pane"], kind="stable").reset_index(drop=True), texts


_REPLAY_JS = """
<div id="{uid}" style="max-width:{w}px;font:12px sans-serif">
<div style="position:relative;width:{w}px;height:{h}px">
<img src="data:image/png;base64,{img}" width="{w}" height="{h}" style="position:absolute;left:0;top:0" alt="answer text">
<canvas width="{w}" height="{h}" style="position:absolute;left:0;top:0"></canvas></div>
<button>play</button> <input type="range" min="0" max="{tmax}" step="0.1" value="0" style="width:60%">
<span>t = 0.0 s</span> <span style="color:{gc}">&#9679; gaze</span> <span style="color:{mc}">&#9679; mouse</span>
</div>
<script>
(function(){{
var root=document.getElementById("{uid}"), D={data};
var cv=root.querySelector("canvas"), cx=cv.getContext("2d"), sl=root.querySelector("input"),
    lab=root.querySelectorAll("span")[0], bt=root.querySelector("button"), timer=null;
function draw(t){{
  cx.clearRect(0,0,cv.width,cv.height);
  D.streams.forEach(function(s){{
    var n=0; while(n<s.t.length && s.t[n]<=t) n++;
    var a=Math.max(0,n-{trail});
    cx.strokeStyle=s.c; cx.fillStyle=s.c; cx.globalAlpha=0.5; cx.beginPath();
    for(var i=a;i<n;i++){{ if(i==a) cx.moveTo(s.x[i],s.y[i]); else cx.lineTo(s.x[i],s.y[i]); }}
    cx.stroke(); cx.globalAlpha=1;
    if(n>0){{ cx.beginPath(); cx.arc(s.x[n-1],s.y[n-1],4,0,6.2832); cx.fill(); }}
  }});
  lab.textContent="t = "+t.toFixed(1)+" s";
}}
sl.oninput=function(){{ draw(parseFloat(sl.value)); }};
bt.onclick=function(){{
  if(timer){{ clearInterval(timer); timer=null; bt.textContent="play"; return; }}
  if(parseFloat(sl.value)>={tmax}) sl.value=0;
  bt.textContent="pause";
  timer=setInterval(function(){{ var v=parseFloat(sl.value)+{step};
    if(v>={tmax}){{ v={tmax}; clearInterval(timer); timer=null; bt.textContent="play"; }}
    sl.value=v; draw(v); }}, 50);
}};
draw(0);
}})();
</script>
"""


def replay_html(path: pd.DataFrame, texts: dict, query_id: int, *, width: int = WRAP, speed: float = 10.0,
                trail: int = 25, colours: tuple[str, str] = ("#0072B2", "#D55E00")) -> str:
    """A self-contained HTML/JS replay of one answer pair (no server, no external files).

    The wrapped text is drawn once into a PNG (matplotlib); the gaze and mouse samples are
    embedded as pixel coordinates and drawn on a canvas (the last ``trail`` samples of each
    stream) as a slider or the play button advances time (``speed`` x real time). Deterministic:
    same input, same bytes.
    """
    import base64
    import io
    import json

    import matplotlib.pyplot as plt

    n_lines = max(len(texts[1]), len(texts[2]))
    dpi = 80
    fig, axes = plt.subplots(1, 2, figsize=(10, max(2.5, 0.13 * n_lines + 0.6)), dpi=dpi)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.01, wspace=0.04)
    ax_in = (0.98 - 0.04 * 0.5) / 2 * 10  # axes width (inches) from subplots_adjust
    fs = ax_in * 72 / (width + 2) / 0.6 * 0.96  # monospace: advance ~0.6 em per character
    for ax, p in zip(axes, (1, 2)):
        for i, line in enumerate(texts[p]):
            ax.text(0, i, line, family="monospace", fontsize=fs, va="center", color="0.35", clip_on=True)
        ax.set_xlim(-1, width + 1)
        ax.set_ylim(n_lines + 0.5, -1)
        ax.set_title("left answer" if p == 1 else "right answer", fontsize=9)
        ax.axis("off")
    fig.canvas.draw()
    w, h = (int(round(v)) for v in fig.canvas.get_width_height())
    streams = []
    for (m, colour) in zip(("gaze", "mouse"), colours):
        for p, ax in zip((1, 2), axes):
            d = path[(path["modality"] == m) & (path["pane"] == p)]
            xy = ax.transData.transform(np.c_[d["col"].to_numpy(float), d["line"].to_numpy(float)])
            streams.append({"c": colour, "t": np.round(d["t_s"].to_numpy(), 2).tolist(),
                            "x": np.round(xy[:, 0]).astype(int).tolist(),
                            "y": np.round(h - xy[:, 1]).astype(int).tolist()})
    buf = io.BytesIO()
    with plt.rc_context({"savefig.bbox": "standard"}):  # the canvas overlay needs the exact figure box
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    tmax = float(np.ceil(path["t_s"].max() * 10) / 10)
    return _REPLAY_JS.format(uid=f"ifl-replay-{int(query_id)}", w=w, h=h, tmax=tmax, trail=int(trail),
                             step=round(speed * 0.05, 3), gc=colours[0], mc=colours[1],
                             img=base64.b64encode(buf.getvalue()).decode("ascii"),
                             data=json.dumps({"streams": streams}, separators=(",", ":")))
