import Foundation
import Logging
import Synchronization

/// What the engine learns from a run's events while it runs: the agent's session id (recorded at
/// once, so a retry can resume it even if this worker dies) and the checkpoints it wrote as lines.
final class RunObservations: Sendable {
    private let state = Mutex<(sessionID: String?, checkpoints: [JSONValue])>((nil, []))
    private let directories = Mutex(false)

    /// Whether the run's runner works in directories of the task's own (an agent process: a
    /// working and a checkpoint directory); only then is there anything to clean up at the end.
    var usesDirectories: Bool {
        get { directories.withLock { $0 } }
        set { directories.withLock { $0 = newValue } }
    }

    /// Notes an event; answers the session id when this event is the first to report one.
    func observe(_ type: String, _ data: JSONValue) -> String? {
        switch type {
        case "session":
            guard let id = data["session_id"]?.stringValue, !id.isEmpty else { return nil }
            return state.withLock { value in
                guard value.sessionID == nil else { return nil }
                value.sessionID = id
                return id
            }
        case "checkpoint":
            state.withLock { $0.checkpoints.append(data) }
            return nil
        default:
            return nil
        }
    }

    /// The session id reported, if any.
    var sessionID: String? { state.withLock { $0.sessionID } }
    /// The `checkpoint` lines, in order.
    var checkpoints: [JSONValue] { state.withLock { $0.checkpoints } }
}

extension Engine {
    /// Where checkpoints of `task` are written by its agent: `<workRoot>/.checkpoints/<task id>`.
    func checkpointDirectory(_ task: TaskID) -> URL {
        configuration.workRoot.appendingPathComponent(".checkpoints", isDirectory: true)
            .appendingPathComponent(task.rawValue, isDirectory: true)
    }

    /// Where unreadable checkpoint files are moved.
    var quarantineDirectory: URL {
        configuration.workRoot.appendingPathComponent(".checkpoints", isDirectory: true)
            .appendingPathComponent("quarantine", isDirectory: true)
    }

    /// The request for a run: the budget left, the session to resume with its checkpoint's hint,
    /// the agent's memories before the prompt, the checkpoint directory. Answers the failure to
    /// record instead when the budget is already spent.
    /// Only runs of agent processes (`checkpoints`) get a checkpoint directory.
    func request(
        for claimed: ClaimedRun, agent: Agent, runner: any AgentRunner, workdir: URL, logger: Logger
    ) async -> Result<RunRequest, RunFailure> {
        let keepsCheckpoints = runner.needsWorkingDirectory
        let task = claimed.task
        var agent = agent
        if agent.budgetUSD != nil, let fresh = try? await store.agent(named: agent.name, workspace: agent.workspaceID) { agent = fresh }
        if let exceeded = Budget.exceeded(
            agent: agent.name, taskSpent: task.costUSD, taskBudget: task.budgetUSD,
            agentSpent: agent.spentUSD, agentBudget: agent.budgetUSD)
        {
            return .failure(RunFailure(outcome: .failed(exceeded, retryable: false)))
        }
        let left = [task.budgetUSD.map { $0 - task.costUSD }, agent.remainingBudgetUSD].compactMap { $0 }.min()

        var resume: ResumeContext?
        var hint: String?
        var previousError: String?
        var previousOutcome: String?
        if claimed.run.attempt > 1 {
            let earlier = ((try? await store.runs(task: task.id)) ?? []).filter { $0.attempt < claimed.run.attempt }
            previousError = earlier.last?.error
            previousOutcome = earlier.last?.outcome
            let session = earlier.last { $0.agentSessionID != nil }
            hint = try? await store.latestActiveCheckpoint(
                agent: agent.name, taskID: task.id, sessionID: session?.agentSessionID, workspace: task.workspaceID)?.resumeHint
            // Only the previous attempt's session is resumed. An attempt that reported none after
            // one that did most likely failed to resume it (the CLI no longer has it, or could not
            // start): resuming it again would fail the same way on every retry, so the next
            // attempt starts a new session, with the checkpoint's hint in its prompt.
            if let previous = earlier.last, let id = previous.agentSessionID {
                resume = ResumeContext(sessionID: id, fromAttempt: previous.attempt, hint: hint, previousError: previous.error)
                // Not interrupted: the agent itself asked to wait, and its wake time came.
                if previous.outcome == "waiting" { resume?.followUp = "Your wake time has come: continue the task." }
                if previous.outcome == RunOutcome.parkedLabel {
                    resume?.followUp = "The usage limit that stopped you has reset: continue the task."
                }
            }
        }

        // The inbox: inputs that arrived since the agent last ran are handed to this run, marked
        // delivered in a transaction fenced by its lease before the agent sees them.
        var inputs: [TaskInput] = []
        if task.pendingInputs > 0 {
            do {
                guard let delivered = try await store.deliverInputs(claimed.lease, how: .deliveredResume, now: clock.now) else {
                    return .failure(RunFailure(outcome: .lost("the run's lease was lost before it started")))
                }
                inputs = delivered
            } catch {
                return .failure(RunFailure(outcome: .interrupted("interrupted", reason: "could not read the task's inbox: \(error)")))
            }
        }
        let followUp = inputs.isEmpty ? nil : TaskInput.prompt(delivering: inputs)
        if let followUp { resume?.followUp = followUp }

        var prompt = task.prompt
        if let followUp, runner.takesContinuationPrompt {
            // Without a session to resume, the agent starts over: the task, then what it was sent.
            prompt += "\n\nSince this task was started, you were sent:\n\n" + followUp
        }
        if resume == nil, runner.takesContinuationPrompt, let hint {
            prompt += "\n\nThis task was started before and stopped. Resume hint from its last checkpoint: \(hint)"
        }
        if agent.injectMemories {
            do {
                let known = try await store.memories(workspace: task.workspaceID, agent: agent.name, prefix: nil)
                if let preamble = Self.memoryPreamble(known) { prompt = preamble + prompt }
            } catch {
                logger.warning("could not read memories", metadata: ["nightshift.error": "\(error)"])
            }
        }
        let directory = keepsCheckpoints ? checkpointDirectory(task.id) : nil
        if let directory {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: Self.privateDirectory)
        }
        var request = RunRequest(
            task: task, run: claimed.run, agent: agent, workingDirectory: workdir, prompt: prompt, resume: resume,
            remainingBudgetUSD: left, checkpointDirectory: directory, previousError: previousError, resumeHint: hint)
        request.inputs = inputs
        request.previousOutcome = previousOutcome
        request.privatePaths = configuration.privatePaths + [configuration.workRoot]
        // A task's first run has recorded no step, declared none and spawned no child yet.
        if runner.replaysSteps, claimed.run.attempt > 1 {
            do {
                request.steps = try await store.steps(task: task.id)
                request.children = try await store.children(of: task.id, workspace: task.workspaceID)
            } catch {
                return .failure(RunFailure(outcome: .interrupted("interrupted", reason: "could not read the workflow's steps: \(error)")))
            }
        }
        if (task.ask ?? agent.ask) == .onMiss, agent.runner.asksOnMiss {
            // Every input so far: the tools approved for the rest of the task and the deferred
            // calls decided are in the inbox, which stays their one record.
            do {
                let inbox = claimed.run.attempt > 1 || !inputs.isEmpty
                    ? try await store.inputs(of: task.id, workspace: task.workspaceID) : []
                request.approvals = ToolApprovals(inbox: inbox, delivering: inputs)
            } catch {
                return .failure(RunFailure(outcome: .interrupted("interrupted", reason: "could not read the task's inbox: \(error)")))
            }
        }
        return .success(request)
    }

    /// The most memory text put before a prompt.
    static let memoryPreambleLimit = 32 << 10

    /// The memories as a list before the prompt, newest first, cut at ``memoryPreambleLimit``.
    static func memoryPreamble(_ memories: [Memory]) -> String? {
        guard !memories.isEmpty else { return nil }
        var text = "What you remember from earlier tasks (key: summary):\n"
        for memory in memories.sorted(by: { $0.updatedAt > $1.updatedAt }) {
            let line = "- \(memory.key): \(memory.summary)\n"
            if text.utf8.count + line.utf8.count > memoryPreambleLimit { break }
            text += line
        }
        return text + "\nThe task:\n"
    }

    /// After a run: the checkpoints its agent wrote (files and lines; bad files quarantined, bad
    /// lines logged, with the reason), then, for an agent that reported a session, the run's own
    /// automatic checkpoint, with the agent's latest context, progress and hint (this run's, or
    /// else the task's latest written by the agent, or else how this run ended). The settle saves
    /// them in its own transaction, fenced by the run's lease.
    func collectCheckpoints(
        _ claimed: ClaimedRun, agent: String, outcome: RunOutcome, observed: RunObservations, events: RunEventBuffer, logger: Logger
    ) async -> CheckpointCollection {
        let task = claimed.task
        let now = clock.now
        let sessionID = outcome.usage.agentSessionID ?? observed.sessionID
        var written: [SessionCheckpoint] = []
        for line in observed.checkpoints {
            do {
                written.append(try SessionCheckpoint.parse(line, agent: agent, sessionID: sessionID, taskID: task.id, now: now))
            } catch {
                let reason = error.field.map { "\($0): \(error.message)" } ?? error.message
                events.emit("log", ["level": "warning", "message": .string("checkpoint line rejected: \(reason)")])
            }
        }
        var collected = CheckpointDirectory.collect(
            from: checkpointDirectory(task.id), quarantine: quarantineDirectory, agent: agent, sessionID: sessionID,
            taskID: task.id, now: now)
        written += collected.checkpoints
        for file in collected.quarantined {
            events.emit("log", [
                "level": "warning",
                "message": .string("checkpoint file \(file.fileName) quarantined: \(file.error)"),
                "path": .string(file.quarantinedPath),
            ])
        }
        await events.flush()
        collected.checkpoints = written
        // The run's own checkpoint, only for agents with sessions (an agent CLI that a later
        // attempt can resume); it carries the agent's latest plan forward, so a run that
        // wrote none (one that died at start, a refused resume) does not bury the agent's hint.
        guard let sessionID else { return collected }
        var latest = written.last
        if latest == nil {
            do {
                latest = try await store.latestActiveCheckpoint(agent: agent, taskID: task.id, sessionID: sessionID, workspace: task.workspaceID)
            } catch {
                logger.warning("could not read the latest checkpoint", metadata: ["nightshift.error": "\(error)"])
            }
        }
        // An earlier automatic checkpoint's hint is an earlier run's end: this run's is newer.
        let agentHint = latest.flatMap { Self.isAutomatic($0) ? nil : $0.resumeHint }
        let runHint = outcome.error.map { "Attempt \(claimed.run.attempt) ended (\(outcome.label)): \($0.prefix(500))" }
        collected.checkpoints.append(SessionCheckpoint(
            agent: agent, sessionID: sessionID, taskID: task.id,
            phase: "\(Self.automaticPhase)\(claimed.run.attempt) \(outcome.label)",
            status: outcome.resolution == .succeeded ? .resolved : .active, createdAt: now,
            context: latest?.context ?? SessionCheckpoint.Context(workItems: [task.id.rawValue]),
            progress: latest?.progress ?? SessionCheckpoint.Progress(),
            resumeHint: agentHint ?? runHint ?? latest?.resumeHint))
        return collected
    }

    /// The start of the phase of the checkpoints the engine records itself: `attempt N <outcome>`.
    static let automaticPhase = "attempt "

    /// Whether the engine recorded `checkpoint` itself (rather than the agent).
    static func isAutomatic(_ checkpoint: SessionCheckpoint) -> Bool {
        checkpoint.phase.hasPrefix(automaticPhase)
    }
}

/// A run that ends before its agent starts, with this outcome.
struct RunFailure: Error {
    var outcome: RunOutcome
}
