"""The judge client against a loopback OpenAI-compatible server: normal, slow, failing, malformed."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ifl_utils.reward.judge import JudgeClient, JudgeConfig, JudgeError, parse_verdict

SECRET = "sk-test-secret-123"


class _Handler(BaseHTTPRequestHandler):
    script: list = []          # per request: ("ok", text) | ("500",) | ("slow", text) | ("bad",)
    seen: list = []

    def log_message(self, *a):  # keep the test output quiet
        pass

    def do_POST(self):
        n = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(n))
        type(self).seen.append({"auth": self.headers.get("Authorization"), "body": body})
        step = type(self).script.pop(0) if type(self).script else ("ok", '{"preference": 1}')
        if step[0] == "500":
            self.send_response(500)
            self.end_headers()
            return
        if step[0] == "slow":
            import time

            time.sleep(0.6)
        payload = b"not json" if step[0] == "bad" else json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": step[1]}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except BrokenPipeError:
            pass


@pytest.fixture()
def server():
    _Handler.script, _Handler.seen = [], []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


def _client(url, tmp_path, **kw):
    cfg = JudgeConfig(base_url=url, model="m", api_key=SECRET, timeout_s=kw.pop("timeout_s", 2.0),
                      retries=kw.pop("retries", 3), backoff_s=0.01)
    return JudgeClient(cfg, cache_path=tmp_path / "judge.jsonl")


def test_parse_verdict_variants():
    assert parse_verdict('{"preference": 2, "confidence": 0.8}') == 2
    assert parse_verdict('Sure! ```json\n{"prediction": "1"}\n```') == 1
    assert parse_verdict("SCORE_A: 7\nWINNER: B\nREASONING: x") == 2
    assert parse_verdict(" 1. ") == 1
    assert parse_verdict("Answer 2") == 2
    assert parse_verdict("both are fine") is None
    assert parse_verdict(None) is None


def test_both_orders_and_key_sent_not_stored(server, tmp_path):
    _Handler.script = [("ok", '{"preference": 2}'), ("ok", '{"preference": 1}')]
    c = _client(server, tmp_path)
    assert c.judge_pair("q", "left", "right") == 1.0
    assert len(_Handler.seen) == 2
    assert _Handler.seen[0]["auth"] == f"Bearer {SECRET}"
    first = _Handler.seen[0]["body"]["messages"][1]["content"]
    second = _Handler.seen[1]["body"]["messages"][1]["content"]
    assert first.index("left") < first.index("right") and second.index("right") < second.index("left")
    assert SECRET not in (tmp_path / "judge.jsonl").read_text()
    assert SECRET not in repr(c.config)


def test_retries_500_malformed_and_slow(server, tmp_path):
    _Handler.script = [("500",), ("bad",), ("ok", "no idea"), ("slow", '{"preference": 2}'),
                       ("ok", "WINNER: A")]
    c = _client(server, tmp_path, timeout_s=0.3, retries=5)
    assert c.judge_once("q", "a", "b") == 1   # 500, bad JSON, unparsable, timeout, then a verdict
    assert len(_Handler.seen) == 5


def test_gives_up_without_leaking_key(server, tmp_path):
    _Handler.script = [("500",)] * 10
    c = _client(server, tmp_path, retries=2)
    with pytest.raises(JudgeError) as err:
        c.judge_once("q", "a", "b")
    assert "HTTP 500" in str(err.value) and SECRET not in str(err.value)
    assert len(_Handler.seen) == 3


def test_cache_resumes_after_crash(server, tmp_path):
    _Handler.script = [("ok", '{"preference": 2}'), ("ok", '{"preference": 2}')]
    c = _client(server, tmp_path)
    assert c.judge_pair("q", "l", "r") == 0.5
    with open(tmp_path / "judge.jsonl", "a") as fh:  # a torn line, as a crash mid-write leaves
        fh.write('{"key": "abc", "verd')
    c2 = _client(server, tmp_path)
    assert c2.judge_pair("q", "l", "r") == 0.5
    assert len(_Handler.seen) == 2                    # nothing asked again


def test_from_env_unset(monkeypatch):
    monkeypatch.delenv("IFL_JUDGE_BASE_URL", raising=False)
    monkeypatch.delenv("IFL_JUDGE_MODEL", raising=False)
    assert JudgeConfig.from_env() is None


def test_judge_rows_against_loopback(server, tmp_path):
    import pandas as pd

    from ifl_utils.reward.pipeline import judge_rows

    # every request answers "1" (first shown): as shown -> left, swapped -> right => split verdict 0.5
    q = pd.DataFrame({"query_id": [1, 2], "user_query": [" q1 ", "q2"], "llm_response_1": ["a", "c"],
                      "llm_response_2": ["b", "d"]})
    rows = pd.DataFrame({"query_id": [1, 2], "worker": ["w", "v"], "y": [1.0, 0.0]})
    _Handler.script = [("ok", "1")] * 2 + [("500",)] * 10
    c = _client(server, tmp_path, retries=1)
    out = judge_rows(c, q, rows)
    assert out["query_id"].tolist() == [1] and out["score"].tolist() == [0.5]
    assert out.attrs["failed"] == 1
