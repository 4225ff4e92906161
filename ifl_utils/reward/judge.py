"""LLM-as-judge baseline: an OpenAI-compatible chat-completions client that judges each pair twice.

Configuration from the environment: ``IFL_JUDGE_BASE_URL`` (e.g. ``http://host:port/v1``),
``IFL_JUDGE_MODEL`` and ``IFL_JUDGE_API_KEY`` (optional). The key is sent in the ``Authorization``
header only; it is never logged, printed, cached or put in an error message.

Each pair is judged in both orders (left/right as shown, then swapped) to cancel position bias; the
two verdicts are mapped back to "right preferred" and averaged (0, 0.5 or 1). Answers are parsed
robustly (JSON ``{"preference": 1|2}``, ``WINNER: A|B``, a lone ``1``/``2``/``A``/``B``); requests
retry with exponential backoff on timeouts, connection errors, HTTP 429/5xx and unparsable answers.
Verdicts go to a JSONL cache (one line per judgement, appended and fsync'ed), so a crashed run
resumes where it stopped.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ENV_URL, ENV_MODEL, ENV_KEY = "IFL_JUDGE_BASE_URL", "IFL_JUDGE_MODEL", "IFL_JUDGE_API_KEY"

SYSTEM = ("You compare two answers to a user's question. Reply with JSON only: "
          '{"preference": 1} if Answer 1 is better, {"preference": 2} if Answer 2 is better.')


class JudgeError(RuntimeError):
    """The judge could not give a verdict after all retries."""


@dataclass
class JudgeConfig:
    """Endpoint settings; :meth:`from_env` reads them from the environment (``None`` when unset)."""

    base_url: str
    model: str
    api_key: str | None = field(default=None, repr=False)  # never shown by repr
    timeout_s: float = 60.0
    retries: int = 4
    backoff_s: float = 1.0

    @classmethod
    def from_env(cls, **kw) -> "JudgeConfig | None":
        url, model = os.environ.get(ENV_URL, "").strip(), os.environ.get(ENV_MODEL, "").strip()
        if not url or not model:
            return None
        return cls(base_url=url, model=model, api_key=os.environ.get(ENV_KEY) or None, **kw)


def parse_verdict(text: str) -> int | None:
    """Return 1 or 2 (which answer the judge prefers) from a reply, or ``None`` if unparsable.

    >>> parse_verdict('{"preference": 2}'), parse_verdict("WINNER: A"), parse_verdict("garbage")
    (2, 1, None)
    """
    if not isinstance(text, str):
        return None
    t = text.strip()
    m = re.search(r"\{.*?\}", t, re.S)
    if m:
        try:
            obj = json.loads(m.group(0))
            v = obj.get("preference", obj.get("prediction", obj.get("winner")))
            v = {"A": 1, "B": 2, "a": 1, "b": 2}.get(v, v)
            if str(v).strip() in ("1", "2"):
                return int(str(v).strip())
        except (ValueError, AttributeError):
            pass
    m = re.search(r"(?:WINNER|PREFERENCE|ANSWER)\s*[:=]\s*\"?(1|2|A|B)\b", t, re.I)
    if m:
        return {"A": 1, "B": 2}.get(m.group(1).upper(), None) or int(m.group(1))
    m = re.fullmatch(r"\W*(?:answer\s*)?(1|2|A|B)\W*", t, re.I)
    if m:
        return {"A": 1, "B": 2}.get(m.group(1).upper(), None) or int(m.group(1))
    return None


def prompt(question: str, first: str, second: str) -> list[dict]:
    """Chat messages asking which of two answers is better."""
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question:\n{question}\n\nAnswer 1:\n{first}\n\nAnswer 2:\n{second}"}]


class JudgeClient:
    """Judges pairs against an OpenAI-compatible endpoint, with retries and a resumable cache."""

    def __init__(self, config: JudgeConfig, cache_path: str | os.PathLike[str] | None = None):
        self.config = config
        self.cache_path = Path(cache_path) if cache_path is not None else None
        self._cache: dict[str, int] = {}
        if self.cache_path is not None and self.cache_path.is_file():
            for line in self.cache_path.read_text(encoding="utf-8").splitlines():
                try:  # a torn last line from a crash is skipped
                    rec = json.loads(line)
                    self._cache[rec["key"]] = int(rec["verdict"])
                except (ValueError, KeyError, TypeError):
                    continue

    def _key(self, question: str, first: str, second: str) -> str:
        h = hashlib.sha256("\0".join([self.config.model, question, first, second]).encode("utf-8"))
        return h.hexdigest()

    def _append(self, key: str, verdict: int) -> None:
        if self.cache_path is None:
            return
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.cache_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "verdict": verdict}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def _post(self, messages: list[dict]) -> str:
        body = json.dumps({"model": self.config.model, "messages": messages, "temperature": 0,
                           "max_tokens": 20}).encode()
        req = urllib.request.Request(self.config.base_url.rstrip("/") + "/chat/completions", data=body,
                                     method="POST", headers={"Content-Type": "application/json"})
        if self.config.api_key:
            req.add_header("Authorization", f"Bearer {self.config.api_key}")
        with urllib.request.urlopen(req, timeout=self.config.timeout_s) as resp:
            data = json.loads(resp.read().decode("utf-8"))
        return data["choices"][0]["message"]["content"]

    def judge_once(self, question: str, first: str, second: str) -> int:
        """1 or 2: which of (first, second) the judge prefers; cached; retried with backoff."""
        key = self._key(question, first, second)
        if key in self._cache:
            return self._cache[key]
        last = "no attempt"
        for attempt in range(self.config.retries + 1):
            try:
                verdict = parse_verdict(self._post(prompt(question, first, second)))
                if verdict is not None:
                    self._cache[key] = verdict
                    self._append(key, verdict)
                    return verdict
                last = "unparsable answer"
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code}"
                if err.code < 500 and err.code != 429:
                    break
            except (urllib.error.URLError, TimeoutError, OSError, ValueError, KeyError, IndexError,
                    TypeError) as err:
                last = type(err).__name__  # never the message: it could echo request headers
            if attempt < self.config.retries:
                time.sleep(self.config.backoff_s * 2 ** attempt)
        raise JudgeError(f"judge gave no verdict after {self.config.retries + 1} attempts ({last})")

    def judge_pair(self, question: str, left: str, right: str) -> float:
        """P(right preferred) from both orders: mean of the two verdicts mapped to 'right' (0, 0.5, 1)."""
        a = self.judge_once(question, left, right)      # 2 -> right
        b = self.judge_once(question, right, left)      # 1 -> right
        return ((a == 2) + (b == 1)) / 2
