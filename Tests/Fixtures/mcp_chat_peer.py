"""A chat agent's MCP client for Nightshift's chat tools: the official Python SDK (PyPI `mcp`,
the version scripts/test installs) talks to `nightshift mcp` over stdio, or to the daemon's `/mcp`
over streamable HTTP, and drives background tasks the way a chat agent would. It prints what it
saw as one JSON object on stdout; Tests/EndToEndTests/MCPChatTests.swift runs it against a real
daemon (with the agents echo, slow, asker and pusher) and asserts on that report.

    python3 mcp_chat_peer.py stdio /path/to/nightshift http://127.0.0.1:PORT HOME
    python3 mcp_chat_peer.py http /path/to/nightshift http://127.0.0.1:PORT HOME
"""

import asyncio
import json
import os
import sys
import time
from contextlib import asynccontextmanager

from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp_peer import describe_tool, text_of

# How long a task may take to reach a state the peer waits for.
DEADLINE_SECONDS = 30


@asynccontextmanager
async def connect(transport, binary, url, home, token=None):
    """The streams of a session with Nightshift's chat tools over `transport` (over HTTP with
    `token`, else the data directory's)."""
    if transport == "stdio":
        environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "NIGHTSHIFT_HOME": home}
        parameters = StdioServerParameters(command=binary, args=["mcp", "--url", url], env=environment)
        async with stdio_client(parameters) as (read, write):
            yield read, write
    else:
        if token is None:
            with open(os.path.join(home, "token")) as file:
                token = file.read().strip()
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as client:
            async with streamable_http_client(url + "/mcp", http_client=client) as (read, write):
                yield read, write


async def call(session, name, arguments):
    result = await session.call_tool(name, arguments)
    text = text_of(result)
    value = None
    if not result.is_error:
        value = json.loads(text)
    return {"is_error": bool(result.is_error), "text": text, "value": value, "structured": result.structured_content}


async def until(session, task_id, condition):
    """Asks task_status until `condition(task)` holds or the deadline passes; answers the task."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        task = (await call(session, "task_status", {"task_id": task_id}))["value"]
        if condition(task) or time.monotonic() > deadline:
            return task
        await asyncio.sleep(0.05)


def first_mcp_error(error):
    """The first MCPError in `error` or the exception groups it nests, if any."""
    if isinstance(error, MCPError):
        return error
    for inner in getattr(error, "exceptions", []):
        found = first_mcp_error(inner)
        if found is not None:
            return found
    return None


def finished(task):
    return task["state"] in ("done", "error", "cancelled", "dropped")


def waiting(task):
    return task["state"] == "waiting"


async def main(transport, binary, url, home):
    report = {}
    async with connect(transport, binary, url, home) as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            report["server"] = {
                "name": initialized.server_info.name,
                "tools_capability": initialized.capabilities.tools is not None,
                "resources_capability": initialized.capabilities.resources is not None,
                "instructions": initialized.instructions,
            }
            listed = await session.list_tools()
            report["tools"] = [
                describe_tool(tool)
                | {
                    "types": {name: schema.get("type") for name, schema in tool.input_schema.get("properties", {}).items()},
                    "read_only": tool.annotations.read_only_hint if tool.annotations else None,
                }
                for tool in listed.tools
            ]
            templates = await session.list_resource_templates()
            report["templates"] = [template.uri_template for template in templates.resource_templates]
            report["agents"] = (await call(session, "list_agents", {}))["value"]

            # A task followed to its end: its result, its events (and the tail after them), its log.
            submitted = await call(
                session, "submit_task",
                {"agent": "echo", "prompt": "hello from chat", "labels": ["mcp"], "origin": {"channel": "chat", "thread": "t-1"}})
            report["submitted"] = submitted
            task_id = submitted["value"]["id"]
            await until(session, task_id, finished)
            report["result"] = await call(session, "task_result", {"task_id": task_id})
            events = await call(session, "task_events", {"task_id": task_id})
            report["events"] = events
            report["tail"] = await call(session, "task_events", {"task_id": task_id, "after": events["value"]["next_after"]})
            uri = f"nightshift://tasks/{task_id}/log"
            log = await session.read_resource(uri)
            report["log"] = {"uri": str(log.contents[0].uri), "mime_type": log.contents[0].mime_type, "lines": log.contents[0].text.split("\n")}
            resources = await session.list_resources()
            report["resources"] = [str(resource.uri) for resource in resources.resources]
            report["listed"] = await call(session, "list_tasks", {"label": "mcp", "limit": 5})

            # One cancelled while it runs.
            slow = (await call(session, "submit_task", {"agent": "slow", "prompt": "take your time"}))["value"]["id"]
            await until(session, slow, lambda task: task["state"] == "running")
            report["cancelled"] = await call(session, "cancel_task", {"task_id": slow, "reason": "not needed after all"})
            report["cancel_again"] = await call(session, "cancel_task", {"task_id": slow})

            # One that asks a question, answered; one that asks for approval, approved.
            asker = (await call(session, "submit_task", {"agent": "asker", "prompt": "which branch?"}))["value"]["id"]
            report["asking"] = await until(session, asker, waiting)
            report["answer"] = await call(session, "send_input", {"task_id": asker, "text": "dev", "kind": "answer"})
            await until(session, asker, finished)
            report["answered"] = await call(session, "task_result", {"task_id": asker})
            pusher = (await call(session, "submit_task", {"agent": "pusher", "prompt": "push it"}))["value"]["id"]
            report["approval"] = await until(session, pusher, waiting)
            report["approve"] = await call(session, "approve", {"task_id": pusher, "comment": "go ahead"})
            await until(session, pusher, finished)
            report["approved"] = await call(session, "task_result", {"task_id": pusher})
            report["approve_done"] = await call(session, "approve", {"task_id": pusher})

            # Refusals: a wrong argument type names the argument; the API's own errors are tool errors.
            report["bad_labels"] = await call(session, "submit_task", {"agent": "echo", "prompt": "x", "labels": "db"})
            report["bad_after"] = await call(session, "task_events", {"task_id": task_id, "after": "soon"})
            report["bad_origin"] = await call(session, "submit_task", {"agent": "echo", "prompt": "x", "origin": {"channel": 7}})
            report["missing_prompt"] = await call(session, "submit_task", {"agent": "echo"})
            report["unknown_argument"] = await call(session, "task_status", {"task_id": task_id, "verbose": True})
            report["unknown_task"] = await call(session, "task_status", {"task_id": "no-such-task"})
            report["unknown_agent"] = await call(session, "submit_task", {"agent": "nobody", "prompt": "x"})
            try:
                await session.read_resource("nightshift://tasks/no-such-task/log")
                report["unknown_log"] = {"answered": True}
            except MCPError as error:
                report["unknown_log"] = {"answered": False, "code": error.code, "message": error.message}
            try:
                result = await session.call_tool("delete_everything", {})
                report["unknown_tool"] = {"answered": True, "text": text_of(result)}
            except MCPError as error:
                report["unknown_tool"] = {"answered": False, "code": error.code, "message": error.message}
    if transport == "http":
        # A wrong token is refused before any session opens.
        try:
            async with connect(transport, binary, url, home, token="ns_wrong") as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
            report["wrong_token"] = {"refused": False}
        except Exception as error:  # the MCPError, inside the task groups' exception groups
            refusal = first_mcp_error(error)
            if refusal is None:
                raise
            report["wrong_token"] = {"refused": True, "code": refusal.code, "message": refusal.message}
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
