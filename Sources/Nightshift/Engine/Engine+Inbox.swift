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
                        let start = try await self.store.lastHookSeq()
                        // An input whose event was numbered before `start` (accepted while this
                        // loop was starting) is not in the stream: hand over what is pending now.
                        for id in self.liveRunTasks { await self.deliverLive(id) }
                        let stream = self.store.hookStream(after: start).matching { $0.type == HookEvent.inputType }
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
        !liveRunTasks.isEmpty
    }

    /// The tasks whose runs here take live input now.
    private var liveRunTasks: [TaskID] {
        state.withLock { $0.active.compactMap { $0.value.live == nil ? nil : $0.key } }
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

extension Engine {
    /// The run of `id` takes no more live input: its inbox closes (after a delivery under way) and
    /// the engine stops following inputs for it; inputs sent from now on wait for the next run.
    func endLiveInputs(_ id: TaskID, _ inbox: LiveInbox) {
        inbox.close()
        let removed = state.withLock { state in
            guard let entry = state.active[id], entry.live === inbox else { return false }
            state.active[id]?.live = nil
            return true
        }
        if removed { liveRunsChanged.ring() }
    }
}

/// The inputs a running agent takes live: a stream the runner reads, and the flags that coalesce
/// deliveries to one at a time and close the inbox when the runner takes no more.
final class LiveInbox: Sendable {
    private let continuation: AsyncStream<TaskInput>.Continuation
    private let flags = Mutex(Flags())

    private struct Flags {
        /// A delivery is under way: its inputs are being marked delivered and handed over.
        var delivering = false
        /// Another delivery was asked for meanwhile.
        var askedAgain = false
        /// The runner takes no more inputs (``close()``).
        var closed = false
    }

    /// An inbox and the stream its runner reads.
    static func make() -> (LiveInbox, AsyncStream<TaskInput>) {
        let (stream, continuation) = AsyncStream.makeStream(of: TaskInput.self)
        return (LiveInbox(continuation), stream)
    }

    private init(_ continuation: AsyncStream<TaskInput>.Continuation) {
        self.continuation = continuation
    }

    /// Whether the caller is to deliver now (else the one delivering goes round once more, or the
    /// inbox is closed and the inputs wait for the next run).
    func begin() -> Bool {
        flags.withLock { flags in
            if flags.closed { return false }
            if flags.delivering {
                flags.askedAgain = true
                return false
            }
            flags.delivering = true
            return true
        }
    }

    /// Whether the deliverer must go round again; otherwise it is done. A delivery that finds the
    /// inbox closed ends the stream after the inputs it handed over.
    func again() -> Bool {
        flags.withLock { flags in
            if flags.askedAgain, !flags.closed {
                flags.askedAgain = false
                return true
            }
            flags.delivering = false
            if flags.closed { continuation.finish() }
            return false
        }
    }

    /// Takes no more inputs: the stream ends now, or, while a delivery is under way, once that
    /// delivery has handed its inputs over. Marking and handing over happen inside one delivery,
    /// so an input marked `delivered_live` is always in the stream before it ends.
    func close() {
        flags.withLock { flags in
            flags.closed = true
            if !flags.delivering { continuation.finish() }
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
