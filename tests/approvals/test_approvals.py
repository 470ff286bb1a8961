#!/usr/bin/env python3
"""Approvals through MCP elicitation, driven by the official MCP Python SDK client.

Usage: python3 tests/approvals/test_approvals.py PATH_TO_SKIPPY

Starts the real `skippy` binary with `server.approvals = "destructive"` (SKIPPY_APPROVALS) in a
temporary sandbox and checks every approval path as a client sees it:
  accept  -> write_file runs and the file is written;
  decline -> policy_denied "declined by the user", and the file was not written;
  cancel  -> policy_denied "cancelled", and the file was not written;
  a client without the elicitation capability -> refused, the message names the config keys;
  a 2026-07-28 session (server/discover), where servers may not send requests -> refused;
  a read-only tool and a dry run are never asked about;
and that each decision is in the audit line. Prints one line per check; exits non-zero on failure.
"""

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

FAILURES = []


def check(name, condition, detail=""):
    print(f"{'ok  ' if condition else 'FAIL'} {name}" + (f": {detail}" if not condition and detail else ""))
    if not condition:
        FAILURES.append(name)


def error_of(result):
    """The {code, message} of an isError result, or None."""
    if not result.is_error:
        return None
    return json.loads(result.content[0].text)["error"]


class Recorder:
    """An elicitation callback that answers with a fixed action and keeps the questions."""

    def __init__(self, action, approve=True):
        self.action = action
        self.approve = approve
        self.asked = []

    async def __call__(self, context, params):
        self.asked.append(params)
        if self.action == "accept":
            return types.ElicitResult(action="accept", content={"approve": self.approve})
        return types.ElicitResult(action=self.action)


async def session(binary, sandbox, callback, body, modern=False):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(sandbox / "home"),
        "XDG_CONFIG_HOME": str(sandbox / "config"),
        "XDG_STATE_HOME": str(sandbox / "state"),
        "SKIPPY_READ_ROOTS": str(sandbox / "root"),
        "SKIPPY_WRITE_ROOTS": str(sandbox / "root"),
        "SKIPPY_AUDIT_LOG": str(sandbox / "audit.jsonl"),
        "SKIPPY_APPROVALS": "destructive",
    }
    params = StdioServerParameters(command=binary, args=["serve"], env=env, cwd=str(sandbox / "root"))
    with open(sandbox / "stderr.log", "a") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write):
            kwargs = {} if callback is None else {"elicitation_callback": callback}
            async with ClientSession(read, write, **kwargs) as client:
                if modern:
                    await client.discover()
                else:
                    await client.initialize()
                await body(client)


def audit_lines(sandbox):
    path = sandbox / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


async def wait_for_audit(sandbox, count):
    # The audit writer is a background thread: wait until it caught up (bounded).
    for _ in range(200):
        lines = audit_lines(sandbox)
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.025)
    return audit_lines(sandbox)


async def main(binary):
    with tempfile.TemporaryDirectory(prefix="skippy-approvals-") as temp:
        sandbox = Path(temp)
        for sub in ("home", "config", "state", "root"):
            (sandbox / sub).mkdir()
        root = sandbox / "root"

        # 1. Accept: the call runs, and the question said exactly what would happen.
        accept = Recorder("accept")

        async def accepted(client):
            result = await client.call_tool("write_file", {"path": "accepted.txt", "content": "hello\n"})
            check("accept: write_file runs", not result.is_error, str(result.content))
            check("accept: the file is written", (root / "accepted.txt").read_text() == "hello\n")
            check("accept: asked exactly once", len(accept.asked) == 1, str(len(accept.asked)))
            message = accept.asked[0].message if accept.asked else ""
            check("accept: the question names the tool", "`write_file`" in message, message)
            check("accept: the question names the file", "accepted.txt" in message, message)
            check("accept: the question gives the size", "6 bytes" in message, message)
            check("accept: the question says why", 'server.approvals = "destructive"' in message, message)
            schema = accept.asked[0].requested_schema if accept.asked else {}
            check(
                "accept: a yes/no form",
                schema.get("properties", {}).get("approve", {}).get("type") == "boolean",
                str(schema),
            )

            # Read-only tools and dry runs are not asked about.
            before = len(accept.asked)
            listed = await client.call_tool("list_directory", {"path": "."})
            check("read-only: list_directory runs without a question", not listed.is_error, str(listed.content))
            dry = await client.call_tool("write_file", {"path": "dry.txt", "content": "x", "dry_run": True})
            check("dry run: runs without a question", not dry.is_error, str(dry.content))
            check("read-only and dry run: nobody asked", len(accept.asked) == before, str(len(accept.asked)))
            check("dry run: nothing written", not (root / "dry.txt").exists())

            # An edit shows its diff.
            edit = await client.call_tool(
                "edit_file",
                {"path": "accepted.txt", "edits": [{"old_text": "hello", "new_text": "bonjour"}]},
            )
            check("accept: edit_file runs", not edit.is_error, str(edit.content))
            message = accept.asked[-1].message if accept.asked else ""
            check("accept: the edit question shows the diff", "-hello" in message and "+bonjour" in message, message)

            # Accept with approve=false is not a yes.
            accept.approve = False
            result = await client.call_tool("write_file", {"path": "unticked.txt", "content": "x"})
            error = error_of(result) or {}
            check("accept without approve: refused", error.get("code") == "policy_denied", str(error))
            check("accept without approve: nothing written", not (root / "unticked.txt").exists())

        await session(binary, sandbox, accept, accepted)

        # 2. Decline: policy_denied, nothing written.
        decline = Recorder("decline")

        async def declined(client):
            result = await client.call_tool("write_file", {"path": "declined.txt", "content": "no\n"})
            error = error_of(result) or {}
            check("decline: policy_denied", error.get("code") == "policy_denied", str(error))
            check(
                "decline: says declined and nothing done",
                "declined by the user; nothing was done" in error.get("message", ""),
                str(error),
            )
            check("decline: the file was not written", not (root / "declined.txt").exists())
            check("decline: asked once", len(decline.asked) == 1, str(len(decline.asked)))

        await session(binary, sandbox, decline, declined)

        # 3. Cancel: policy_denied, nothing written.
        cancel = Recorder("cancel")

        async def cancelled(client):
            result = await client.call_tool("write_file", {"path": "cancelled.txt", "content": "no\n"})
            error = error_of(result) or {}
            check("cancel: policy_denied", error.get("code") == "policy_denied", str(error))
            check("cancel: says cancelled", "cancelled" in error.get("message", ""), str(error))
            check("cancel: the file was not written", not (root / "cancelled.txt").exists())

        await session(binary, sandbox, cancel, cancelled)

        # 4. A client without the elicitation capability: refused, fail closed, keys named.
        async def incapable(client):
            result = await client.call_tool("write_file", {"path": "unasked.txt", "content": "no\n"})
            error = error_of(result) or {}
            message = error.get("message", "")
            check("no capability: policy_denied", error.get("code") == "policy_denied", str(error))
            check("no capability: names the capability", "`elicitation` capability" in message, message)
            check("no capability: names server.approvals", "server.approvals" in message, message)
            check(
                "no capability: names the override key",
                "server.approval_overrides.write_file" in message,
                message,
            )
            check("no capability: the file was not written", not (root / "unasked.txt").exists())
            listed = await client.call_tool("list_directory", {"path": "."})
            check("no capability: read-only tools still run", not listed.is_error, str(listed.content))

        await session(binary, sandbox, None, incapable)

        # 5. Protocol 2026-07-28 (server/discover) forbids server-to-client requests: even a client
        # that can answer elicitations is refused (fail closed), with the way out named.
        modern = Recorder("accept")

        async def modern_session(client):
            result = await client.call_tool("write_file", {"path": "modern.txt", "content": "no\n"})
            error = error_of(result) or {}
            message = error.get("message", "")
            check("2026-07-28: policy_denied", error.get("code") == "policy_denied", str(error))
            check("2026-07-28: says why", "2026-07-28" in message and "server.approvals" in message, message)
            check("2026-07-28: nobody asked", not modern.asked, str(modern.asked))
            check("2026-07-28: the file was not written", not (root / "modern.txt").exists())

        await session(binary, sandbox, modern, modern_session, modern=True)

        # 6. The audit log records each decision.
        lines = await wait_for_audit(sandbox, 10)
        decisions = [(line["tool"], line.get("approval"), line["outcome"]) for line in lines]
        expected = [
            ("write_file", "approved", "ok"),
            ("list_directory", None, "ok"),
            ("write_file", None, "ok"),
            ("edit_file", "approved", "ok"),
            ("write_file", "declined", "error"),
            ("write_file", "declined", "error"),
            ("write_file", "cancelled", "error"),
            ("write_file", "unsupported", "error"),
            ("list_directory", None, "ok"),
            ("write_file", "unsupported", "error"),
        ]
        check("audit: one line per call with its approval decision", decisions == expected, str(decisions))

    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed: {', '.join(FAILURES)}")
        return 1
    print("all approval checks passed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(asyncio.run(main(os.path.abspath(sys.argv[1]))))
