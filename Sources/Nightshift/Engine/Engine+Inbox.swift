import Foundation

/// The task inbox, through the engine: an input that wakes its task wakes the dispatcher too.
extension Engine {
    /// Adds `input` to a task's inbox (of `workspace`, when one is given: another's is not found).
    /// An input to a waiting task wakes it (through the lifecycle, in the input's transaction);
    /// one to a task that runs is delivered when its run ends, by resuming the session.
    @discardableResult
    public func addInput(_ input: NewInput, to id: TaskID, workspace: String? = nil) async throws -> InputReceipt {
        let receipt = try await store.addInput(input, to: id, now: clock.now, workspace: workspace)
        guard receipt.created else { return receipt }
        taskChanges.ring(id)
        if receipt.task.state == .queued { doorbell.ring() }
        return receipt
    }
}
