import Foundation
import Nightshift

extension ChatTools {
    /// A task's log as an MCP resource: its events, one JSON object a line (`{"seq","time","type","data"}`).
    public enum Log {
        /// The URI template: `nightshift://tasks/{id}/log`.
        public static let template = "nightshift://tasks/{id}/log"
        /// The MIME type of its text: JSON Lines.
        public static let mimeType = "application/x-ndjson"
        /// What it is, for the model.
        public static let description = """
            A task's whole event log, one event a line as JSON ({"seq","time","type","data"}), oldest \
            first: state changes, the agent's output, tool calls and results, inputs.
            """
        /// The most events one read answers; a longer log ends with a line saying where it stopped.
        static let maxEvents = 10_000
        /// How many of the newest tasks' logs `resources/list` names.
        static let listed = 20

        /// The log resource of task `id`.
        public static func uri(task id: String) -> String {
            "nightshift://tasks/\(NightshiftClient.escapePath(id))/log"
        }

        /// The task a log URI names, or nil for a URI that is not one.
        public static func taskID(uri: String) -> String? {
            let prefix = "nightshift://tasks/", suffix = "/log"
            guard uri.hasPrefix(prefix), uri.hasSuffix(suffix), uri.count > prefix.count + suffix.count else { return nil }
            let id = String(uri.dropFirst(prefix.count).dropLast(suffix.count))
            guard !id.contains("/"), let decoded = id.removingPercentEncoding, !decoded.isEmpty else { return nil }
            return decoded
        }

        /// The log of task `id`, read through `api` a page at a time (at most ``maxEvents`` events).
        public static func text(task id: String, api: any APIRequestSender) async throws -> String {
            var lines: [String] = []
            var after: Int64 = 0
            while true {
                let page = try await api.apiRequest(
                    .GET, api.taskPath(id, "/events"), query: [("after", String(after)), ("limit", "1000")])
                let events = page["events"]?.arrayValue ?? []
                let room = maxEvents - lines.count
                let taken = events.prefix(room)
                lines += taken.map(\.jsonText)
                if events.count > room {
                    after = taken.last?["seq"].flatMap(ChatToolArgument.Kind.integer) ?? after
                    break
                }
                guard !events.isEmpty, let next = page["next_after"].flatMap(ChatToolArgument.Kind.integer), next > after else {
                    return lines.joined(separator: "\n")
                }
                after = next
            }
            let note: JSONValue = [
                "truncated": true, "next_after": .int(after),
                "message": .string("the log goes on after \(maxEvents) events: read the rest with task_events after \(after)"),
            ]
            return (lines + [note.jsonText]).joined(separator: "\n")
        }

        /// The newest tasks' logs (``listed`` of them): each one's URI and a name saying whose it is.
        public static func newest(api: any APIRequestSender) async throws -> [(uri: String, name: String)] {
            let page = try await api.apiRequest(.GET, "/v1/tasks", query: [("limit", String(listed))])
            return (page["tasks"]?.arrayValue ?? []).compactMap { task in
                guard let id = task["id"]?.stringValue else { return nil }
                let agent = task["agent"]?.stringValue ?? "?", state = task["state"]?.stringValue ?? "?"
                return (uri(task: id), "log of task \(id) (\(agent), \(state))")
            }
        }
    }
}
