import Nightshift
import Testing

@Suite("Lifecycle transition table")
struct LifecycleTests {
    static let task = TaskID.generate()

    /// The expected table, written out independently of the implementation: every pair not listed is illegal.
    static let legal: [String: TaskState] = [
        "new/submit": .queued,
        "queued/dispatch": .running, "queued/cancel": .cancelled, "queued/pause": .paused, "queued/drop": .dropped,
        "queued/hold": .waiting,
        "running/settle(succeeded)": .done, "running/settle(failed)": .queued, "running/settle(failed_final)": .error,
        "running/settle(waiting)": .waiting, "running/settle(continued)": .queued, "running/settle(released)": .queued,
        "running/settle(parked)": .queued, "running/cancel": .cancelled, "running/settle(paused)": .paused,
        // A pause of a running task is a request: it keeps running.
        "running/pause": .running,
        "waiting/cancel": .cancelled, "waiting/drop": .dropped, "waiting/wake": .queued,
        "paused/cancel": .cancelled, "paused/resume": .queued, "paused/drop": .dropped,
        "error/retry": .queued, "cancelled/retry": .queued, "dropped/retry": .queued,
    ]

    static let states: [TaskState?] = [nil] + TaskState.allCases.map(Optional.some)

    @Test("every state × action pair", arguments: states, LifecycleAction.all)
    func pair(state: TaskState?, action: LifecycleAction) throws {
        let key = "\(state?.rawValue ?? "new")/\(action)"
        let budget = RetryBudget(failures: 1, maxAttempts: 2)
        if let expected = Self.legal[key] {
            #expect(try Lifecycle.next(from: state, on: action, task: Self.task, budget: budget) == expected, "\(key)")
        } else {
            let error = #expect(throws: IllegalTransition.self, "\(key) should be illegal") {
                try Lifecycle.next(from: state, on: action, task: Self.task, budget: budget)
            }
            #expect(error?.task == Self.task)
            #expect(error?.state == state)
            #expect(error?.action == action)
            #expect(error?.description.contains(action.name) == true)
        }
    }

    @Test("a retryable failure errors once the attempts are used up")
    func retryBudget() throws {
        let failed = LifecycleAction.settle(.failed(retryable: true))
        #expect(try Lifecycle.next(from: .running, on: failed, task: Self.task, budget: RetryBudget(failures: 1, maxAttempts: 2)) == .queued)
        #expect(try Lifecycle.next(from: .running, on: failed, task: Self.task, budget: RetryBudget(failures: 2, maxAttempts: 2)) == .error)
        #expect(try Lifecycle.next(from: .running, on: failed, task: Self.task, budget: RetryBudget(failures: 1, maxAttempts: 1)) == .error)
    }

    @Test("with a pause requested, a settle that would queue the task pauses it, one that ends or waits does not; resume withdraws the request")
    func pauseRequested() throws {
        let budget = RetryBudget(failures: 1, maxAttempts: 2)
        let next = { (action: LifecycleAction) throws -> TaskState in
            try Lifecycle.next(from: .running, on: action, task: Self.task, budget: budget, pauseRequested: true)
        }
        for resolution in [RunResolution.failed(retryable: true), .released, .parked, .continued, .paused] {
            #expect(try next(.settle(resolution)) == .paused, "\(resolution)")
        }
        #expect(try next(.settle(.succeeded)) == .done)
        #expect(try next(.settle(.failed(retryable: false))) == .error)
        #expect(try next(.settle(.waiting)) == .waiting)
        #expect(try next(.resume) == .running)
        #expect(throws: IllegalTransition.self, "no request to withdraw") {
            try Lifecycle.next(from: .running, on: .resume, task: Self.task, budget: budget)
        }
    }

    @Test("the illegal-transition error names task, state and action")
    func errorText() {
        let error = IllegalTransition(task: Self.task, state: .done, action: .pause)
        #expect(error.description == "cannot pause task \(Self.task): it is done")
        let wrapped = NightshiftError(error)
        #expect(wrapped.code == .illegalTransition)
        #expect(wrapped.field == "state")
    }
}

@Suite("Retry backoff")
struct RetryPolicyTests {
    @Test("exponential, capped, with jitter within [d/2, d]")
    func backoff() {
        let policy = RetryPolicy(maxAttempts: 5, initialBackoff: 1, maxBackoff: 10)
        #expect(policy.delay(afterFailure: 1, random: 0) == 0.5)
        #expect(policy.delay(afterFailure: 1, random: 1) == 1)
        #expect(policy.delay(afterFailure: 3, random: 1) == 4)
        #expect(policy.delay(afterFailure: 3, random: 0.5) == 3)
        #expect(policy.delay(afterFailure: 20, random: 1) == 10)
        #expect(policy.delay(afterFailure: 20, random: 0) == 5)
    }

    @Test("bad policies name the field")
    func validation() {
        #expect(throws: NightshiftError.invalid("max_attempts", "expected an integer ≥ 1, got 0")) {
            try RetryPolicy(maxAttempts: 0).validate()
        }
        #expect(throws: NightshiftError.self) { try RetryPolicy(maxAttempts: -3).validate() }
    }
}
