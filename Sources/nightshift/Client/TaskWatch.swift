import Foundation
import Nightshift
import NightshiftDaemon

/// Following a task to its end over the event stream, shared by `submit --wait/--follow` and `logs --follow`.
enum TaskWatch {
    /// Whether the task object is in a terminal state.
    static func isTerminal(_ task: JSONValue) -> Bool {
        NightshiftClient.terminalStates.contains(task["state"]?.stringValue ?? "")
    }

    /// Whether the event is a move into a terminal state.
    static func isTerminalStateEvent(_ event: JSONValue) -> Bool {
        event["type"]?.stringValue == "state"
            && NightshiftClient.terminalStates.contains(event["data"]?["to"]?.stringValue ?? "")
    }

    /// Reads the task's events after `after` until the daemon ends the stream (or, with
    /// `untilTerminalEvent`, until the first move into a terminal state), handing each to
    /// `onEvent`; answers the task as it ended.
    ///
    /// When the daemon goes away (a graceful shutdown, a restart, a crash) before the task ends,
    /// it says so once on stderr and waits for the daemon to come back (the client's reconnect
    /// window). When it goes away after the task's final state event, that event decides.
    static func follow(
        _ client: NightshiftClient, task id: String, after: Int64 = 0, untilTerminalEvent: Bool = false,
        onEvent: (JSONValue) -> Void = { _ in }
    ) async throws -> JSONValue {
        var terminal: JSONValue?
        let window = client.reconnectWindow.components.seconds
        let stream = client.events(task: id, after: after) { error in
            CLIOutput.note("lost the daemon (\(error.message)); waiting up to \(window) s for it to come back")
        }
        for try await event in stream {
            onEvent(event)
            if isTerminalStateEvent(event) {
                terminal = event
                if untilTerminalEvent { break }
            }
        }
        do {
            return try await client.task(id)
        } catch let error as NightshiftClient.APIError where error.isTransient {
            guard let terminal else { throw error }
            return ["id": .string(id), "state": terminal["data"]?["to"] ?? .null, "error": terminal["data"]?["error"] ?? .null]
        }
    }

    /// 0 for a task that is done, 1 for one that ended otherwise.
    static func exitCode(for task: JSONValue) -> Int32 {
        task["state"]?.stringValue == "done" ? 0 : CLIExitCodes.failure
    }

    /// The task's result as text: a string as is, other JSON compact, nil when there is none.
    static func resultText(_ task: JSONValue) -> String? {
        switch task["result"] {
        case nil, .null?: nil
        case .string(let text)?: text
        case let value?: value.jsonText
        }
    }

    /// `task ID ended STATE: ERROR`, for a task that did not end done.
    static func failureMessage(_ task: JSONValue) -> String {
        let id = task["id"]?.stringValue ?? "?"
        let state = task["state"]?.stringValue ?? "?"
        var message = state == "error" ? "task \(id) ended in error" : "task \(id) ended \(state)"
        if let error = task["error"], error != .null { message += ": " + CLIOutput.text(error) }
        return message
    }
}
