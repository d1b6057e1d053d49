import Synchronization

/// Gathers operations of one kind that arrive while a batch of them waits for the writer, so the
/// batch runs as one set-based operation (a statement per table rather than per operation) in
/// the next transaction. Each caller still gets its own result, after the commit.
final class WriteCoalescer<Input: Sendable, Output: Sendable>: Sendable {
    private typealias Waiter = (input: Input, continuation: CheckedContinuation<Output, any Error>)

    private struct State {
        var pending: [Waiter] = []
        var scheduled = false
    }

    private let writer: WriteQueue
    private let body: @Sendable (WriteTransaction, [Input]) throws -> [Output]
    private let state = Mutex(State())

    /// `body` must return one output per input, in order, and throw only when the database fails.
    init(writer: WriteQueue, body: @escaping @Sendable (WriteTransaction, [Input]) throws -> [Output]) {
        self.writer = writer
        self.body = body
    }

    /// Adds `input` to the next batch and returns its output once that batch committed.
    func submit(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let schedule = state.withLock { state in
                state.pending.append((input, continuation))
                if state.scheduled { return false }
                state.scheduled = true
                return true
            }
            if schedule { scheduleBatch() }
        }
    }

    private func scheduleBatch() {
        // The batch is taken when its transaction starts (so it holds everything that arrived
        // until then), and kept if that transaction is rolled back and the operation runs again.
        let taken = Mutex<[Waiter]?>(nil)
        let take: @Sendable () -> [Waiter] = {
            taken.withLock { taken in
                if let taken { return taken }
                let batch = self.state.withLock { state in
                    defer {
                        state.pending.removeAll()
                        state.scheduled = false
                    }
                    return state.pending
                }
                taken = batch
                return batch
            }
        }
        writer.enqueue(.shared, { transaction in
            try self.body(transaction, take().map(\.input))
        }, completion: { result in
            let batch = take()
            switch result {
            case .success(let outputs):
                for (waiter, output) in zip(batch, outputs) { waiter.continuation.resume(returning: output) }
            case .failure(let error):
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        })
    }
}
