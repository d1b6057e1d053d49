"""An MCP client for `nightshift mcp --run-tools` (the tools of a run): the official Python SDK
(PyPI `mcp`, the version scripts/test installs) starts the server over stdio, lists its tools and calls them, and this
prints what it saw as one JSON object on stdout. Tests/EndToEndTests/MCPServerTests.swift runs it
and asserts on that report.

    python3 mcp_peer.py /path/to/nightshift
"""

import asyncio
import json
import sys

from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client

# (tool, arguments): good and bad calls of both tools.
CALLS = [
    ("spawn_subtask", {"prompt": "Check the migration for missing indexes", "agent": "reviewer", "labels": ["db"], "priority": 2}),
    ("spawn_subtask", {"agent": "reviewer"}),
    ("spawn_subtask", {"prompt": "x", "budget_usd": "a lot"}),
    ("wake_me", {"minutes": 45, "prompt": "check CI again"}),
    ("wake_me", {"at": "2030-01-02T03:04:05Z"}),
    ("wake_me", {"minutes": 5, "at": "2030-01-02T03:04:05Z"}),
    ("wake_me", {}),
]


def describe_tool(tool):
    """A listed tool as the reports give it: its name and description, and its input schema's type,
    required arguments and argument names."""
    return {
        "name": tool.name,
        "description": tool.description,
        "type": tool.input_schema.get("type"),
        "required": tool.input_schema.get("required", []),
        "properties": sorted(tool.input_schema.get("properties", {})),
    }


def text_of(result):
    return "\n".join(block.text for block in result.content if block.type == "text")


async def main(binary):
    report = {}
    parameters = StdioServerParameters(command=binary, args=["mcp", "--run-tools"])
    async with stdio_client(parameters) as (read, write):
        async with ClientSession(read, write) as session:
            initialized = await session.initialize()
            report["server"] = {
                "name": initialized.server_info.name,
                "version": initialized.server_info.version,
                "protocol_version": initialized.protocol_version,
                "tools_capability": initialized.capabilities.tools is not None,
            }
            listed = await session.list_tools()
            report["tools"] = [describe_tool(tool) for tool in listed.tools]
            report["calls"] = []
            for name, arguments in CALLS:
                result = await session.call_tool(name, arguments)
                report["calls"].append({"tool": name, "arguments": arguments, "is_error": result.is_error, "text": text_of(result)})
            try:
                result = await session.call_tool("delete_everything", {})
                report["unknown_tool"] = {"answered": True, "is_error": result.is_error, "text": text_of(result)}
            except MCPError as error:
                report["unknown_tool"] = {"answered": False, "code": error.code, "message": error.message}
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
