import Logging
import Nightshift
import PostgresNIO
import Synchronization

/// The connections the store's operations check out, one operation at a time: idle ones are
/// kept on a stack (the most recently used first), new ones are opened on demand up to a
/// maximum, and a caller finding none waits for the next one checked in.
///
/// Written rather than taken from `PostgresClient`, whose pool starts and cancels timer tasks
/// each time it parks a connection (keep-alive and idle timeout): that churn cost more than the
/// server's own work on a short statement (a submit took 0.40 ms through the pool, 0.33 ms
/// through connections kept without timers). Nothing here runs between operations: a
/// connection that closed while idle is dropped when next checked out, and one idle for longer
/// than `maximumIdle` is closed and replaced then (with no keep-alive ping, a connection whose
/// peer vanished without closing it would otherwise hang its next query).
final class ConnectionStack: Sendable {
    private struct State {
        var idle: [(connection: PostgresConnection, since: ContinuousClock.Instant)] = []
        /// Connections open or being opened, checked out or idle.
        var open = 0
        /// Callers waiting for a connection, by ticket: resumed with one checked in, or with `nil`
        /// when a slot came free for them to open one or when their task was cancelled.
        var waiters: [(ticket: Int, continuation: CheckedContinuation<PostgresConnection?, Never>)] = []
        var nextTicket = 0
        var nextID = 1
        var closed = false
        var executors: [ObjectIdentifier: HandOffExecutor] = [:]
    }

    /// The task executor that runs jobs on `eventLoop`, one per loop: an operation on a
    /// connection runs on the loop that reads the connection's socket, so each statement is
    /// written and its reply taken up on the same thread, with no hand-over between the loop and
    /// Swift's pool per round trip.
    private func executor(for eventLoop: any EventLoop) -> HandOffExecutor {
        state.withLock { state in
            let key = ObjectIdentifier(eventLoop)
            if let known = state.executors[key] { return known }
            let executor = HandOffExecutor { eventLoop.execute($0) }
            state.executors[key] = executor
            return executor
        }
    }

    private let state = Mutex(State())
    private let configuration: PostgresConnection.Configuration
    private let maximum: Int
    private let maximumIdle: Duration
    private let logger: Logger

    init(configuration: PostgresConnection.Configuration, maximum: Int, maximumIdle: Duration = .seconds(30), logger: Logger) {
        self.configuration = configuration
        self.maximum = max(1, maximum)
        self.maximumIdle = maximumIdle
        self.logger = logger
    }

    /// Runs `body` with a connection of its own; the connection goes back afterwards (or is
    /// dropped if it closed).
    func withConnection<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await checkOut()
        do {
            let value = try await withTaskExecutorPreference(executor(for: connection.eventLoop)) { try await body(connection) }
            checkIn(connection)
            return value
        } catch {
            checkIn(connection)
            throw error
        }
    }

    /// How many callers wait for a connection now.
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Closes the idle connections and refuses new ones; those checked out close when they come back.
    func close() async {
        let idle = state.withLock { state in
            state.closed = true
            defer { state.idle.removeAll() }
            return state.idle.map(\.connection)
        }
        for connection in idle { try? await connection.close() }
    }

    private enum Next {
        case use(PostgresConnection)
        case replace(PostgresConnection, id: Int)
        case open(id: Int)
        case wait
    }

    private func checkOut() async throws -> PostgresConnection {
        while true {
            let now = ContinuousClock.now
            let next: Next = state.withLock { state in
                while let (connection, since) = state.idle.popLast() {
                    if connection.isClosed {
                        state.open -= 1
                    } else if now - since > maximumIdle {
                        // Its slot passes to the connection that replaces it.
                        state.nextID += 1
                        return .replace(connection, id: state.nextID)
                    } else {
                        return .use(connection)
                    }
                }
                if state.open < maximum {
                    state.open += 1
                    state.nextID += 1
                    return .open(id: state.nextID)
                }
                return .wait
            }
            switch next {
            case .use(let connection):
                return connection
            case .replace(let stale, let id):
                Task { try? await stale.close() }
                return try await open(id: id)
            case .open(let id):
                return try await open(id: id)
            case .wait:
                // A cancelled caller stops waiting (and takes no connection later): a write whose
                // deadline passed must not commit after its caller was told it failed, and a
                // store's loops must end when their task is cancelled.
                let ticket = state.withLock { state in
                    state.nextTicket += 1
                    return state.nextTicket
                }
                let handed: PostgresConnection? = await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let waiting = state.withLock { state in
                            // A connection may have come back between the two locks.
                            if !Task.isCancelled, state.idle.isEmpty && state.open >= maximum {
                                state.waiters.append((ticket, continuation))
                                return true
                            }
                            return false
                        }
                        if !waiting { continuation.resume(returning: nil) }
                    }
                } onCancel: {
                    let waiter = state.withLock { state in
                        state.waiters.firstIndex { $0.ticket == ticket }.map { state.waiters.remove(at: $0).continuation }
                    }
                    waiter?.resume(returning: nil)
                }
                if let handed, !handed.isClosed { return handed }
                if handed != nil { releaseSlot() }
                try Task.checkCancellation()
            }
        }
    }

    private func open(id: Int) async throws -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        } catch {
            releaseSlot()
            throw error
        }
    }

    private func checkIn(_ connection: PostgresConnection) {
        if connection.isClosed {
            releaseSlot()
            return
        }
        let (waiter, close): (CheckedContinuation<PostgresConnection?, Never>?, Bool) = state.withLock { state in
            if state.closed {
                state.open -= 1
                return (nil, true)
            }
            if !state.waiters.isEmpty { return (state.waiters.removeFirst().continuation, false) }
            state.idle.append((connection, ContinuousClock.now))
            return (nil, false)
        }
        if let waiter { waiter.resume(returning: connection) }
        if close { Task { try? await connection.close() } }
    }

    /// Forgets a connection that closed or never opened; its slot goes to a waiter, who opens a new one.
    private func releaseSlot() {
        let waiter = state.withLock { state in
            state.open -= 1
            return state.waiters.isEmpty ? nil : state.waiters.removeFirst().continuation
        }
        waiter?.resume(returning: nil)
    }
}
