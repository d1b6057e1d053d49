import Foundation
import Nightshift
import Testing

/// Per-run telemetry and an agent's stats per day, on every store kind.
@Suite("Store conformance: run stats")
struct RunStatsConformanceTests {
    /// The day of t0 (2027-01-15 08:00 UTC) starts at midnight UTC.
    static let day1 = Date(timeIntervalSince1970: 1_799_971_200)
    static let day2 = day1.addingTimeInterval(86_400)

    /// Submits a task for `agent` in `workspace`, claims it at `start` and settles it at `end`
    /// with `outcome`; answers the task.
    static func run(
        _ store: any TaskStore, agent: String = "echo", workspace: String = Workspace.defaultID, start: Date, end: Date, _ outcome: RunOutcome
    ) async throws -> TaskID {
        let task = try await store.submit(NewTask(agent: agent, prompt: "p", workspaceID: workspace), now: start).task
        let claimed = try #require(try await store.claim(worker: "w", limit: 1, leaseDuration: 600, now: start).first)
        #expect(claimed.task.id == task.id)
        let result = try await store.settle(claimed.lease, outcome: outcome, now: end)
        #expect({ if case .settled = result { true } else { false } }(), "\(result)")
        return task.id
    }

    @Test("a run keeps its tool calls; an agent's runs are summed per UTC day of their finish, within [from, to) and its workspace", arguments: StoreKind.allCases)
    func statsPerDay(kind: StoreKind) async throws {
        let store = try await kind.make().with(
            echoAgent, Agent(name: "other", runner: .builtin), Agent(workspaceID: "w2", name: "echo", runner: .builtin))
        let first = try await Self.run(store, start: t0, end: t0.addingTimeInterval(60), .succeeded("ok", usage: RunUsage(
            tokensIn: 100, tokensOut: 20, cacheReadTokens: 5, cacheWriteTokens: 3, costUSD: 0.5, turns: 2, toolCalls: ["Bash": 2, "Read": 1])))
        _ = try await Self.run(store, start: t0.addingTimeInterval(100), end: t0.addingTimeInterval(400), .failed("no", retryable: false, usage: RunUsage(
            tokensIn: 10, tokensOut: 1, costUSD: 0.25, turns: 1, toolCalls: ["Bash": 1])))
        _ = try await Self.run(store, start: t0.addingTimeInterval(86_400), end: t0.addingTimeInterval(86_430), .succeeded("ok", usage: RunUsage(
            tokensIn: 7, tokensOut: 3, costUSD: 1, toolCalls: ["Edit": 4])))
        // Not counted: another agent, another workspace, a finish past the range, a run that has not finished.
        let noise = RunOutcome.succeeded("ok", usage: RunUsage(tokensIn: 1000, costUSD: 9, toolCalls: ["Bash": 50]))
        _ = try await Self.run(store, agent: "other", start: t0, end: t0.addingTimeInterval(10), noise)
        _ = try await Self.run(store, workspace: "w2", start: t0, end: t0.addingTimeInterval(10), noise)
        _ = try await Self.run(store, start: t0, end: Self.day2.addingTimeInterval(86_400), noise)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "running"), now: t0)
        _ = try await store.claim(worker: "w", limit: 1, leaseDuration: 600, now: t0)

        #expect(try await store.runs(task: first).first?.toolCalls == ["Bash": 2, "Read": 1], "the run keeps its tool calls")

        let stats = try await store.agentRunStats(agent: "echo", workspace: Workspace.defaultID, from: Self.day1, to: Self.day2.addingTimeInterval(86_400))
        #expect(stats.days == [
            RunFigures(
                day: Self.day1, runs: 2, outcomes: ["succeeded": 1, "failed": 1], tokensIn: 110, tokensOut: 21, cacheReadTokens: 5,
                cacheWriteTokens: 3, costUSD: 0.75, turns: 3, durationSeconds: 360, maxDurationSeconds: 300, toolCalls: ["Bash": 3, "Read": 1]),
            RunFigures(
                day: Self.day2, runs: 1, outcomes: ["succeeded": 1], tokensIn: 7, tokensOut: 3, costUSD: 1, durationSeconds: 30,
                maxDurationSeconds: 30, toolCalls: ["Edit": 4]),
        ])
        let totals = stats.totals
        #expect(totals.runs == 3 && totals.succeeded == 2 && totals.failed == 1)
        #expect(totals.tokensIn == 117 && totals.costUSD == 1.75 && totals.durationSeconds == 390 && totals.maxDurationSeconds == 300)
        #expect(totals.toolCalls == ["Bash": 3, "Read": 1, "Edit": 4])

        // [from, to): a run finishing at `from` counts, one finishing at `to` does not.
        let firstFinish = t0.addingTimeInterval(60)
        let secondFinish = t0.addingTimeInterval(400)
        func runs(_ from: Date, _ to: Date) async throws -> Int {
            try await store.agentRunStats(agent: "echo", workspace: Workspace.defaultID, from: from, to: to).totals.runs
        }
        #expect(try await runs(firstFinish, secondFinish) == 1)
        #expect(try await runs(firstFinish.addingTimeInterval(0.5), secondFinish.addingTimeInterval(0.5)) == 1)
        #expect(try await runs(firstFinish.addingTimeInterval(0.5), secondFinish) == 0)
        #expect(try await runs(Self.day2, Self.day2.addingTimeInterval(86_400)) == 1)

        // Scoped by workspace: w2's echo has its own run; an unknown agent has none.
        let other = try await store.agentRunStats(agent: "echo", workspace: "w2", from: Self.day1, to: Self.day2)
        #expect(other.days.map(\.runs) == [1] && other.totals.toolCalls == ["Bash": 50])
        #expect(try await store.agentRunStats(agent: "nobody", workspace: Workspace.defaultID, from: Self.day1, to: Self.day2).days.isEmpty)
    }
}
