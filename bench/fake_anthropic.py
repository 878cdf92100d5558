#!/usr/bin/env python3
"""A scripted fake of the Anthropic Messages API that accounts for prompt
caching, for wf's billed-tokens benchmark. Python 3 standard library only.

    fake_anthropic.py SCRIPT.json REPORT.json [--port N] [--min-cache TOKENS]

It listens on 127.0.0.1 (port N, default 0: any free port, printed on stdout
as `port N` once it listens), answers every `POST /v1/messages` with the next
turn of SCRIPT as a server-sent event stream in Anthropic's format, and after
every request rewrites REPORT with the running accounting (and
REPORT.last-request.json with the request's body). It exits once the
script is played out and its client hung up (or when killed); a request past
the script gets a 400 error.

SCRIPT is a JSON list of turns, each `{"text": "...", "tool_calls":
[{"name": ..., "input": {...}}]}`; a turn without tool calls ends the run.
The answers do not depend on the requests: the server plays an agent that
was decided in advance, like wf's `provider: script`, but over real HTTP, so
what is measured is what wf really sends.

Prompt-cache accounting, as Anthropic documents it
(docs.claude.com, "Prompt caching"):

- A request is a sequence of blocks in prefix order: the tool definitions,
  the system blocks, then every content block of every message. The prefix
  up to a block is identified by a hash chain over the blocks (each block as
  canonical JSON without its `cache_control`, messages with their role).
- Each block carrying `cache_control` is a breakpoint: the prefix up to it is
  written to the cache (if it is at least --min-cache tokens, default 1024,
  Sonnet's minimum; shorter prefixes are not cached).
- A request reads the cache at the longest prefix that ends at one of its
  breakpoints, or at a block boundary at most 20 blocks before one of them,
  and equals a prefix written by an earlier request. The cache never
  expires here (the real one lives 5 minutes from its last use; a scripted
  run sends its requests seconds apart).
- Usage as Anthropic reports it: `cache_read_input_tokens` = the prefix read;
  `cache_creation_input_tokens` = from there to the last breakpoint;
  `input_tokens` = the rest, after the last breakpoint.
- Tokens are estimated as bytes / 4 of each block's canonical JSON (the same
  estimate wf uses); real tokenizers differ, the comparison does not.
- Billed token-equivalents = input × 1 + cache writes × 1.25 + cache reads ×
  0.1 (Anthropic's multipliers for the 5-minute cache). Output tokens are
  counted (answer bytes / 4) and reported apart, not in the billed figure.
"""

import hashlib
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

LOOKBACK = 20
WRITE, READ = 1.25, 0.1


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def blocks_of(body):
    """The request's blocks in prefix order: (canonical bytes, has breakpoint)."""
    out = []

    def add(kind, block):
        block = dict(block)
        marked = block.pop("cache_control", None) is not None
        out.append((canonical([kind, block]), marked))

    for tool in body.get("tools", []):
        add("tool", tool)
    system = body.get("system", [])
    if isinstance(system, str):
        system = [{"type": "text", "text": system}]
    for block in system:
        add("system", block)
    for message in body.get("messages", []):
        content = message["content"]
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content:
            add(message["role"], block)
    return out


def tokens(n_bytes):
    return n_bytes // 4


class Cache:
    """The prefixes written so far, by hash, and the running totals."""

    def __init__(self, min_tokens):
        self.min_tokens = min_tokens
        self.prefixes = set()
        self.totals = {"requests": 0, "input_tokens": 0, "cache_creation_input_tokens": 0,
                       "cache_read_input_tokens": 0, "output_tokens": 0, "prompt_tokens": 0}
        self.turns = []

    def account(self, body):
        blocks = blocks_of(body)
        # ends[i]: tokens and hash of the prefix of the first i blocks.
        sizes, hashes = [0], [hashlib.sha256(b"").digest()]
        for raw, _ in blocks:
            sizes.append(sizes[-1] + len(raw))
            hashes.append(hashlib.sha256(hashes[-1] + hashlib.sha256(raw).digest()).digest())
        marks = [i + 1 for i, (_, marked) in enumerate(blocks) if marked]
        total = tokens(sizes[-1])
        hit = 0
        for end in marks:
            for at in range(end, max(end - LOOKBACK, 0) - 1, -1):
                if at > hit and hashes[at] in self.prefixes:
                    hit = at
                    break
        read = tokens(sizes[hit])
        last = marks[-1] if marks else 0
        cacheable = last > hit and tokens(sizes[last]) >= self.min_tokens
        created = tokens(sizes[last]) - read if cacheable else 0
        for end in marks:
            if tokens(sizes[end]) >= self.min_tokens:
                self.prefixes.add(hashes[end])
        usage = {"input_tokens": total - read - created,
                 "cache_creation_input_tokens": created,
                 "cache_read_input_tokens": read}
        t = self.totals
        t["requests"] += 1
        t["prompt_tokens"] += total
        for k, v in usage.items():
            t[k] += v
        self.turns.append(dict(usage, blocks=len(blocks), breakpoints=len(marks)))
        return usage

    def report(self):
        t = dict(self.totals)
        t["billed_input"] = round(t["input_tokens"] + WRITE * t["cache_creation_input_tokens"]
                                  + READ * t["cache_read_input_tokens"])
        t["uncached_equivalent"] = t["prompt_tokens"]
        return {"totals": t, "turns": self.turns}


def sse(events):
    return "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events).encode()


def answer(turn_no, turn, usage):
    """The turn as Anthropic streams it; and its output bytes."""
    calls = turn.get("tool_calls", [])
    events = [{"type": "message_start", "message": {
        "id": f"msg_fake_{turn_no:04d}", "type": "message", "role": "assistant",
        "model": "claude-sonnet-4-5", "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": dict(usage, output_tokens=1)}}]
    out_bytes = 0
    index = 0
    text = turn.get("text", "")
    if text:
        events += [{"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                   {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                   {"type": "content_block_stop", "index": 0}]
        out_bytes += len(text.encode())
        index = 1
    for k, call in enumerate(calls):
        raw = json.dumps(call["input"])
        out_bytes += len(raw.encode()) + len(call["name"])
        events += [{"type": "content_block_start", "index": index, "content_block": {
                        "type": "tool_use", "id": f"toolu_{turn_no:04d}_{k}", "name": call["name"], "input": {}}},
                   {"type": "content_block_delta", "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": raw}},
                   {"type": "content_block_stop", "index": index}]
        index += 1
    output = max(tokens(out_bytes), 1)
    events += [{"type": "message_delta", "delta": {"stop_reason": "tool_use" if calls else "end_turn",
                                                   "stop_sequence": None},
                "usage": {"output_tokens": output}},
               {"type": "message_stop"}]
    return sse(events), output


def main():
    args = sys.argv[1:]
    port, min_cache = 0, 1024
    if "--port" in args:
        i = args.index("--port")
        port = int(args[i + 1])
        del args[i:i + 2]
    if "--min-cache" in args:
        i = args.index("--min-cache")
        min_cache = int(args[i + 1])
        del args[i:i + 2]
    script_path, report_path = args
    with open(script_path) as f:
        script = json.load(f)
    cache = Cache(min_cache)
    state = {"next": 0, "done": False}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            n = state["next"]
            if self.path != "/v1/messages" or n >= len(script):
                err = canonical({"type": "error", "error": {"type": "invalid_request_error",
                                                           "message": "the fake's script is played out"}})
                self.send_response(400)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(err)))
                self.end_headers()
                self.wfile.write(err)
                state["done"] = True
                return
            state["next"] += 1
            state["done"] = state["next"] == len(script)
            usage = cache.account(body)
            payload, output = answer(n + 1, script[n], usage)
            cache.totals["output_tokens"] += output
            self.send_response(200)
            self.send_header("content-type", "text/event-stream; charset=utf-8")
            self.send_header("request-id", f"req_fake_{n + 1:04d}")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            with open(report_path + ".last-request.json", "w") as f:
                json.dump(body, f, indent=1)
            with open(report_path + ".tmp", "w") as f:
                json.dump(cache.report(), f, indent=1)
            os.replace(report_path + ".tmp", report_path)

    server = HTTPServer(("127.0.0.1", port), Handler)
    print(f"port {server.server_address[1]}", flush=True)
    while not state["done"]:
        server.handle_request()


if __name__ == "__main__":
    main()
