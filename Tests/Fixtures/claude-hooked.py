#!/usr/bin/env python3
"""The fake Claude CLI's hooked scenarios (`hooked_*`): a session that makes one tool call, with
Claude Code's `PreToolUse` hook in the loop, as the real CLI (>= 2.1.89) runs it in print mode.

Run by `claude` (the fake) for FAKE_CLAUDE_SCENARIO=hooked_<name>. It reads
claude-sessions/hooked_<name>.jsonl, whose sections are:

  @START     the lines printed before the tool call (init, the assistant's tool_use line)
  @ALLOWED   what follows when the hook allows the call (@ANSWERS@: the answers given)
  @DENIED    what follows when the hook denies it (@REASON@: the hook's reason)
  @DEFERRED  the result line when the hook defers it (stop_reason "tool_deferred")

Like the real CLI it runs each `PreToolUse` hook of `--settings` (a JSON text) whose matcher
matches, with the hook's JSON on stdin (session_id, transcript_path, cwd, permission_mode,
hook_event_name, tool_name, tool_input, tool_use_id), through `sh -c`, and obeys
`hookSpecificOutput.permissionDecision` (with `updatedInput`). Without a hook the call is
refused as print mode refuses an unapproved tool (permission_denials).

State between processes (the real CLI keeps the transcript under ~/.claude/projects): a deferred
call is written to $FAKE_CLAUDE_RECORD_DIR/deferred-<session>.json. `--resume=<session>` with an
empty prompt re-fires the hook for that call; with no deferred call it fails as Claude Code
2.1.119+ does ("No deferred tool marker found ...", vnovick/itervox issue 30). Stricter than the
real CLI: a prompt given to a session stopped at a deferred call is refused (exit 2), so a test
notices a runner that sends one. Each hook run is appended to $FAKE_CLAUDE_RECORD_DIR/hooks.jsonl
({"input": …, "output": …}); argv and stdin are recorded as by `claude`.
"""
import json
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
scenario = os.environ.get("FAKE_CLAUDE_SCENARIO", "")
record = os.environ.get("FAKE_CLAUDE_RECORD_DIR")
args = sys.argv[1:]
prompt = sys.stdin.read()
if record:
    with open(os.path.join(record, "argv"), "w") as f:
        f.writelines(a + "\n" for a in args)
    with open(os.path.join(record, "stdin"), "w") as f:
        f.write(prompt)


def option(name):
    for a in args:
        if a.startswith(name + "="):
            return a[len(name) + 1:]
    return None


sections, current = {}, None
with open(os.path.join(here, "claude-sessions", scenario + ".jsonl")) as f:
    for line in f:
        line = line.rstrip("\n")
        if line.startswith("@"):
            current = line[1:]
            sections[current] = []
        elif line:
            sections[current].append(line)

call = json.loads(sections["START"][-1])["message"]["content"][0]
session = json.loads(sections["START"][0])["session_id"]
state = os.path.join(record or "/tmp", "deferred-%s.json" % session)
resume = option("--resume")


def emit(lines, **values):
    for line in lines:
        for key, value in values.items():
            line = line.replace("@%s@" % key, json.dumps(value)[1:-1])
        print(line, flush=True)


if resume is not None:
    if resume != session:
        print("No conversation found with session ID: %s" % resume, file=sys.stderr)
        sys.exit(1)
    deferred = os.path.exists(state)
    if not deferred and not prompt.strip():
        print("Error: No deferred tool marker found in the resumed session. Either the session was not "
              "deferred, the marker is stale (tool already ran), or it exceeds the tail-scan window. "
              "Provide a prompt to continue the conversation.", file=sys.stderr)
        sys.exit(1)
    if deferred and prompt.strip():
        print("fake claude: a prompt was given to a session stopped at a deferred call", file=sys.stderr)
        sys.exit(2)
    if not deferred:
        # A resumed session given a prompt: the fake has nothing more to say than its last answer.
        emit(sections["START"][:1])
        emit(sections["ALLOWED"][-1:])
        sys.exit(0)
    emit(sections["START"][:1])
else:
    if not prompt.strip():
        print("Error: Input must be provided either through stdin or as a prompt argument when using --print",
              file=sys.stderr)
        sys.exit(1)
    emit(sections["START"])

hooks = []
settings = option("--settings")
if settings:
    for group in json.loads(settings).get("hooks", {}).get("PreToolUse", []):
        matcher = group.get("matcher", "")
        if matcher in ("", "*") or re.fullmatch(matcher, call["name"]):
            hooks += [h for h in group.get("hooks", []) if h.get("type") == "command"]

decision, reason, tool_input = None, "", call["input"]
for hook in hooks:
    hook_input = {
        "session_id": session, "transcript_path": "/tmp/%s.jsonl" % session, "cwd": os.getcwd(),
        "permission_mode": option("--permission-mode") or "default", "hook_event_name": "PreToolUse",
        "tool_name": call["name"], "tool_input": call["input"], "tool_use_id": call["id"],
    }
    done = subprocess.run(["sh", "-c", hook["command"]], input=json.dumps(hook_input), capture_output=True, text=True)
    output = {}
    if done.returncode == 0 and done.stdout.strip():
        output = json.loads(done.stdout).get("hookSpecificOutput", {})
    elif done.returncode == 2:
        output = {"permissionDecision": "deny", "permissionDecisionReason": done.stderr.strip()}
    if record:
        with open(os.path.join(record, "hooks.jsonl"), "a") as f:
            f.write(json.dumps({"input": hook_input, "output": output, "exit": done.returncode, "stderr": done.stderr}) + "\n")
    # The order Claude Code documents: deny > defer > ask > allow.
    rank = {"deny": 3, "defer": 2, "ask": 1, "allow": 0}
    chosen = output.get("permissionDecision")
    if chosen in rank and (decision is None or rank[chosen] > rank[decision]):
        decision, reason = chosen, output.get("permissionDecisionReason", "")
        if "updatedInput" in output:
            tool_input = output["updatedInput"]

if decision == "defer":
    with open(state, "w") as f:
        json.dump(call, f)
    emit(sections["DEFERRED"])
    sys.exit(0)
if os.path.exists(state):
    os.remove(state)
if decision == "allow":
    answers = tool_input.get("answers", {}) if isinstance(tool_input, dict) else {}
    text = ", ".join('"%s"="%s"' % (q, a) for q, a in answers.items())
    if call["name"] == "AskUserQuestion" and not answers:
        # AskUserQuestion needs its answers in updatedInput: "allow" alone is not enough.
        emit(sections["DENIED"], REASON="Answer questions?")
    else:
        emit(sections["ALLOWED"], ANSWERS=text)
elif decision == "deny":
    emit(sections["DENIED"], REASON=reason)
else:
    emit(sections["DENIED"], REASON="Claude requested permissions to use %s, but you haven't granted it yet." % call["name"])
