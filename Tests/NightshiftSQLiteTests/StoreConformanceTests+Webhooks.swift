import Foundation
import Nightshift
import Testing

/// Webhooks' store side on every store kind: a webhook starts at the stream's end, one node holds
/// its lease, and every write of a delivery is fenced by it.
@Suite("Store conformance: webhooks")
struct WebhookConformanceTests {
    static func spec(_ name: String = "ci", workspace: String = Workspace.defaultID) -> NewWebhook {
        NewWebhook(workspaceID: workspace, name: name, url: "http://127.0.0.1:9/hook", secret: "s")
    }

    static func event(_ seq: Int64, _ type: String = "task.done") -> HookEvent {
        HookEvent(seq: seq, time: t0, taskID: TaskID("0193a1b2-0000-7000-8000-000000000001")!, type: type, data: [:])
    }

    @Test("a webhook starts after the stream's last event; names are unique per workspace; a save keeps its position", arguments: StoreKind.allCases)
    func createAndSave(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        _ = try await store.submit(NewTask(agent: "echo", prompt: "before"), now: t0)
        let created = try await store.createWebhook(Self.spec(), source: "api", now: t0)
        #expect(created.cursor == (try await store.lastHookSeq()) && created.cursor > 0)
        #expect(created.delivered == 0 && created.attempts == 0 && created.source == "api")
        let taken = await #expect(throws: NightshiftError.self) { try await store.createWebhook(Self.spec(), source: "api", now: t0) }
        #expect(taken?.code == .conflict && taken?.field == "name")
        _ = try await store.createWebhook(Self.spec(workspace: "w2"), source: "api", now: t0)
        _ = try await store.submit(NewTask(agent: "echo", prompt: "after"), now: t0)
        var changed = Self.spec()
        changed.url = "https://example.com/h"
        changed.events = ["task.*"]
        let saved = try await store.saveWebhook(changed, source: "config", now: t0.addingTimeInterval(5))
        #expect(saved.spec == changed && saved.cursor == created.cursor && saved.source == "config")
        #expect(try await store.webhooks(workspace: Workspace.defaultID).map(\.spec.name) == ["ci"])
        #expect(try await store.webhooks(workspace: nil).count == 2)
        #expect(try await store.deleteWebhook("ci", workspace: "w2"))
        #expect(try await !store.deleteWebhook("ci", workspace: "w2"))
        #expect(try await store.webhook("ci", workspace: "w2") == nil)
    }

    @Test("one node holds a webhook's lease until it expires or is released; a write without it moves nothing", arguments: StoreKind.allCases)
    func leases(kind: StoreKind) async throws {
        let store = try await kind.make()
        let webhook = try await store.createWebhook(Self.spec(), source: "api", now: t0)
        var disabled = Self.spec("off")
        disabled.enabled = false
        _ = try await store.createWebhook(disabled, source: "api", now: t0)
        #expect(try await store.leaseWebhooks(node: "a", leaseDuration: 30, now: t0).map(\.spec.name) == ["ci"], "not a disabled one")
        #expect(try await store.leaseWebhooks(node: "b", leaseDuration: 30, now: t0.addingTimeInterval(10)).isEmpty, "a holds it")
        #expect(try await store.leaseWebhooks(node: "a", leaseDuration: 30, now: t0.addingTimeInterval(20)).count == 1, "a renews")
        // b's write is fenced out; a's goes through.
        let plan = WebhookAttemptPlan(webhook: webhook, event: Self.event(webhook.cursor + 1), response: .status(200, retryAfter: nil), duration: 0.01, now: t0, random: 0)
        #expect(try await !store.recordWebhookAttempt(plan, workspace: Workspace.defaultID, node: "b", leaseDuration: 30, now: t0))
        #expect(try await !store.skipWebhookEvents("ci", through: 99, workspace: Workspace.defaultID, node: "b", leaseDuration: 30, now: t0))
        #expect(try await store.webhook("ci", workspace: Workspace.defaultID)?.cursor == webhook.cursor)
        #expect(try await store.recordWebhookAttempt(plan, workspace: Workspace.defaultID, node: "a", leaseDuration: 30, now: t0.addingTimeInterval(21)))
        // Once a's lease has run out (50 s after its last write), b takes it; then a is fenced out.
        #expect(try await store.leaseWebhooks(node: "b", leaseDuration: 30, now: t0.addingTimeInterval(49)).isEmpty)
        #expect(try await store.leaseWebhooks(node: "b", leaseDuration: 30, now: t0.addingTimeInterval(52)).count == 1)
        #expect(try await !store.skipWebhookEvents("ci", through: 99, workspace: Workspace.defaultID, node: "a", leaseDuration: 30, now: t0.addingTimeInterval(52)))
        try await store.releaseWebhooks(node: "b")
        #expect(try await store.leaseWebhooks(node: "a", leaseDuration: 30, now: t0.addingTimeInterval(53)).count == 1, "released: taken at once")
    }

    @Test("attempts move the cursor only forward; failures count attempts and set the next time; the log keeps each attempt, newest first", arguments: StoreKind.allCases)
    func attempts(kind: StoreKind) async throws {
        let store = try await kind.make()
        var webhook = try await store.createWebhook(NewWebhook(name: "ci", url: "http://127.0.0.1:9/h", secret: "s",
            retry: RetryPolicy(maxAttempts: 2, initialBackoff: 10, maxBackoff: 10)), source: "api", now: t0)
        _ = try await store.leaseWebhooks(node: "a", leaseDuration: 30, now: t0)
        let head = Self.event(webhook.cursor + 1)
        let failed = WebhookAttemptPlan(webhook: webhook, event: head, response: .failed("refused"), duration: 0.1, now: t0, random: 0)
        #expect(failed.delivery.outcome == .failed && failed.cursor == nil && failed.nextAttemptAt == t0.addingTimeInterval(5))
        #expect(try await store.recordWebhookAttempt(failed, workspace: Workspace.defaultID, node: "a", leaseDuration: 30, now: t0))
        webhook = try #require(try await store.webhook("ci", workspace: Workspace.defaultID))
        #expect(webhook.attempts == 1 && webhook.nextAttemptAt == t0.addingTimeInterval(5) && webhook.lastError == "refused")
        let dead = WebhookAttemptPlan(webhook: webhook, event: head, response: .status(500, retryAfter: nil), duration: 0.1, now: t0.addingTimeInterval(5), random: 0)
        #expect(dead.delivery.outcome == .dead && dead.delivery.attempt == 2 && dead.cursor == head.seq)
        #expect(try await store.recordWebhookAttempt(dead, workspace: Workspace.defaultID, node: "a", leaseDuration: 30, now: t0.addingTimeInterval(5)))
        webhook = try #require(try await store.webhook("ci", workspace: Workspace.defaultID))
        #expect(webhook.cursor == head.seq && webhook.attempts == 0 && webhook.nextAttemptAt == nil && webhook.dead == 1)
        #expect(try await store.skipWebhookEvents("ci", through: head.seq - 1, workspace: Workspace.defaultID, node: "a", leaseDuration: 30, now: t0))
        #expect(try await store.webhook("ci", workspace: Workspace.defaultID)?.cursor == head.seq, "never back")
        let log = try await store.webhookDeliveries("ci", workspace: Workspace.defaultID, outcome: nil, limit: 10)
        #expect(log.map(\.outcome) == [.dead, .failed] && log.map(\.attempt) == [2, 1])
        #expect(log.allSatisfy { $0.id == WebhookDelivery.id(workspace: Workspace.defaultID, webhook: "ci", seq: head.seq) })
        #expect(try await store.webhookDeliveries("ci", workspace: Workspace.defaultID, outcome: .dead, limit: 10).count == 1)
        #expect(try await store.webhookDeliveries("ci", workspace: "w2", outcome: nil, limit: 10).isEmpty)
    }

    @Test("pruning keeps what a webhook has not delivered", arguments: StoreKind.allCases)
    func pruneRespectsWebhooks(kind: StoreKind) async throws {
        let store = try await kind.make().with(Agent(name: "echo", runner: .builtin))
        _ = try await store.createWebhook(Self.spec(), source: "api", now: t0)
        for index in 0..<3 { _ = try await store.submit(NewTask(agent: "echo", prompt: "\(index)"), now: t0) }
        #expect(try await store.pruneHookEvents(before: t0.addingTimeInterval(86_400)) == 0, "the webhook has delivered none of them")
        let events = try await store.hookEvents(after: 0, limit: 10, workspace: Workspace.defaultID)
        _ = try await store.leaseWebhooks(node: "a", leaseDuration: 30, now: t0)
        #expect(try await store.skipWebhookEvents("ci", through: events[1].seq, workspace: Workspace.defaultID, node: "a", leaseDuration: 30, now: t0))
        #expect(try await store.pruneHookEvents(before: t0.addingTimeInterval(86_400)) == 2)
        #expect(try await store.hookEvent(events[2].seq, workspace: Workspace.defaultID) == events[2])
        #expect(try await store.hookEvent(events[0].seq, workspace: Workspace.defaultID) == nil)
    }
}
