import Foundation
import Nightshift
import Testing

/// A task's totals over its runs, on every store.
@Suite("Task totals")
struct TaskTotalsTests {
    @Test("tokens, turns, run time and cost add up over a task's runs; each run keeps its turns and warnings",
          arguments: StoreKind.allCases)
    func totals(kind: StoreKind) async throws {
        let store = try await kind.make().with(echoAgent)
        let task = try await store.submit(NewTask(agent: "echo", prompt: "a", retry: RetryPolicy(maxAttempts: 3, initialBackoff: 1, maxBackoff: 1)), now: t0).task
        let first = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0).first)
        let failed = RunOutcome.usageLimit(
            "claude: You've hit your limit", resetsAt: t0.addingTimeInterval(3600),
            usage: RunUsage(tokensIn: 10, tokensOut: 20, cacheReadTokens: 300, cacheWriteTokens: 40, costUSD: 0.5, turns: 2,
                            durationSeconds: 12.5))
        #expect(try await store.settle(first.lease, outcome: failed, now: t0) == .settled(.queued))

        let second = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(3700)).first, "a usage limit is not retried before its reset")
        var done = RunOutcome.succeeded(
            "ok", usage: RunUsage(tokensIn: 1, tokensOut: 2, cacheReadTokens: 3, cacheWriteTokens: 4, costUSD: 0.25, turns: 5,
                                  durationSeconds: 2.5))
        done.warnings = ["permission denied: Bash git push origin main"]
        #expect(try await store.settle(second.lease, outcome: done, now: t0.addingTimeInterval(101)) == .settled(.done))

        let after = try #require(try await store.task(task.id))
        #expect(after.totals == TaskTotals(
            tokensIn: 11, tokensOut: 22, cacheReadTokens: 303, cacheWriteTokens: 44, turns: 7, runSeconds: 15))
        #expect(after.totals.tokensUsed == 11 + 22 + 303 + 44)
        #expect(after.costUSD == 0.75)
        let runs = try await store.runs(task: task.id).sorted { $0.attempt < $1.attempt }
        #expect(runs.map(\.outcome) == ["usage_limit", "succeeded"])
        #expect(runs.map(\.turns) == [2, 5])
        #expect(runs.map(\.warnings) == [[], ["permission denied: Bash git push origin main"]])
        // The usage limit's reset time is on the state event that queued the task again, as RFC 3339 text.
        let resets = try await store.events(task: task.id, after: 0, limit: 20).compactMap { $0.data["resets_at"] }
        #expect(resets == ["2027-01-15T09:00:00.000Z"])
        // Listings carry the same totals.
        let listed = try await store.listTasks(TaskQuery()).tasks.first { $0.id == task.id }
        #expect(listed?.totals == after.totals)
        // The agent's stats sum its tasks: a second task that has not run adds a task and nothing else.
        _ = try await store.submit(NewTask(agent: "echo", prompt: "b"), now: t0)
        #expect(try await store.agentStats() == [AgentStats(agent: "echo", tasks: 2, costUSD: 0.75, totals: after.totals)])
    }
}
