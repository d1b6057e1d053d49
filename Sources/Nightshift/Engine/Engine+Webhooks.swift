import Foundation
import Tracing
import Synchronization

/// The webhooks this node delivers: one worker per webhook whose lease it holds.
final class WebhookWorkers: Sendable {
    private let running = Mutex<Set<ScopedName>>([])

    /// Marks `key` running; `false` if it already was.
    func start(_ key: ScopedName) -> Bool { running.withLock { $0.insert(key).inserted } }

    /// Marks `key` no longer running.
    func end(_ key: ScopedName) { running.withLock { _ = $0.remove(key) } }
}

extension Engine {
    /// Takes the leases of webhooks no live node holds, renews this node's at a third of their
    /// length, and runs a worker for each webhook held; at shutdown, gives the leases up so that
    /// another node takes them over at once. Nothing without a ``WebhookSender``. Runs on the
    /// sender's executor.
    func webhookLoop() async {
        guard let sender = webhookSender else { return }
        await withTaskExecutorPreference(sender.executor) { await webhookLoop(sender) }
    }

    private func webhookLoop(_ sender: any WebhookSender) async {
        let workers = WebhookWorkers()
        let lease = configuration.webhookLeaseDuration
        await withDiscardingTaskGroup { group in
            repeat {
                do {
                    for webhook in try await store.leaseWebhooks(node: configuration.nodeID, leaseDuration: lease, now: clock.now) {
                        let key = ScopedName(workspace: webhook.spec.workspaceID, name: webhook.spec.name)
                        guard workers.start(key) else { continue }
                        group.addTask {
                            await self.deliverWebhook(key, sender: sender)
                            workers.end(key)
                        }
                    }
                } catch {
                    logger.error("leasing webhooks failed", metadata: ["nightshift.error": "\(error)"])
                }
                await webhooksChanged.wait(timeout: .seconds(lease / 3))
            } while !Task.isCancelled && !isStopping
            group.cancelAll()
        }
        // Not cancelled with the loop: the release must reach the store.
        let node = configuration.nodeID
        await Task { [store] in try? await store.releaseWebhooks(node: node) }.value
    }

    /// What `webhook` sends for `event`, or `nil` if it does not deliver it: the hook event, for
    /// a plain webhook of its types; for a channel binding, the notification (in its format) of an
    /// event that tells one about a task whose origin is the channel and did not opt out (the
    /// task as it is when the event is delivered).
    func deliveryBody(_ event: HookEvent, for webhook: Webhook) async throws -> String? {
        guard let channel = webhook.spec.channel else {
            return webhook.spec.delivers(event.type) ? event.wireJSON.jsonText : nil
        }
        guard Self.notifyingTypes.contains(event.type),
              let task = try await store.task(event.taskID, workspace: webhook.spec.workspaceID),
              let origin = task.origin, origin.channel == channel, origin.notify,
              let kind = NotificationKind.of(event, task: task), webhook.spec.tells(kind)
        else { return nil }
        let notification = TaskNotification(kind: kind, task: task, time: event.time, publicURL: configuration.publicURL)
        return notification.body(webhook.spec.format)?.jsonText
    }

    /// The hook types a notification can come of.
    static let notifyingTypes: Set<String> = Set([TaskState.running, .done, .error, .waiting, .queued].map(HookEvent.type(for:)))

    /// What a delivery span of a task's event needs: the task's stored trace context (its submit
    /// span's) and its agent.
    struct DeliveryTrace: Sendable {
        /// The task's W3C `traceparent` (``AgentTask/traceParent``), if it was traced.
        var traceParent: String?
        /// The task's agent.
        var agent: String?
    }

    /// The trace context and agent of `event`'s task, for its delivery span. Read from the store
    /// only while tracing is on (``EngineTracing/isEnabled``; off, nothing: the span goes nowhere),
    /// once per task while `cache` lives; if the task is gone or the read fails, no context and
    /// the agent the event names. A delivery does not wait on tracing: a failed read is not retried.
    func deliveryTrace(of event: HookEvent, cache: inout [TaskID: DeliveryTrace]) async -> DeliveryTrace {
        guard configuration.tracing.isEnabled else { return DeliveryTrace() }
        if let known = cache[event.taskID] { return known }
        guard let task = try? await store.task(event.taskID, workspace: event.workspaceID) else {
            return DeliveryTrace(agent: event.data["agent"]?.stringValue)
        }
        let trace = DeliveryTrace(traceParent: task.traceParent, agent: task.agent)
        cache[event.taskID] = trace
        return trace
    }

    /// Sends `body` (what `webhook` writes for `event`) once and plans what follows from the answer.
    /// Its span is a child of the task's stored trace context (`trace`), and the receiver gets the
    /// span's own context as `traceparent`.
    static func attempt(
        _ event: HookEvent, body: String, to webhook: Webhook, by sender: any WebhookSender, clock: any EngineClock, random: Double,
        tracing: EngineTracing, trace: DeliveryTrace
    ) async -> WebhookAttemptPlan {
        let started = ContinuousClock.now
        let deliveryID = WebhookDelivery.id(workspace: webhook.spec.workspaceID, webhook: webhook.spec.name, seq: event.seq)
        let span = tracing.tracer.startSpan(
            "nightshift.webhook.deliver", context: tracing.context(traceParent: trace.traceParent), ofKind: .client)
        defer { span.end() }
        span.attributes["nightshift.task_id"] = event.taskID.rawValue
        if let agent = trace.agent { span.attributes["nightshift.agent"] = agent }
        span.attributes["nightshift.webhook"] = webhook.spec.name
        span.attributes["nightshift.event"] = event.type
        span.attributes["nightshift.delivery_id"] = deliveryID
        var request = WebhookRequest(
            url: webhook.spec.url, secret: webhook.spec.secret, body: body, deliveryID: deliveryID,
            eventType: event.type, timeout: webhook.spec.timeout, time: clock.now)
        request.traceParent = tracing.traceParent(of: span.context)
        let response = await sender.send(request)
        switch response {
        case .status(let code, _):
            span.attributes["http.response.status_code"] = code
            if !(200..<300).contains(code) { span.setStatus(SpanStatus(code: .error)) }
        case .failed(let reason):
            span.setStatus(SpanStatus(code: .error, message: reason))
        }
        return WebhookAttemptPlan(
            webhook: webhook, event: event, response: response,
            duration: (ContinuousClock.now - started).seconds, now: clock.now, random: random)
    }

    /// Delivers webhook `key`'s events in seq order, each until it is delivered or dead-lettered,
    /// while this node holds its lease (each write is fenced by it); waits for new events on the
    /// store's change feed. Ends when the lease is lost, or the webhook is deleted or disabled.
    ///
    /// Successes are recorded in batches (up to ``webhookBatch`` of them, or what 100 ms
    /// delivered, in one write); a failure is recorded at once. A node that dies sends again what
    /// it delivered since its last write: at least once, as a receiver that dedups on the
    /// delivery id expects.
    func deliverWebhook(_ key: ScopedName, sender: any WebhookSender) async {
        let interest = store.listeningInterest()
        defer { withExtendedLifetime(interest) {} }
        let node = configuration.nodeID
        let lease = configuration.webhookLeaseDuration
        var buffer: [HookEvent] = []
        var webhook: Webhook?
        var pending: [WebhookAttemptPlan] = []
        var skippedThrough: Int64?
        var pendingSince = ContinuousClock.now
        // The delivery spans' parents, by task, for the events of the buffer (tracing on only).
        var traces: [TaskID: DeliveryTrace] = [:]
        /// Writes what is pending; `false` once the lease is lost.
        func flush() async throws -> Bool {
            guard !pending.isEmpty || skippedThrough != nil else { return true }
            defer { (pending, skippedThrough) = ([], nil) }
            return try await store.recordWebhookAttempts(
                pending, skippedThrough: skippedThrough, webhook: key.name, workspace: key.workspace, node: node, leaseDuration: lease,
                now: clock.now)
        }
        while !Task.isCancelled {
            do {
                if buffer.isEmpty {
                    guard try await flush() else { return }
                    // Read again for a changed spec, a deletion, or a redelivery's moves.
                    guard let current = try await store.webhook(key.name, workspace: key.workspace), current.spec.enabled else { return }
                    webhook = current
                }
                guard var current = webhook else { return }
                if let due = current.nextAttemptAt, due > clock.now {
                    try await clock.sleep(for: .seconds(due.timeIntervalSince(clock.now)))
                    continue
                }
                let generation = store.hookChanges.generation
                if buffer.isEmpty {
                    buffer = try await store.hookEvents(after: current.cursor, limit: 100, workspace: key.workspace)
                    traces = [:]
                }
                var found: (index: Int, body: String)?
                for (index, event) in buffer.enumerated() {
                    if let body = try await deliveryBody(event, for: current) {
                        found = (index, body)
                        break
                    }
                }
                guard let (index, body) = found else {
                    if let last = buffer.last {
                        skippedThrough = last.seq
                        current.cursor = last.seq
                        webhook = current
                        buffer = []
                    } else {
                        await store.hookChanges.wait(after: generation, timeout: HookStream.defaultPoll)
                    }
                    continue
                }
                if index > 0 {
                    skippedThrough = buffer[index - 1].seq
                    current.cursor = buffer[index - 1].seq
                    buffer.removeFirst(index)
                }
                let event = buffer[0]
                let trace = await deliveryTrace(of: event, cache: &traces)
                let plan = await Self.attempt(
                    event, body: body, to: current, by: sender, clock: clock, random: Double.random(in: 0..<1), tracing: configuration.tracing,
                    trace: trace)
                if pending.isEmpty { pendingSince = .now }
                pending.append(plan)
                current.attempts = plan.attempts
                current.nextAttemptAt = plan.nextAttemptAt
                if let cursor = plan.cursor {
                    current.cursor = cursor
                    buffer.removeFirst()
                }
                webhook = current
                if plan.delivery.outcome != .delivered || pending.count >= Self.webhookBatch || ContinuousClock.now - pendingSince >= .milliseconds(100) {
                    guard try await flush() else { return }
                }
                configuration.metrics.webhookDelivery(
                    webhook: key.name, result: plan.delivery.outcome.rawValue,
                    lag: plan.delivery.outcome == .delivered ? clock.now.timeIntervalSince(event.time) : nil)
                switch plan.delivery.outcome {
                case .delivered: break
                case .failed:
                    logger.warning("webhook delivery failed; retrying", metadata: [
                        "nightshift.webhook": "\(key)", "nightshift.seq": "\(event.seq)", "nightshift.attempt": "\(plan.delivery.attempt)",
                        "nightshift.error": "\(plan.delivery.error ?? "")",
                    ])
                case .dead:
                    logger.error("webhook delivery dead-lettered", metadata: [
                        "nightshift.webhook": "\(key)", "nightshift.seq": "\(event.seq)", "nightshift.error": "\(plan.delivery.error ?? "")",
                    ])
                }
            } catch is CancellationError {
                break
            } catch {
                logger.error("webhook delivery stopped by a store error; retrying", metadata: ["nightshift.webhook": "\(key)", "nightshift.error": "\(error)"])
                (buffer, pending, skippedThrough, webhook) = ([], [], nil, nil)
                try? await clock.sleep(for: .seconds(1))
            }
        }
        // Stopped (shutdown): what was delivered is written, so that it is not sent again. Not
        // cancelled with the worker: the write must reach the store.
        let last = (pending, skippedThrough)
        if !last.0.isEmpty || last.1 != nil {
            await Task { [store] in
                _ = try? await store.recordWebhookAttempts(
                    last.0, skippedThrough: last.1, webhook: key.name, workspace: key.workspace, node: node, leaseDuration: lease, now: Date())
            }.value
        }
    }

    /// The most successful deliveries recorded in one write: at most this many are sent again
    /// after a node dies mid-delivery.
    public static let webhookBatch = 64
}

extension WorkspaceScope {
    /// The workspace's webhooks by name.
    public func webhooks() async throws -> [Webhook] {
        try await engine.store.webhooks(workspace: workspace)
    }

    /// The webhook `name`, if the workspace has it.
    public func webhook(_ name: String) async throws -> Webhook? {
        try await engine.store.webhook(name, workspace: workspace)
    }

    /// Creates a webhook of this workspace (whatever `spec` says); it delivers what comes next.
    public func createWebhook(_ spec: NewWebhook) async throws -> Webhook {
        try await write(spec) { store, spec, now in try await store.createWebhook(spec, source: "api", now: now) }
    }

    /// Creates or replaces a webhook of this workspace; its position stays.
    public func saveWebhook(_ spec: NewWebhook) async throws -> Webhook {
        try await write(spec) { store, spec, now in try await store.saveWebhook(spec, source: "api", now: now) }
    }

    /// `spec` in this workspace, checked, written by `body`; the webhook loop then takes its lease at once.
    private func write(
        _ spec: NewWebhook, _ body: (any TaskStore, NewWebhook, Date) async throws -> Webhook
    ) async throws -> Webhook {
        var spec = spec
        spec.workspaceID = workspace
        try spec.validate()
        defer { engine.webhooksChanged.ring() }
        return try await body(engine.store, spec, engine.clock.now)
    }

    /// Deletes a webhook of this workspace and its log; answers whether it existed.
    public func deleteWebhook(_ name: String) async throws -> Bool {
        try await engine.store.deleteWebhook(name, workspace: workspace)
    }

    /// The webhook's delivery log, newest first.
    public func webhookDeliveries(_ name: String, outcome: WebhookDelivery.Outcome? = nil, limit: Int) async throws -> [WebhookDelivery] {
        guard try await webhook(name) != nil else { throw NightshiftError.webhookNotFound(name) }
        return try await engine.store.webhookDeliveries(name, workspace: workspace, outcome: outcome, limit: limit)
    }

    /// Sends event `seq` to webhook `name` again, now, once (a dead letter, or any event the
    /// stream still holds), and logs the attempt; it moves nothing. Throws `not_found` for an
    /// unknown webhook or an event the stream no longer holds.
    public func redeliver(_ name: String, seq: Int64) async throws -> WebhookDelivery {
        guard let webhook = try await webhook(name) else { throw NightshiftError.webhookNotFound(name) }
        guard let event = try await engine.store.hookEvent(seq, workspace: workspace) else {
            throw NightshiftError(.notFound, "no hook event \(seq) in the stream (pruned, or another workspace's)", field: "seq")
        }
        guard let sender = engine.webhookSender else {
            throw NightshiftError(.storeUnavailable, "this engine delivers no webhooks")
        }
        let earlier = try await engine.store.webhookDeliveries(name, workspace: workspace, outcome: nil, limit: 1000).filter { $0.seq == seq }
        var retried = webhook
        retried.attempts = (earlier.map(\.attempt).max() ?? 0)
        // One attempt: a failure is final (dead), whatever the retry policy says.
        retried.spec.retry.maxAttempts = retried.attempts + 1
        let body = try await engine.deliveryBody(event, for: webhook) ?? event.wireJSON.jsonText
        var traces: [TaskID: Engine.DeliveryTrace] = [:]
        let trace = await engine.deliveryTrace(of: event, cache: &traces)
        let plan = await Engine.attempt(
            event, body: body, to: retried, by: sender, clock: engine.clock, random: 0, tracing: engine.configuration.tracing, trace: trace)
        try await engine.store.recordWebhookRedelivery(plan.delivery, workspace: workspace)
        return plan.delivery
    }
}
