import Synchronization

/// Gathers calls that arrive while a batch is being written, so the next batch writes them all
/// in one transaction; each caller still gets its own result after the commit. One batch runs at
/// a time.
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    private typealias Waiter = (input: Input, continuation: CheckedContinuation<Output, any Error>)

    private struct State {
        var pending: [Waiter] = []
        var running = false
    }

    private let body: @Sendable ([Input]) async throws -> [Output]
    private let state = Mutex(State())

    /// `body` must return one output per input, in order.
    init(_ body: @escaping @Sendable ([Input]) async throws -> [Output]) {
        self.body = body
    }

    /// Adds `input` to the next batch and returns its output once that batch committed.
    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let start = state.withLock { state in
                state.pending.append((input, continuation))
                if state.running { return false }
                state.running = true
                return true
            }
            if start { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { state in
                let batch = state.pending
                state.pending.removeAll()
                if batch.isEmpty { state.running = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let outputs = try await body(batch.map(\.input))
                for (waiter, output) in zip(batch, outputs) { waiter.continuation.resume(returning: output) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
