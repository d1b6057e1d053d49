import AsyncHTTPClient
import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Webhooks through a real daemon (engine, API) delivering over real HTTP to a real receiver on
/// loopback that checks every signature.
@Suite("Webhooks", .timeLimit(.minutes(2)))
struct WebhookTests {
    static let secret = "s3cret-for-tests"

    static func create(_ api: APIHarness, name: String, url: String, extra: String = "") async throws {
        let created = try await api.request(
            .POST, "/v1/webhooks",
            body: #"{"name":"\#(name)","url":"\#(url)","secret":"\#(secret)","initial_backoff":0.02,"max_backoff":0.2\#(extra)}"#)
        #expect(created.status == 201, "\(created.body)")
    }

    @Test("every event is delivered in seq order, signed, once a 2xx comes: two 500s are retried with the same delivery id; the log shows each attempt")
    func retriedInOrder() async throws {
        let receiver = WebhookReceiver(secret: Self.secret) { _, attempt in (attempt <= 2 ? 500 : 200, [:]) }
        try await receiver.serving { url in
            try await APIHarness.with(handlers: APIServerTests.handlers) { api in
                try await Self.create(api, name: "ci", url: url)
                for index in 0..<3 {
                    #expect(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"\#(index)"}"#).status == 201)
                }
                let stored = try await eventually { try await api.store.hookEvents(after: 0, limit: 100).count == 9 }
                #expect(stored)
                #expect(try await eventually { receiver.accepted.count == 9 }, "\(receiver.received.count) received")
                let events = try await api.store.hookEvents(after: 0, limit: 100)
                #expect(receiver.accepted.map(\.seq) == events.map(\.seq), "in seq order, each once")
                #expect(receiver.accepted.map(\.type) == events.map(\.type))
                #expect(receiver.received.allSatisfy { $0.signed }, "every signature checks")
                #expect(receiver.received.count == 27, "two failures before each success")
                // Every try of an event carries the same delivery id; no event's tries interleave another's.
                for (index, event) in events.enumerated() {
                    let tries = receiver.received[(index * 3)..<(index * 3 + 3)]
                    #expect(tries.allSatisfy { $0.seq == event.seq && $0.deliveryID == tries.first?.deliveryID }, "\(tries)")
                }
                #expect(receiver.accepted.first?.body == events.first.map { $0.wireJSON }, "the body is the hook event")
                // Successes are written in batches: the last may be written just after it arrived.
                #expect(try await eventually { try await api.request(.GET, "/v1/webhooks/ci").json?["delivered"] == 9 })
                let log = try #require(try await api.request(.GET, "/v1/webhooks/ci/deliveries?limit=1000").json?["deliveries"]?.arrayValue)
                #expect(log.count == 27)
                #expect(log.prefix(3).map { $0["outcome"] } == ["delivered", "failed", "failed"], "newest first")
                #expect(log.first?["attempt"] == 3 && log.first?["http_status"] == 200)
                let webhook = try #require(try await api.request(.GET, "/v1/webhooks/ci").json)
                #expect(webhook["delivered"] == 9 && webhook["dead"] == 0 && webhook["attempts"] == 0 && webhook["last_error"] == .null)
                #expect(webhook["cursor"] == .int(events.last!.seq))
                #expect(webhook["secret"] == nil, "never answered")
            }
        }
    }

    @Test("a 4xx is dead-lettered at once, attempts run out on 5xx; only the filter's types go; a dead letter is redelivered on request")
    func deadLettersAndFilter() async throws {
        let refuse = Mutex(true)
        let receiver = WebhookReceiver(secret: Self.secret) { deliveryID, _ in
            if refuse.withLock({ $0 }), deliveryID.hasSuffix(":2") { return (410, [:]) }
            return deliveryID.hasSuffix(":3") ? (503, [:]) : (200, [:])
        }
        try await receiver.serving { url in
            try await APIHarness.with(handlers: APIServerTests.handlers) { api in
                try await Self.create(api, name: "done", url: url, extra: #","events":["task.*","review_*"],"max_attempts":3"#)
                let id = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x"}"#).json?["id"]?.stringValue)
                #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(id)").json?["state"] == "done" })
                _ = try await api.request(.POST, "/v1/events", body: #"{"task_id":"\#(id)","type":"deploy_started"}"#)
                _ = try await api.request(.POST, "/v1/events", body: #"{"task_id":"\#(id)","type":"review_ready"}"#)
                // seq 1 queued (200), 2 started (410: dead at once), 3 done (503 thrice: dead), 4 deploy_started (not
                // delivered), 5 review_ready (200).
                #expect(try await eventually { try await api.request(.GET, "/v1/webhooks/done").json?["cursor"] == 5 })
                #expect(receiver.accepted.map(\.seq) == [1, 5])
                #expect(receiver.received.map(\.seq) == [1, 2, 3, 3, 3, 5], "no retry after a 410; 3 attempts on 503s; 4 not delivered")
                let dead = try #require(try await api.request(.GET, "/v1/webhooks/done/deliveries?outcome=dead").json?["deliveries"]?.arrayValue)
                #expect(dead.map { $0["seq"] } == [3, 2])
                #expect(dead.map { $0["error"] } == ["the receiver answered 503", "the receiver answered 410"])
                let webhook = try #require(try await api.request(.GET, "/v1/webhooks/done").json)
                #expect(webhook["delivered"] == 2 && webhook["dead"] == 2)
                // The receiver is fixed: a redelivery of 2 goes through, counted on from its attempt.
                refuse.withLock { $0 = false }
                let again = try await api.request(.POST, "/v1/webhooks/done/redeliver", body: #"{"seq":2}"#)
                #expect(again.status == 200 && again.json?["outcome"] == "delivered" && again.json?["attempt"] == 2, "\(again.body)")
                #expect(receiver.accepted.map(\.seq) == [1, 5, 2])
                #expect(try await api.request(.POST, "/v1/webhooks/done/redeliver", body: #"{"seq":99}"#).status == 404)
                #expect(try await api.request(.GET, "/v1/webhooks/done").json?["cursor"] == 5, "a redelivery moves nothing")
            }
        }
    }

    @Test("a receiver that hangs is cut off at the webhook's timeout and retried; it does not hold up another webhook; Retry-After is honoured")
    func hangingReceiver() async throws {
        // The first try of the first event hangs (5 s, ten times the webhook's timeout).
        let hanging = WebhookReceiver(secret: Self.secret) { deliveryID, attempt in
            if attempt == 1, deliveryID.hasSuffix(":1") { try? await Task.sleep(for: .seconds(5)) }
            return (200, [:])
        }
        let slowing = WebhookReceiver(secret: Self.secret) { _, attempt in attempt == 1 ? (429, ["Retry-After": "1"]) : (200, [:]) }
        try await hanging.serving { hangingURL in
            try await slowing.serving { slowURL in
                try await APIHarness.with(handlers: APIServerTests.handlers) { api in
                    try await Self.create(api, name: "stuck", url: hangingURL, extra: #","timeout":0.5"#)
                    try await Self.create(api, name: "paced", url: slowURL, extra: #","events":["task.queued"]"#)
                    #expect(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"x"}"#).status == 201)
                    #expect(try await eventually { slowing.accepted.count == 1 })
                    let paced = try #require(slowing.received.count == 2 ? slowing.received : nil)
                    #expect(paced.map(\.status) == [429, 200])
                    #expect(try await eventually { try await api.request(.GET, "/v1/webhooks/paced").json?["delivered"] == 1 })
                    let log = try #require(try await api.request(.GET, "/v1/webhooks/paced/deliveries").json?["deliveries"]?.arrayValue)
                    let retried = try #require(log.first?["time"]?.stringValue.flatMap { try? JSONTime.date(.string($0), field: "") })
                    let first = try #require(log.last?["time"]?.stringValue.flatMap { try? JSONTime.date(.string($0), field: "") })
                    #expect(retried.timeIntervalSince(first) >= 0.9, "the retry waited for Retry-After (1 s), not the 0.02 s backoff")
                    #expect(try await eventually { hanging.accepted.count == 3 }, "after the cut-off, the event is retried and the rest follow")
                    let stuck = try #require(try await api.request(.GET, "/v1/webhooks/stuck/deliveries?outcome=failed").json?["deliveries"]?.arrayValue)
                    #expect(stuck.first?["error"] == "no answer within 0.5 s", "\(stuck)")
                    #expect((stuck.first?["duration"]?.doubleValue ?? 99) < 4, "cut off at 0.5 s, not when the receiver answered at 5 s: \(stuck)")
                }
            }
        }
    }

    @Test("bad webhooks are refused naming the field and nothing is stored; names are unique; PUT replaces; DELETE forgets")
    func crud() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            for (body, field) in [
                (#"{"name":"w","url":"ftp://example.com/x","secret":"s"}"#, "url"), (#"{"name":"w","url":"not a url","secret":"s"}"#, "url"),
                (#"{"name":"w","url":"http://127.0.0.1/x","secret":""}"#, "secret"), (#"{"name":"w","url":"http://127.0.0.1/x"}"#, "secret"),
                (#"{"name":"w","url":"http://127.0.0.1/x","secret":"s","events":["Task Done"]}"#, "events[0]"),
                (#"{"name":"w w","url":"http://127.0.0.1/x","secret":"s"}"#, "name"), (#"{"url":"http://127.0.0.1/x","secret":"s"}"#, "name"),
                (#"{"name":"w","url":"http://127.0.0.1/x","secret":"s","timeout":0}"#, "timeout"),
                (#"{"name":"w","url":"http://127.0.0.1/x","secret":"s","max_attempts":0}"#, "max_attempts"),
            ] {
                let refused = try await api.request(.POST, "/v1/webhooks", body: body)
                #expect(refused.status == 422 && refused.json?["error"]?["field"] == .string(field), "\(body): \(refused.body)")
            }
            #expect(try await api.request(.GET, "/v1/webhooks").json == ["webhooks": []])
            let created = try await api.request(.POST, "/v1/webhooks", body: #"{"name":"w","url":"http://127.0.0.1:9/x","secret":"s","enabled":false}"#)
            #expect(created.status == 201 && created.json?["enabled"] == false && created.json?["source"] == "api")
            #expect(try await api.request(.POST, "/v1/webhooks", body: #"{"name":"w","url":"http://127.0.0.1:9/x","secret":"s"}"#).status == 409)
            let replaced = try await api.request(.PUT, "/v1/webhooks/w", body: #"{"url":"https://example.com/h","secret":"t","events":["task.done"],"enabled":false}"#)
            #expect(replaced.status == 200 && replaced.json?["url"] == "https://example.com/h" && replaced.json?["events"] == ["task.done"])
            #expect(try await api.request(.PUT, "/v1/webhooks/w", body: #"{"name":"v","url":"https://example.com/h","secret":"t"}"#).status == 422)
            #expect(try await api.request(.GET, "/v1/webhooks").json?["webhooks"]?.arrayValue?.count == 1)
            #expect(try await api.request(.DELETE, "/v1/webhooks/w").status == 204)
            #expect(try await api.request(.GET, "/v1/webhooks/w").status == 404)
            #expect(try await api.request(.GET, "/v1/webhooks/w/deliveries").status == 404)
        }
    }

    @Test("the daemon's sender delivers from a thread 10 nice steps below the process's")
    func backgroundPriority() async throws {
        let thread = __priority_which_t(PRIO_PROCESS.rawValue)
        let process = getpriority(thread, 0)
        let executor = try #require(WebhookHTTPSender().executor)
        let delivery = await withTaskExecutorPreference(executor) { getpriority(thread, 0) }
        #expect(delivery == min(19, process + WebhookHTTPSender.backgroundNice), "process \(process), delivery thread \(delivery)")
        #expect(WebhookHTTPSender(client: .shared).executor == nil, "a sender on a given client delivers from the global executor")
    }
}
