"""Interop tests: the wf binary against real third-party model servers.

Started on 127.0.0.1 by this driver, from the pinned virtualenv that
.ci/interop.sh builds:

* fakellm (scripted by tests/interop/fakellm.yaml): streamed tool-call round
  trips through both providers; its OpenAI stream carries no usage (the cost
  cap's upper-bound estimate), its Anthropic stream does; a wrong base URL
  (FastAPI's `{"detail": "Not Found"}`).
* llm-katan, echo backend: streamed text with usage through both providers;
  a second instance with `--rate-limit-after 1` answers 429 in each
  provider's error shape, retried and then reported with the message intact
  under a one-character key.

Neither server can fail in the middle of a stream; that case (LiteLLM's and
OpenRouter's shapes, llama.cpp's `error:` line) is covered by the Rust tests
against tests/providers/server.rs.

Each case runs `wf run` in a fresh git repository and checks its exit code,
output, summary and trace. Ends with "N passed, N failed".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEY = "x"  # a local server's dummy key: must not garble messages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on a free loopback port, stopped by its own pid."""

    def __init__(self, name: str, argv: list[str], port: int, log_dir: Path, cwd: Path):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(log_dir / f"{name}.log", "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen on {port} within 60 s")

    def post(self, path: str, body: dict | None = None, headers: dict | None = None) -> int:
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST")
        req.add_header("content-type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                r.read()
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    def get_json(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.load(r)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Run:
    def __init__(self, repo: Path, proc: subprocess.CompletedProcess):
        self.repo = repo
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def runs(self) -> list[Path]:
        d = self.repo / ".wf" / "runs"
        return sorted(p for p in d.iterdir()) if d.exists() else []

    def summary(self) -> dict:
        return json.loads((self.runs()[-1] / "summary.json").read_text())

    def events(self, kind: str) -> list[dict]:
        lines = (self.runs()[-1] / "trace.jsonl").read_text().splitlines()
        return [e for e in map(json.loads, lines) if e.get("kind") == kind]

    def expect(self, code: int) -> None:
        assert self.code == code, f"exit {self.code}, wanted {code}\nstderr:\n{self.stderr}"


class Driver:
    def __init__(self, wf: Path, tmp: Path):
        self.wf = wf
        self.tmp = tmp
        self.count = 0

    def run(self, provider: str, model: str, env: dict, *, prompt: str, limits: str = "",
            check: str = "true", tools: str = "[read_file, write_file]") -> Run:
        self.count += 1
        repo = self.tmp / f"repo{self.count}"
        repo.mkdir()
        task = f"""wf: 1
name: interop
model: {{ provider: {provider}, name: {model}, max_tokens: 256, max_attempts: 2 }}
tools: {tools}
permissions: {{ write: ["out.txt"] }}
prompt: {json.dumps(prompt)}
checks:
  - {{ name: check, run: {json.dumps(check)} }}
{limits}
"""
        (repo / "task.yaml").write_text(task)
        git = ["git", "-c", "user.name=wf", "-c", "user.email=wf@localhost"]
        subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
        subprocess.run(git + ["add", "-A"], cwd=repo, check=True)
        subprocess.run(git + ["commit", "-qm", "task"], cwd=repo, check=True)
        clean = {k: v for k, v in os.environ.items()
                 if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
        clean.update(env)
        clean["NO_COLOR"] = "1"
        proc = subprocess.run([str(self.wf), "run", "task.yaml", "--yes"], cwd=repo, env=clean,
                              capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        return Run(repo, proc)


def openai_env(server: Server, path: str = "/v1") -> dict:
    return {"OPENAI_BASE_URL": server.url + path, "OPENAI_API_KEY": KEY}


def anthropic_env(server: Server) -> dict:
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": KEY}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wf", required=True, type=Path)
    ap.add_argument("--venv", required=True, type=Path)
    args = ap.parse_args()
    wf = args.wf.resolve()
    bin_dir = args.venv / "bin"
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="wf-interop-"))
    logs = tmp / "logs"
    logs.mkdir()
    servers: list[Server] = []
    passed, failed = [], []
    try:
        fake = Server("fakellm", [str(bin_dir / "fakellm"), "serve", "--host", "127.0.0.1",
                                  "--port", str(p := free_port()),
                                  "--config", str(HERE / "fakellm.yaml")], p, logs, tmp)
        servers.append(fake)
        katan_args = ["--model", "echo", "--backend", "echo", "--host", "127.0.0.1",
                      "--providers", "openai,anthropic",
                      "--no-auto-tool-providers", "openai,anthropic",
                      "--disable-dashboard", "--log-level", "WARNING"]
        katan = Server("llm-katan", [str(bin_dir / "llm-katan"), *katan_args,
                                     "--port", str(p := free_port()),
                                     "--stats-file", str(tmp / "katan-stats.json")],
                       p, logs, tmp)
        servers.append(katan)
        limited = Server("llm-katan-429", [str(bin_dir / "llm-katan"), *katan_args,
                                           "--port", str(p := free_port()),
                                           "--stats-file", str(tmp / "katan-429-stats.json"),
                                           "--rate-limit-after", "1"], p, logs, tmp)
        servers.append(limited)
        # Spend the one request the limited server answers; 429 from now on.
        limited.post("/v1/chat/completions",
                     {"model": "echo", "messages": [{"role": "user", "content": "hi"}]},
                     {"authorization": "Bearer x"})
        d = Driver(wf, tmp)
        write = "test \"$(cat out.txt)\" = 'hello from fakellm'"

        def fakellm_requests() -> int:
            return fake.get_json("/_fakellm/stats")["total_requests"]

        def fakellm_openai_tool_round_trip():
            fake.post("/_fakellm/reset")
            r = d.run("openai", "local-model", openai_env(fake), prompt="Write out.txt (1).",
                      check=write)
            r.expect(0)
            assert (r.repo / "out.txt").read_text() == "hello from fakellm\n"
            calls = r.events("tool_call")
            assert [c["tool"] for c in calls] == ["write_file"], calls
            responses = r.events("model_response")
            assert len(responses) == 2, responses
            # fakellm's OpenAI stream has no usage: unknown, never zero.
            s = r.summary()
            assert s["totals"]["input_tokens"] is None and s["totals"]["cost_usd"] is None, s

        def fakellm_openai_no_usage_under_a_cap_is_estimated():
            fake.post("/_fakellm/reset")
            r = d.run("openai", "gpt-4o-mini", openai_env(fake), prompt="Write out.txt (2).",
                      check=write, limits="limits: { max_cost_usd: 1 }")
            r.expect(0)
            for resp in r.events("model_response"):
                assert resp["usage"]["estimated"] is True, resp
                assert resp["usage"]["output_tokens"] == 256, resp
            assert r.summary()["totals"]["cost_usd"] > 0

        def fakellm_openai_cost_cap_stops_the_run():
            fake.post("/_fakellm/reset")
            before = fakellm_requests()
            r = d.run("openai", "gpt-4o-mini", openai_env(fake), prompt="Write out.txt (3).",
                      check=write, limits="limits: { max_cost_usd: 0.000001 }")
            r.expect(1)
            assert r.summary()["status"] == "cost_limit", r.summary()
            assert fakellm_requests() - before == 1, "a request after the limit"
            assert not (r.repo / "out.txt").exists()

        def fakellm_anthropic_tool_round_trip_with_usage():
            fake.post("/_fakellm/reset")
            r = d.run("anthropic", "claude-haiku-4-5", anthropic_env(fake),
                      prompt="Write out.txt (4).", check=write,
                      limits="limits: { max_cost_usd: 1 }")
            r.expect(0)
            assert (r.repo / "out.txt").read_text() == "hello from fakellm\n"
            for resp in r.events("model_response"):
                assert "estimated" not in resp["usage"], resp
                assert resp["usage"]["output_tokens"] >= 1, resp
            assert r.summary()["totals"]["cost_usd"] > 0

        def fakellm_wrong_base_url_names_the_url():
            r = d.run("openai", "local-model", openai_env(fake, path=""), prompt="Anything.")
            r.expect(1)
            want = (f"openai http 404: Not Found (POST {fake.url}/chat/completions: if that is "
                    "not the API's address, OPENAI_BASE_URL must be the API root including /v1")
            assert want in r.stderr, r.stderr

        def katan_streams(provider: str, model: str, env: dict):
            r = d.run(provider, model, env, prompt=f"Say hello ({provider}).",
                      tools="[read_file]")
            r.expect(0)
            (resp,) = r.events("model_response")
            text = resp["content"][0]["text"]
            assert text.startswith("[echo] model="), text
            usage = resp["usage"]
            assert usage["input_tokens"] > 0 and usage["output_tokens"] > 0, usage
            assert "estimated" not in usage, usage
            assert r.summary()["totals"]["cost_usd"] > 0

        def katan_openai_stream_with_usage():
            katan_streams("openai", "gpt-4o-mini", openai_env(katan))

        def katan_anthropic_stream_with_usage():
            katan_streams("anthropic", "claude-haiku-4-5", anthropic_env(katan))

        def katan_429(provider: str, model: str, env: dict, want: str):
            r = d.run(provider, model, env, prompt="Anything.", tools="[read_file]")
            r.expect(1)
            assert want in r.stderr, r.stderr
            assert "<redacted>" not in r.stderr, r.stderr
            retries = r.events("model_retry")
            assert len(retries) == 1, retries

        def katan_openai_429_retried_then_reported():
            katan_429("openai", "gpt-4o-mini", openai_env(limited),
                      "openai http 429: server_error: rate limit exceeded (gave up after 2 attempts)")

        def katan_anthropic_429_retried_then_reported():
            katan_429("anthropic", "claude-haiku-4-5", anthropic_env(limited),
                      "anthropic http 429: rate_limit_error: rate limit exceeded "
                      "(gave up after 2 attempts)")

        cases = [
            fakellm_openai_tool_round_trip,
            fakellm_openai_no_usage_under_a_cap_is_estimated,
            fakellm_openai_cost_cap_stops_the_run,
            fakellm_anthropic_tool_round_trip_with_usage,
            fakellm_wrong_base_url_names_the_url,
            katan_openai_stream_with_usage,
            katan_anthropic_stream_with_usage,
            katan_openai_429_retried_then_reported,
            katan_anthropic_429_retried_then_reported,
        ]
        for case in cases:
            t = time.monotonic()
            try:
                case()
                passed.append(case.__name__)
                print(f"interop {case.__name__} ... ok ({time.monotonic() - t:.1f}s)")
            except Exception:
                failed.append(case.__name__)
                print(f"interop {case.__name__} ... FAILED")
                traceback.print_exc(file=sys.stdout)
    finally:
        for s in servers:
            s.stop()
    if failed:
        print(f"server logs kept in {logs}")
        for log in sorted(logs.iterdir()):
            print(f"--- {log.name} (last lines)")
            print("\n".join(log.read_text().splitlines()[-15:]))
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"interop: {time.monotonic() - started:.1f}s")
    print(f"interop: {len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
