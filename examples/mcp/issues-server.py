#!/usr/bin/env python3
"""An offline stand-in for an issue tracker's MCP server (stdio, one JSON-RPC
message a line), for examples/mcp.yaml. Real teams would pin their server's
package instead, e.g. [npx, -y, "@scope/issues-mcp@1.4.2"]."""
import json
import sys

ISSUES = {
    "17": "Port must come from the PORT setting; the default stays 8080.",
}
TOOLS = [
    {"name": "get_issue", "description": "The text of an issue, by number.",
     "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}},
    {"name": "close_issue", "description": "Close an issue.",
     "inputSchema": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}},
]

for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    method, params = msg.get("method"), msg.get("params") or {}
    if method == "initialize":
        result = {"protocolVersion": params.get("protocolVersion"), "capabilities": {"tools": {}},
                  "serverInfo": {"name": "issues", "version": "1.0.0"}}
    elif method == "tools/list":
        result = {"tools": TOOLS}
    elif method == "tools/call" and params.get("name") == "get_issue":
        text = ISSUES.get(params["arguments"]["id"], "no such issue")
        result = {"content": [{"type": "text", "text": text}], "isError": text == "no such issue"}
    else:
        print(json.dumps({"jsonrpc": "2.0", "id": msg["id"],
                          "error": {"code": -32601, "message": "not supported"}}), flush=True)
        continue
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}), flush=True)
