import Foundation
import Synchronization

/// The task inbox, through the engine: an input that wakes its task wakes the dispatcher too; one
/// sent to a task whose run here takes live input is handed to it at once.
extension Engine {
    /// Adds `input` to a task's inbox (of `workspace`, when one is given: another's is not found).
    /// An input to a waiting task wakes it (through the lifecycle, in the input's transaction).
    /// One to a running task goes to the live agent when its run (on this node) takes live input;
    /// otherwise, and for a run on another node until that node's next heartbeat looks, it waits
    /// and is delivered by resuming the session right after the run ends.
    @discardableResult
    public func addInput(_ input: NewInput, to id: TaskID, workspace: String? = nil) async throws -> InputReceipt {
        let receipt = try await store.addInput(input, to: id, now: clock.now, workspace: workspace)
        guard receipt.created else { return receipt }
        taskChanges.ring(id)
        switch receipt.task.state {
        case .queued: doorbell.ring()
        case .running: await deliverLive(id)
        default: break
        }
        return receipt
    }

    /// While runs here take live input, follows the store's hook stream for `task.input` events
    /// of their tasks, from any node (on PostgreSQL a `NOTIFY` announces them), and delivers at
    /// once. Follows nothing while none does: listening costs the database (docs/postgres.md).
    func liveInputLoop() async {
        var seen = liveRunsChanged.generation
        while !Task.isCancelled {
            if !hasLiveRuns {
                seen = await liveRunsChanged.wait(after: seen, timeout: .seconds(3600))
                continue
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        let stream = self.store.hookStream(after: try await self.store.lastHookSeq())
                            .matching { $0.type == HookEvent.inputType }
                        for try await event in stream { await self.deliverLive(event.taskID) }
                    } catch {
                        if !Task.isCancelled {
                            self.logger.warning("following inputs failed", metadata: ["nightshift.error": "\(error)"])
                            try? await self.clock.sleep(for: .seconds(1))
                        }
                    }
                }
                // Until the last live run here ends (or the engine stops).
                var generation = self.liveRunsChanged.generation
                while !Task.isCancelled, self.hasLiveRuns {
                    generation = await self.liveRunsChanged.wait(after: generation, timeout: .seconds(3600))
                }
                group.cancelAll()
            }
            seen = liveRunsChanged.generation
        }
    }

    /// Whether a run here takes live input now.
    private var hasLiveRuns: Bool {
        state.withLock { $0.active.values.contains { $0.live != nil } }
    }

    /// Hands the task's pending inputs to its run here, if that run takes live input: marked
    /// `delivered_live` in a transaction fenced by the run's lease, then given to the runner in
    /// order. Calls that overlap for one run are coalesced, so inputs keep their order.
    func deliverLive(_ id: TaskID) async {
        guard let (lease, inbox) = state.withLock({ state in state.active[id].flatMap { entry in entry.live.map { (entry.lease, $0) } } }),
              inbox.begin()
        else { return }
        repeat {
            do {
                // A read first: the heartbeat asks for every live run, and most have nothing new.
                guard let task = try await store.task(id), task.pendingInputs > 0 else { continue }
                if let inputs = try await store.deliverInputs(lease, how: .deliveredLive, now: clock.now), !inputs.isEmpty {
                    inbox.yield(inputs)
                    taskChanges.ring(id)
                }
            } catch {
                logger.warning("could not deliver inputs live", metadata: ["nightshift.task_id": "\(id)", "nightshift.error": "\(error)"])
            }
        } while inbox.again()
    }
}

/// The inputs a running agent takes live: a stream the runner reads, and the flag that coalesces
/// deliveries to one at a time.
final class LiveInbox: Sendable {
    private let continuation: AsyncStream<TaskInput>.Continuation
    /// `(delivering, asked again meanwhile)`.
    private let flags = Mutex((false, false))

    /// An inbox and the stream its runner reads.
    static func make() -> (LiveInbox, AsyncStream<TaskInput>) {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskInput.self)
        return (LiveInbox(continuation), stream)
    }

    private init(_ continuation: AsyncStream<TaskInput>.Continuation) {
        self.continuation = continuation
    }

    /// Whether the caller is to deliver now (else the one delivering goes round once more).
    func begin() -> Bool {
        flags.withLock { flags in
            if flags.0 {
                flags.1 = true
                return false
            }
            flags.0 = true
            return true
        }
    }

    /// Whether the deliverer must go round again; otherwise it is done.
    func again() -> Bool {
        flags.withLock { flags in
            if flags.1 {
                flags.1 = false
                return true
            }
            flags.0 = false
            return false
        }
    }

    /// Gives `inputs` to the runner, in order.
    func yield(_ inputs: [TaskInput]) {
        for input in inputs { continuation.yield(input) }
    }

    /// Ends the stream: the run is over.
    func finish() {
        continuation.finish()
    }
}
