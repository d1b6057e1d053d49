import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Nightshift

extension NightshiftClient {
    /// The task's events with `seq > after`, live, from the SSE stream of
    /// `GET /v1/tasks/{id}/events`.
    ///
    /// When the connection drops, the stream reconnects with `Last-Event-ID` set to the last `seq`
    /// it yielded, and skips anything at or below it, so no event is lost or repeated. It finishes
    /// when the daemon ends the stream after the task is terminal; it throws an ``APIError`` for an
    /// error answer (404 for an unknown task), or when it could not reconnect within
    /// ``reconnectWindow``. Cancelling the consuming task closes the connection.
    ///
    /// `onInterruption` hears, once per outage, that the daemon went away (shut down, restarted,
    /// unreachable) and that the stream waits for it to come back.
    public func events(
        task id: String, after: Int64 = 0, onInterruption: @escaping @Sendable (APIError) -> Void = { _ in }
    ) -> AsyncThrowingStream<WireEvent, any Error> {
        let client = self
        return Self.followed { yield in try await client.followEvents(task: id, after: after, onInterruption: onInterruption, yield: yield) }
    }

    /// A stream that `follow` feeds, in a worker the stream owns: it finishes when `follow`
    /// returns or throws, and ending the stream (or cancelling its consumer) cancels the worker.
    static func followed<Element: Sendable>(
        _ follow: @escaping @Sendable (_ yield: (Element) -> Void) async throws -> Void
    ) -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream()
        // Unstructured because the stream outlives the call that made it: the consumer owns it.
        let worker = Task {
            do {
                try await follow { continuation.yield($0) }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in worker.cancel() }
        return stream
    }

    /// Runs `connect` again and again until it answers `true` (done), waiting between tries with
    /// backoff. Only an unreachable daemon and "try later" answers are retried, within
    /// ``reconnectWindow`` of the first failure (a connection made resets it, through the
    /// `connected` callback `connect` is given); `onInterruption` hears of each outage once.
    func reconnecting(
        onInterruption: (APIError) -> Void, _ connect: (_ connected: () -> Void) async throws -> Bool
    ) async throws {
        var failingSince: ContinuousClock.Instant?
        var retries = 0
        while true {
            try Task.checkCancellation()
            do {
                if try await connect({
                    failingSince = nil
                    retries = 0
                }) { return }
            } catch let error as APIError {
                if failingSince == nil, error.isTransient { onInterruption(error) }
                if !error.isTransient || Self.windowPassed(&failingSince, reconnectWindow) { throw error }
            } catch let error where !(error is CancellationError) {
                if failingSince == nil {
                    onInterruption(APIError.classify(error, url: baseURL) as? APIError ?? .unreachable(url: baseURL, reason: "\(error)"))
                }
                if Self.windowPassed(&failingSince, reconnectWindow) { throw APIError.classify(error, url: baseURL) }
            }
            retries += 1
            try await Task.sleep(for: .milliseconds(min(2000, 50 << min(retries, 6))))
        }
    }

    /// Where an event stream is: the last `seq` delivered and whether a terminal state was seen.
    struct EventCursor {
        var last: Int64
        var sawTerminal = false

        /// Delivers `event` unless it was delivered before.
        mutating func deliver(_ event: WireEvent, to yield: (WireEvent) -> Void) {
            guard event.seq > last else { return }
            last = event.seq
            if let to = event.stateTo, NightshiftClient.terminalStates.contains(to) { sawTerminal = true }
            yield(event)
        }
    }

    /// Reads the stream, reconnecting after drops, until the task is terminal.
    func followEvents(
        task id: String, after: Int64, onInterruption: (APIError) -> Void = { _ in }, yield: (WireEvent) -> Void
    ) async throws {
        var cursor = EventCursor(last: after)
        try await reconnecting(onInterruption: onInterruption) { connected in
            try await readEventStream(task: id, cursor: &cursor, connected: connected, yield: yield)
            if cursor.sawTerminal { return true }
            // The daemon ended the stream without a terminal event in it: the task may have
            // ended before `after`, or the daemon closed the stream for another reason.
            guard try await self.task(id).isTerminal else { return false }
            try await drainEvents(task: id, cursor: &cursor, yield: yield)
            return true
        }
    }

    /// Opens a Server-Sent Events stream at `path`, resuming after `after` (`Last-Event-ID`) when
    /// it is past 0; throws ``APIError`` for an unreachable daemon or an error answer.
    func openEventStream(_ path: String, query: [(String, String)], after: Int64) async throws -> HTTPClientResponse {
        var headers = [("Accept", "text/event-stream"), ("Cache-Control", "no-cache")]
        if after > 0 { headers.append(("Last-Event-ID", String(after))) }
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(makeRequest(.GET, path, query: query, headers: headers), deadline: .distantFuture)
        } catch {
            throw APIError.classify(error, url: baseURL)
        }
        guard response.status == .ok else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { String(buffer: $0) } ?? ""
            throw APIError.fromResponse(status: Int(response.status.code), body: body)
        }
        return response
    }

    /// Starts the failure clock on the first failure; answers whether `window` has passed since.
    static func windowPassed(_ since: inout ContinuousClock.Instant?, _ window: Duration) -> Bool {
        let now = ContinuousClock.now
        guard let start = since else {
            since = now
            return window <= .zero
        }
        return now - start >= window
    }

    /// Delivers the events still after the cursor, page by page (for a task that is terminal).
    private func drainEvents(task id: String, cursor: inout EventCursor, yield: (WireEvent) -> Void) async throws {
        while true {
            let before = cursor.last
            let page = try await eventPage(task: id, after: before, limit: 1000)
            for event in page.events { cursor.deliver(event, to: yield) }
            cursor.last = max(cursor.last, page.nextAfter)
            if page.events.isEmpty || cursor.last <= before { return }
        }
    }

    /// One connection: sends the request with `Last-Event-ID`, then parses `id:` / `event:` /
    /// `data:` lines until the body ends (returns) or the connection fails (throws).
    private func readEventStream(
        task id: String, cursor: inout EventCursor, connected: () -> Void, yield: (WireEvent) -> Void
    ) async throws {
        let query = cursor.last > 0 ? [("after", String(cursor.last))] : []
        let response = try await openEventStream("/v1/tasks/\(Self.escapePath(id))/events", query: query, after: cursor.last)
        connected()
        var parser = EventStreamParser()
        for try await buffer in response.body {
            for message in parser.feed(buffer.readableBytesView) {
                guard !message.data.isEmpty else { continue }
                let event: WireEvent
                do {
                    event = try WireEvent(json: try JSONValue(jsonText: message.data))
                } catch {
                    throw APIError.invalidResponse("an event that is not an event object (\(error)): \(message.data.prefix(200))")
                }
                cursor.deliver(event, to: yield)
            }
        }
    }
}

extension NightshiftClient {
/// Splits a `text/event-stream` body into messages (the WHATWG server-sent events format):
/// lines `field: value`, a blank line ends a message, lines starting with `:` are comments.
struct EventStreamParser: Sendable {
    /// One dispatched message.
    struct Message: Sendable, Hashable {
        /// The `id:` field, if the message had one.
        var id: String?
        /// The `event:` field, if any.
        var event: String?
        /// The `data:` lines joined with newlines.
        var data: String
    }

    private var pending: [UInt8] = []
    private var id: String?
    private var event: String?
    private var dataLines: [String] = []

    /// Consumes `bytes`; answers the messages completed by them.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> [Message] {
        var messages: [Message] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if pending.last == UInt8(ascii: "\r") { pending.removeLast() }
                let line = String(decoding: pending, as: UTF8.self)
                pending.removeAll(keepingCapacity: true)
                if let message = handle(line: line) { messages.append(message) }
            } else {
                pending.append(byte)
            }
        }
        return messages
    }

    private mutating func handle(line: String) -> Message? {
        if line.isEmpty {
            defer {
                id = nil
                event = nil
                dataLines = []
            }
            guard !dataLines.isEmpty || id != nil || event != nil else { return nil }
            return Message(id: id, event: event, data: dataLines.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(line)
            value = ""
        }
        switch field {
        case "id": id = String(value)
        case "event": event = String(value)
        case "data": dataLines.append(String(value))
        default: break
        }
        return nil
    }
}
}
