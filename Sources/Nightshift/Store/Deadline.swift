import Synchronization

/// `body`'s answer, or a `store_unavailable` error once `timeout` passed: `body` is then
/// cancelled and not waited for. For calls into a store that may hang while its database is gone.
///
/// Unstructured on purpose: a task group waits for its children, and the point is not to wait for
/// a `body` that hangs on a dead connection; `body` is cancelled and left to end by itself.
///
/// The timer is cancelled as soon as `body` answers: a call answered in a millisecond does not
/// leave a sleeping task behind for the rest of `timeout` (with a 30-second deadline and thousands
/// of calls a second, those numbered in the hundreds of thousands).
package func answer<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let pending = Pending(continuation)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            pending.take()?.resume(with: result)
        }
        pending.arm(
            Task {
                try? await Task.sleep(for: timeout)
                guard !Task.isCancelled, let continuation = pending.take() else { return }
                work.cancel()
                continuation.resume(throwing: NightshiftError(.storeUnavailable, "no answer within \(timeout)"))
            })
    }
}

/// A continuation that the first of two racers takes; taking it cancels the timer.
private final class Pending<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var timer: Task<Void, Never>?
    }

    private let state: Mutex<State>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        state = Mutex(State(continuation: continuation))
    }

    /// Keeps `timer` to cancel when the answer comes, or cancels it now if it already came.
    func arm(_ timer: Task<Void, Never>) {
        let answered = state.withLock { state in
            if state.continuation == nil { return true }
            state.timer = timer
            return false
        }
        if answered { timer.cancel() }
    }

    /// The continuation, for the first caller only.
    func take() -> CheckedContinuation<T, any Error>? {
        let (continuation, timer) = state.withLock { state in
            defer { state = State() }
            return (state.continuation, state.timer)
        }
        timer?.cancel()
        return continuation
    }
}

/// `body`'s answer, or the error `timedOut` gives once `timeout` passed; `body` is then cancelled
/// and waited for (unlike ``answer(within:_:)``): for work that ends when cancelled, such as a
/// step or a child process that is torn down.
package func withTimeout<T: Sendable>(
    _ timeout: Duration, orThrow timedOut: @autoclosure () -> any Error, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw timedOut() }
        return value
    }
}
