import Nightshift

extension ChatTools {
    /// The task id argument every task tool takes.
    static let taskID = ChatToolArgument("task_id", .string, required: true, "The task's id, as submit_task or list_tasks answered it.")

    /// Every tool, in the order the server lists them.
    public static let tools: [Tool] = [
        Tool(
            name: "submit_task",
            description: """
                Hand work to a Nightshift agent in the background and return at once with the new task \
                (its `id` and `state`, normally `queued`). The agent runs on its own, possibly for a long \
                time, and does not see this conversation: the prompt must say everything it needs. Follow \
                it with task_status, task_events or the resource nightshift://tasks/{id}/log, and get what \
                it produced with task_result. Give `origin` to have your channel told when it starts, \
                ends or waits for a person. list_agents names the agents.
                """,
            arguments: [
                ChatToolArgument("agent", .string, required: true, "The Nightshift agent to run it (see list_agents)."),
                ChatToolArgument("prompt", .string, required: true, "What the agent is to do: its whole prompt."),
                ChatToolArgument("labels", .strings, "Labels to find the task by later (list_tasks label=…)."),
                ChatToolArgument("priority", .integer(minimum: 0), "Its priority: lower runs first (default 10)."),
                ChatToolArgument("lane", .string, "The concurrency lane it runs in."),
                ChatToolArgument("budget_usd", .positiveNumber, "The most its runs may spend, in US dollars."),
                ChatToolArgument(
                    "idempotency_key", .string,
                    "A key of your own: submitting again with the same key answers the task it made the first time instead of a new one."),
                ChatToolArgument(
                    "origin",
                    .object([
                        ChatToolArgument("channel", .string, required: true, "The channel binding to notify (a [channels.NAME] of the daemon's config)."),
                        ChatToolArgument("session", .string, "Your conversation or chat id in that channel."),
                        ChatToolArgument("thread", .string, "The thread to reply in, such as a Slack message's ts."),
                    ]),
                    "Where the request came from, to be notified there: the channel is told when the task starts, is done, fails, waits for a person or is parked."),
            ],
            readOnly: false, destructive: false, perform: submit),
        Tool(
            name: "task_status",
            description: """
                A task as it is now: its `state` (queued, running, waiting, paused, done, error, cancelled \
                or dropped), attempts, cost and tokens so far, and for a waiting task what it waits for \
                (`waiting_for`: a question to answer with send_input, or a tool call or step to decide with \
                approve). The answer is the API's task object.
                """,
            arguments: [taskID],
            readOnly: true, destructive: false,
            perform: { call, api in try await api.apiRequest(.GET, api.taskPath(call.string("task_id")!), query: [], body: nil) }),
        Tool(
            name: "task_result",
            description: """
                What a task produced: its `result` (the agent's final answer) when it is done, or its \
                `error` when it failed, was cancelled or dropped, with its final `state` and cost. \
                `finished` is false while it has not ended (then `state` says where it is, and \
                `waiting_for` what it waits for); call again later, or read task_events meanwhile.
                """,
            arguments: [taskID],
            readOnly: true, destructive: false, perform: result),
        Tool(
            name: "list_tasks",
            description: """
                Tasks of this workspace, newest first, in short (id, agent, state, labels, the start of \
                the prompt, times, cost). Filter by state, agent, label or lane; pass `next_cursor` of \
                one answer as `cursor` to get the next page.
                """,
            arguments: [
                ChatToolArgument(
                    "state", .string,
                    "Only tasks in these states, comma-separated: queued, running, waiting, paused, done, error, cancelled, dropped."),
                ChatToolArgument("agent", .string, "Only tasks of this agent."),
                ChatToolArgument("label", .string, "Only tasks with this label."),
                ChatToolArgument("lane", .string, "Only tasks in this lane."),
                ChatToolArgument("limit", .integer(minimum: 1, maximum: 100), "At most this many tasks (default 20)."),
                ChatToolArgument("cursor", .string, "Where the page starts: `next_cursor` of the previous answer."),
            ],
            readOnly: true, destructive: false, perform: list),
        Tool(
            name: "cancel_task",
            description: """
                Cancel a task that has not ended: a running agent is stopped (its process group is \
                signalled), a queued or waiting one never runs again. The reason becomes its `error`. \
                Answers the task; cancelling a task that has ended is refused.
                """,
            arguments: [taskID, ChatToolArgument("reason", .string, "Why, kept as the task's error.")],
            readOnly: false, destructive: true,
            perform: { call, api in
                let body: JSONValue? = call.value("reason").map { ["reason": $0] }
                return try await api.apiRequest(.POST, api.taskPath(call.string("task_id")!, "/cancel"), query: [], body: body)
            }),
        Tool(
            name: "send_input",
            description: """
                Send a task a message, or the answer to the question it waits for (task_status shows \
                `waiting_for.question` and its `options`). A waiting task wakes and its agent continues \
                with the text; a running one gets it live when its agent takes live input, else when \
                its run ends. Answers the input with its `delivery`; a task that has ended takes none.
                """,
            arguments: [
                taskID,
                ChatToolArgument("text", .string, required: true, "The message or the answer."),
                ChatToolArgument("kind", .choice(["message", "answer"]), "`answer` for the answer to its question, `message` otherwise (default)."),
                ChatToolArgument("idempotency_key", .string, "A key of your own: sending again with the same key adds nothing."),
            ],
            readOnly: false, destructive: false,
            perform: { call, api in
                try await input(call, api, kind: call.string("kind") ?? "message", text: call.value("text"))
            }),
        Tool(
            name: "approve",
            description: """
                Decide what a task waits for approval of (task_status shows `waiting_for.kind` \
                `approval`, with the `tool` and its `tool_input`, or the step): approve it, or reject it \
                with `decision` `reject`. The task wakes and its agent continues with the decision (a \
                task held before its first run is dropped on reject). Refused for a task that waits for \
                something else.
                """,
            arguments: [
                taskID,
                ChatToolArgument("decision", .choice(["approve", "reject"]), "`approve` (default) or `reject`."),
                ChatToolArgument("comment", .string, "A comment for the agent; for a reject, the reason."),
            ],
            readOnly: false, destructive: false,
            perform: { call, api in
                try await input(call, api, kind: call.string("decision") ?? "approve", text: call.value("comment"))
            }),
        Tool(
            name: "task_events",
            description: """
                Tail a task's event log: state changes, the agent's output, tool calls and results, \
                inputs. Answers the events with `seq` greater than `after` (oldest first) and \
                `next_after`: pass that as `after` next time to get only what is new since.
                """,
            arguments: [
                taskID,
                ChatToolArgument("after", .integer(minimum: 0), "Only events after this seq (default 0: from the start)."),
                ChatToolArgument("limit", .integer(minimum: 1, maximum: 1000), "At most this many events (default 100)."),
            ],
            readOnly: true, destructive: false,
            perform: { call, api in
                var query = [("after", String(call.integer("after") ?? 0))]
                if let limit = call.integer("limit") { query.append(("limit", String(limit))) }
                return try await api.apiRequest(.GET, api.taskPath(call.string("task_id")!, "/events"), query: query, body: nil)
            }),
        Tool(
            name: "list_agents",
            description: "The agents tasks can be submitted to: each one's name, runner (claude_code, codex, gemini, command, …), budget and what it has spent.",
            arguments: [],
            readOnly: true, destructive: false, perform: agents),
    ]
}
