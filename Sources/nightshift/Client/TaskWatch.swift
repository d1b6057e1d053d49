import Foundation
import Nightshift
import NightshiftDaemon

/// Following a task to its end over the event stream, shared by `submit --wait/--follow` and `logs --follow`.
enum TaskWatch {
    /// How a followed task ended: the task as the daemon answers it, or, when the daemon went away
    /// after the task's final state event, what that event says.
    struct Ending {
        /// The task's id.
        var id: String
        /// Its final state.
        var state: String
        /// Why it failed, if it did.
        var error: String?
        /// The task, when the daemon answered it.
        var task: WireTask?

        /// The task's JSON, or `{"id","state","error"}` from its final event.
        var json: JSONValue {
            task?.json ?? ["id": .string(id), "state": .string(state), "error": error.map(JSONValue.string) ?? .null]
        }
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
        onEvent: (WireEvent) -> Void = { _ in }
    ) async throws -> Ending {
        var terminal: WireEvent?
        let window = client.reconnectWindow.components.seconds
        let stream = client.events(task: id, after: after) { error in
            CLIOutput.note("lost the daemon (\(error.message)); waiting up to \(window) s for it to come back")
        }
        for try await event in stream {
            onEvent(event)
            if let to = event.stateTo, NightshiftClient.terminalStates.contains(to) {
                terminal = event
                if untilTerminalEvent { break }
            }
        }
        do {
            let task = try await client.task(id)
            return Ending(id: task.id, state: task.state, error: task.error, task: task)
        } catch let error as NightshiftClient.APIError where error.isTransient {
            guard let terminal, let state = terminal.stateTo else { throw error }
            return Ending(id: id, state: state, error: terminal.data["error"]?.stringValue)
        }
    }

    /// 0 for a task that is done, 1 for one that ended otherwise.
    static func exitCode(for ending: Ending) -> Int32 {
        ending.state == "done" ? 0 : CLIExitCodes.failure
    }

    /// `task ID ended STATE: ERROR`, for a task that did not end done.
    static func failureMessage(_ ending: Ending) -> String {
        var message = ending.state == "error" ? "task \(ending.id) ended in error" : "task \(ending.id) ended \(ending.state)"
        if let error = ending.error { message += ": " + error }
        return message
    }
}
