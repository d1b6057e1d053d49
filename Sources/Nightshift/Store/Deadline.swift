import Synchronization

/// `body`'s answer, or a `store_unavailable` error once `timeout` passed: `body` is then
/// cancelled and not waited for. For calls into a store that may hang while its database is gone.
package func answer<T: Sendable>(within timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let pending = Pending(continuation)
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            pending.take()?.resume(with: result)
        }
        Task {
            try? await Task.sleep(for: timeout)
            guard let continuation = pending.take() else { return }
            work.cancel()
            continuation.resume(throwing: NightshiftError(.storeUnavailable, "no answer within \(timeout)"))
        }
    }
}

/// A continuation that the first of two racers takes.
private final class Pending<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, any Error>?>

    init(_ continuation: CheckedContinuation<T, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func take() -> CheckedContinuation<T, any Error>? {
        continuation.withLock { $0.take() }
    }
}
