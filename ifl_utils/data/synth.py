"""A small, realistic IFLLM-layout release generated in code (``ifl synth``; tests; the book).

It writes what the study website writes: the three tables, and per conversation the behaviour
streams of :mod:`ifl_utils.data.schema` — one WebGazer callback every ~75 ms, a first batch holding
everything since page load, later batches of 100, the last partial batch lost, pairwise
``abs_gaze`` batches appended twice, text windows of the caret position. Readers scan each answer
from top to bottom with noise, so reading curves and turn assignment behave like the real data.

Injected defects (each counted by the parser): a folder in the old 6-column format, windows with
inner quotes and commas, a window ending in a quote, a window written without quotes, a repeated
``page_time`` (hidden tab), batches out of order, a conversation whose timestamps are +4 h off,
spurious ``\\r\\n`` in an answer, an emoji (UTF-16 indexing), an unrated turn.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .timeline import PLACEHOLDER

_BASE_EPOCH = 1_765_000_000_000  # 2025-12-06, UTC ms
_TOPICS = {
    211: "Great Barrier Reef", 212: "Photosynthesis", 213: "Roman Empire", 214: "Jazz",
    215: "Volcano", 216: "Chess", 217: "Honey bee", 218: "Printing press",
}
_SENTENCES = (
    "It is one of the most studied subjects in its field, with a long history of research.",
    "Scientists describe several stages, each with its own characteristic features and timing.",
    "A common misconception is that it happens quickly, but it usually takes many years.",
    "Experts recommend starting with the basics before moving on to \"advanced\" details, see below.",
    "Key facts: it began in the early period, grew steadily, and declined after a major crisis.",
    "Many visitors are surprised by its scale 🌍 and by how much it still shapes daily life today.",
    "In summary, the topic combines history, science, and culture in ways that reward curiosity.",
    "Some sources disagree on the exact dates, so it is worth checking several references first.",
)
_MODELS = ("gpt-4o-mini", "deepseek-ai/DeepSeek-V3", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
           "claude-sonnet-4-5-20250929")


#: Defects (numbers of the data reference §3, as in the quality report) that ``inject_defects``
#: writes on purpose, with what is injected. Each is counted by the parser; all of them are present
#: with the default 3 workers and 3 turns or more (fewer workers inject fewer).
INJECTED_DEFECTS: dict[int, str] = {
    2: "windows with inner quotes and commas",
    3: "a window ending in a quote",
    4: "one pointwise folder in the old 6-column rel format",
    5: "a window written without its quotes",
    9: "the first two batches of one folder swapped",
    11: "a repeated page_time (hidden tab)",
    13: "one conversation's query_timestamp +4 h",
    15: "a spurious \\r\\n in one answer",
    17: "emoji in the answers (UTF-16 indexing)",
    20: "an unrated last turn",
}
#: Defects every synthetic release has, injected or not: how the website writes (#1 no header,
#: #7 pairwise abs_gaze twice, #27 mouse before the first move, #28 camera flag 0) and what the
#: answer texts hold (#2 commas, #3 quoted words, #17 emoji).
INHERENT_DEFECTS: tuple[int, ...] = (1, 2, 3, 7, 17, 27, 28)


@dataclass(frozen=True)
class SynthConfig:
    """Size of the generated release."""

    workers: int = 3
    turns: int = 3
    seed: int = 0
    inject_defects: bool = True


def _utf16(text: str) -> list[str]:
    """Split ``text`` into UTF-16 code units (non-BMP characters become two surrogates)."""
    units: list[str] = []
    for ch in text:
        if ord(ch) > 0xFFFF:
            v = ord(ch) - 0x10000
            units += [chr(0xD800 + (v >> 10)), chr(0xDC00 + (v & 0x3FF))]
        else:
            units.append(ch)
    return units


def _window(units: list[str], c: int) -> str:
    """The website's window: <= 10 units either side of the caret, same line, trimmed."""
    lo, hi = max(0, c - 10), min(len(units), c + 10)
    left = "".join(units[lo:c]).split("\n")[-1]
    right = "".join(units[c:hi]).split("\n")[0]
    text = (left + right).strip()
    # keep surrogate pairs whole so the file stays valid UTF-8
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").replace("\ufffd", "")


def _answer(rng: np.random.Generator, n: int, bullets: bool) -> str:
    picks = rng.choice(len(_SENTENCES), size=n, replace=True)
    lines = [_SENTENCES[i] for i in picks]
    if bullets:
        return "\n".join(f"- {s}" for s in lines)
    return " ".join(lines[: n // 2]) + "\n" + " ".join(lines[n // 2:])


def _fmt(v: float) -> str:
    return repr(round(float(v), 2)) if v != int(v) else str(int(v))


class _Folder:
    """Callbacks of one conversation, written as the website writes them."""

    def __init__(self, pairwise: bool, six_col: bool):
        self.pairwise = pairwise
        self.six_col = six_col
        self.rows: list[dict] = []

    def add(self, page_time: float, epoch: int, gaze: tuple, mouse: tuple, rel: dict, valid: int):
        self.rows.append({"pt": page_time, "ep": epoch, "gaze": gaze, "mouse": mouse,
                          "rel": rel, "valid": valid})

    def _rel_line(self, r: dict, stream: str) -> str:
        x, y, win, c = r["rel"].get(stream, (-1, -1, None, None))
        fields = [_fmt(x), _fmt(y), "" if win is None else win, "" if c is None else str(c),
                  _fmt(r["pt"])]
        if not self.six_col:
            fields.append(str(r["valid"]))
        fields.append(str(r["ep"] + (1 if stream.endswith(("two", "right")) else 0)))
        return ",".join(fields)

    def write(self, folder: Path, first_shown: int, out_of_order: bool) -> None:
        """Write the streams in batches (first batch = all since load; then 100; tail lost)."""
        n = len(self.rows)
        first_end = max(first_shown + 1, min(n, 120))
        bounds = [(0, first_end)]
        while bounds[-1][1] + 100 <= n:
            bounds.append((bounds[-1][1], bounds[-1][1] + 100))
        if out_of_order and len(bounds) > 2:
            bounds[0], bounds[1] = bounds[1], bounds[0]
        rel_streams = (("rel_gaze_one", "rel_gaze_two", "rel_mouse_left", "rel_mouse_right")
                       if self.pairwise else ("rel_gaze", "rel_mouse"))
        out = {s: [] for s in ("abs_gaze", "abs_mouse", *rel_streams)}
        for lo, hi in bounds:
            batch = self.rows[lo:hi]
            gz = [f"{_fmt(r['gaze'][0])},{_fmt(r['gaze'][1])},{_fmt(r['pt'])},{r['ep']}" for r in batch]
            out["abs_gaze"] += gz * (2 if self.pairwise else 1)
            out["abs_mouse"] += [f"{r['mouse'][0]},{r['mouse'][1]},{_fmt(r['pt'])},{r['ep']}"
                                 for r in batch]
            for s in rel_streams:
                out[s] += [self._rel_line(r, s) for r in batch]
        folder.mkdir(parents=True, exist_ok=True)
        for s, lines in out.items():
            (folder / f"{s}.csv").write_text("".join(ln + "\n" for ln in lines), encoding="utf-8")


def make_release(target: str | Path, config: SynthConfig | None = None) -> Path:
    """Write a synthetic release into ``target`` (created) and return it.

    Parameters
    ----------
    target
        Folder to write (``query_logs_table.csv``, ``task_table.csv``, ``record_info_table.csv``,
        ``user_behavior/<worker>/<task_id>/*.csv``).
    config
        Number of workers and turns, seed, whether to inject the defects listed in the module
        docstring.
    """
    cfg = config or SynthConfig()
    rng = np.random.default_rng(cfg.seed)
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    queries, tasks, records = [], [], []
    qid = 100
    topics = sorted(_TOPICS)
    for w in range(cfg.workers):
        worker = f"worker_{rng.integers(16**8):08x}"
        records.append([worker, 1, int(rng.integers(22, 60)), "somewhere", "Bachelor",
                        "White", ("Male", "Female")[w % 2], "2025-12-06 10:00:00"])
        for k, pairwise in enumerate((True, False)):
            task_id = topics[(2 * w + k) % len(topics)]
            if (task_id % 2 == 1) != pairwise:
                task_id = task_id + 1 if task_id + 1 in _TOPICS else task_id - 1
            six_col = cfg.inject_defects and w == 0 and not pairwise
            shifted = cfg.inject_defects and w == 1 and pairwise
            models = rng.choice(len(_MODELS), size=2, replace=False)
            folder = _Folder(pairwise, six_col)
            load = _BASE_EPOCH + (w * 2 + k) * 3_600_000 + int(rng.integers(0, 60_000))
            t = load + 20_000  # the first question is asked after 20 s
            turn_answers = []
            first_shown = None
            for turn in range(cfg.turns):
                qid += int(rng.integers(1, 4))
                bullets = bool(rng.integers(0, 2))
                a1 = _answer(rng, 6, bullets)
                if cfg.inject_defects and w == 2 and turn == 1:
                    a1 = a1.replace(" ", " \r\n", 1)  # spurious CRLF (repaired by the reader)
                a2 = _answer(rng, 6, bullets) if pairwise else ""
                shown = t + int(rng.integers(3_000, 8_000))  # the answers appear
                stamp = shown // 1000 * 1000
                turn_answers.append((shown, a1.replace("\r\n", ""), a2))
                l1, l2 = int(rng.integers(3, 6)), int(rng.integers(3, 6)) if pairwise else None
                unrated = cfg.inject_defects and w == 0 and turn == cfg.turns - 1
                pref = ("" if unrated else (2.0 if (l2 or 0) > l1 else 1.0)) if pairwise else \
                    ("" if turn == 0 or unrated else float(rng.integers(0, 2)))
                ts = stamp + (4 * 3_600_000 if shifted else 0)
                queries.append([qid, worker, task_id, f"Question {turn + 1} about {_TOPICS[task_id]}?",
                                a1, a2, _MODELS[models[0]], _MODELS[models[1]] if pairwise else "",
                                "" if unrated else float(l1),
                                "" if (unrated or not pairwise) else float(l2), pref, int(bullets),
                                _fmt_time(ts)])
                t = shown + int(rng.integers(25_000, 50_000))  # reading, then the next question
            end = t
            # callbacks from page load to the end of the conversation
            ep = load + 200
            hidden_once = cfg.inject_defects and w == 1 and not pairwise
            while ep < end:
                pt = float(ep - load) + 0.3
                cur = [a for a in turn_answers if a[0] + 1000 <= ep]
                rel = {}
                valid = int(rng.random() > 0.05)
                gaze = (float(rng.normal(600, 150)), float(rng.normal(400, 120)))
                mouse = (int(rng.normal(500, 100)), int(rng.normal(420, 90)))
                if len(folder.rows) < 5:
                    mouse = (-1, -1)  # no mouse move yet (#27)
                if cur:
                    shown, r1, r2 = cur[-1]
                    frac = min(1.0, (ep - shown) / 25_000)
                    pane_texts = [(1, r1)] + ([(2, r2)] if pairwise else [])
                    side = 1 if (not pairwise or (ep // 4000) % 2 == 0) else 2
                    for p, text in pane_texts:
                        units = _utf16(text)
                        for modality in ("gaze", "mouse"):
                            on = p == side and rng.random() < (0.8 if modality == "gaze" else 0.6)
                            name = _stream_name(modality, p, pairwise)
                            if on and frac < 1.0:
                                c = int(np.clip(frac * len(units) + rng.normal(0, 15), 0, len(units) - 1))
                                rel[name] = (float(rng.uniform(10, 500)), float(rng.uniform(5, 600)),
                                             f'"{_window(units, c)}"', c)
                            else:
                                rel[name] = (-1, -1, None, None)
                else:  # before the first answer: the placeholder is on screen
                    units = _utf16(PLACEHOLDER)
                    c = int(rng.integers(0, len(units)))
                    name = _stream_name("gaze", 1, pairwise)
                    rel[name] = (float(rng.uniform(10, 500)), float(rng.uniform(5, 80)),
                                 f'"{_window(units, c)}"', c)
                folder.add(pt, ep, gaze, mouse, rel, valid)
                if cur and first_shown is None:
                    first_shown = len(folder.rows)
                step = int(np.clip(rng.normal(75, 15), 40, 200))
                if hidden_once and len(folder.rows) == 300:
                    # the tab is hidden: page_time freezes while epoch advances (#11)
                    folder.add(pt, ep + 30, gaze, mouse, rel, valid)
                    hidden_once = False
                    step += 60
                ep += step
            if cfg.inject_defects and w == 2 and pairwise:
                _inject_window_defects(folder)
            folder.write(root / "user_behavior" / worker / str(task_id), first_shown or 0,
                         out_of_order=cfg.inject_defects and w == 2 and not pairwise)
            tasks.append([worker, task_id, "Some sentence.", "I learned things.", "", 2.0, 4.0,
                          queries[-1][3], queries[-1][4], float(rng.integers(75, 95)),
                          _fmt_time(end + 5_000 + (4 * 3_600_000 if shifted else 0)), _TOPICS[task_id]])
    _write_csv(root / "query_logs_table.csv",
               ["query_ID", "user_id", "task_id", "user_query", "llm_response_1", "llm_response_2",
                "llm_name_1", "llm_name_2", "likert_1", "likert_2", "preference", "adjustment",
                "query_timestamp"], queries)
    _write_csv(root / "task_table.csv",
               ["user_id", "task_id", "copy_sentence", "summary", "feedback", "understand_before",
                "understand_after", "query_copy", "llm_response_copy", "accuracy", "finished",
                "domain"], tasks)
    _write_csv(root / "record_info_table.csv",
               ["user_id", "consent", "age", "location", "education", "race", "gender",
                "inserted_at"], records)
    return root


def _stream_name(modality: str, pane: int, pairwise: bool) -> str:
    if not pairwise:
        return f"rel_{modality}"
    if modality == "gaze":
        return "rel_gaze_one" if pane == 1 else "rel_gaze_two"
    return "rel_mouse_left" if pane == 1 else "rel_mouse_right"


def _inject_window_defects(folder: _Folder) -> None:
    """Overwrite a few windows with the hostile forms found in the release (#2, #3, #5)."""
    hits = [r for r in folder.rows if r["rel"].get("rel_gaze_one", (0, 0, None))[2]]
    if len(hits) < 3:
        return
    for r, form in zip(hits[5:8], ('"s "Astroworld" tour,"', '"lways On""', "20240620}")):
        x, y, _, c = r["rel"]["rel_gaze_one"]
        r["rel"]["rel_gaze_one"] = (x, y, form, c)


def _fmt_time(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if v is None else v for v in r])
    path.write_text(buf.getvalue(), encoding="utf-8")
