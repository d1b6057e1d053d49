import Nightshift
import Synchronization

/// Gathers calls that arrive while a batch is being written, so the next batch writes them all
/// in one transaction; each caller still gets its own result after the commit. One batch runs at
/// a time; a batch that takes longer than `timeout` (a database that went away can leave a call
/// waiting) fails its callers, who may try again, and the next batch starts.
final class Batcher<Input: Sendable, Output: Sendable>: Sendable {
    private typealias Waiter = (input: Input, continuation: CheckedContinuation<Output, any Error>)

    private struct State {
        var pending: [Waiter] = []
        var running = false
    }

    private let body: @Sendable ([Input]) async throws -> [Output]
    private let timeout: Duration
    private let state = Mutex(State())

    /// `body` must return one output per input, in order.
    init(timeout: Duration = .seconds(10), _ body: @escaping @Sendable ([Input]) async throws -> [Output]) {
        self.timeout = timeout
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
                let inputs = batch.map(\.input)
                let outputs = try await answer(within: timeout) { [body] in try await body(inputs) }
                for (waiter, output) in zip(batch, outputs) { waiter.continuation.resume(returning: output) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
    }
}
