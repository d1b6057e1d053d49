import AsyncHTTPClient
import Foundation
import NIOCore
import Nightshift

extension NightshiftClient {
    /// Which hook events to read from `GET /v1/events`: every condition given must hold.
    public struct HookFilter: Sendable, Hashable {
        /// Only this task's events.
        public var task: String?
        /// Only events of this agent's tasks.
        public var agent: String?
        /// Only moves into these states (`done`, `error`, …).
        public var states: [String]?

        /// A filter; no condition lets every event through.
        public init(task: String? = nil, agent: String? = nil, states: [String]? = nil) {
            self.task = task
            self.agent = agent
            self.states = states
        }

        var query: [(String, String)] {
            var query: [(String, String)] = []
            if let task { query.append(("task", task)) }
            if let agent { query.append(("agent", agent)) }
            if let states { query.append(("state", states.joined(separator: ","))) }
            return query
        }
    }

    /// `GET /v1/events`: one page of the global hook stream after the hook seq `after`. Each event
    /// is `{"seq","time","task_id","type","data"}`; `nextAfter` is where the read stopped (past
    /// events the filter left out).
    public func hookEventPage(after: Int64 = 0, filter: HookFilter = HookFilter(), limit: Int? = nil) async throws -> WireHookEventPage {
        var query = [("after", String(after))] + filter.query
        if let limit { query.append(("limit", String(limit))) }
        return try await fetch(.GET, "/v1/events", query: query)
    }

    /// Every task's hook events with `seq > after` that pass `filter`, live, from the SSE stream
    /// of `GET /v1/events`. It never finishes on its own: when the connection drops or the daemon
    /// shuts down, it reconnects with `Last-Event-ID` set to the last seq it yielded and skips
    /// anything at or below it, so no event is lost or repeated; it throws an ``APIError`` for an
    /// error answer (422 for a bad filter) or when it could not reconnect within
    /// ``reconnectWindow``. Cancelling the consuming task closes the connection.
    ///
    /// `onInterruption` hears, once per outage, that the daemon went away.
    public func hookEvents(
        after: Int64 = 0, filter: HookFilter = HookFilter(), onInterruption: @escaping @Sendable (APIError) -> Void = { _ in }
    ) -> AsyncThrowingStream<WireHookEvent, any Error> {
        let client = self
        return Self.followed { yield in
            try await client.followHookEvents(after: after, filter: filter, onInterruption: onInterruption, yield: yield)
        }
    }

    /// Reads the global stream, reconnecting after drops, until cancelled or a lasting failure.
    func followHookEvents(
        after: Int64, filter: HookFilter, onInterruption: (APIError) -> Void, yield: (WireHookEvent) -> Void
    ) async throws {
        var last = after
        try await reconnecting(onInterruption: onInterruption) { connected in
            try await readHookStream(after: &last, filter: filter, connected: connected, yield: yield)
            return false
        }
    }

    /// One connection of the global stream, from after `last`; moves `last` on as it yields.
    private func readHookStream(
        after last: inout Int64, filter: HookFilter, connected: () -> Void, yield: (WireHookEvent) -> Void
    ) async throws {
        let response = try await openEventStream("/v1/events", query: [("after", String(last))] + filter.query, after: last)
        connected()
        var parser = EventStreamParser()
        for try await buffer in response.body {
            for message in parser.feed(buffer.readableBytesView) where !message.data.isEmpty {
                guard let json = try? JSONValue(jsonText: message.data) else {
                    throw APIError.invalidResponse("a hook event that is not JSON: \(message.data.prefix(200))")
                }
                let event = try Self.read(WireHookEvent.self, json, "GET /v1/events")
                guard event.seq > last else { continue }
                last = event.seq
                yield(event)
            }
        }
    }
}
