import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Synchronization
import Testing

/// OpenTelemetry export: an OTLP/HTTP receiver in the test gets the spans of one task, one trace
/// from the caller's `traceparent` through submit, claim, run, its tool calls and settle, each
/// linked to its parent, with the task's id and agent; the agent gets `TRACEPARENT`; a webhook
/// delivery of a task's event is a span of the task's trace whose context the receiver gets.
@Suite struct TracingTests {
    /// A span as the receiver read it (ids as lower-case hex).
    struct ReceivedSpan: Hashable {
        var name: String
        var traceID: String
        var spanID: String
        var parentID: String
        var attributes: [String: String]
    }

    /// An OTLP/HTTP JSON traces receiver on a random loopback port.
    final class Receiver: Sendable {
        let spans = Mutex<[ReceivedSpan]>([])
        /// The `traceparent` header of each webhook delivery received at `/hook`.
        let deliveries = Mutex<[String?]>([])

        func record(_ body: String) throws {
            let json = try JSONValue(jsonText: body)
            var found: [ReceivedSpan] = []
            for resource in json["resourceSpans"]?.arrayValue ?? [] {
                for scope in resource["scopeSpans"]?.arrayValue ?? [] {
                    for span in scope["spans"]?.arrayValue ?? [] {
                        var attributes: [String: String] = [:]
                        for attribute in span["attributes"]?.arrayValue ?? [] {
                            guard let key = attribute["key"]?.stringValue, let value = attribute["value"] else { continue }
                            attributes[key] = value["stringValue"]?.stringValue ?? value["intValue"].map { $0.stringValue ?? $0.jsonText }
                        }
                        found.append(ReceivedSpan(
                            name: span["name"]?.stringValue ?? "", traceID: Self.hex(span["traceId"]?.stringValue),
                            spanID: Self.hex(span["spanId"]?.stringValue), parentID: Self.hex(span["parentSpanId"]?.stringValue),
                            attributes: attributes))
                    }
                }
            }
            spans.withLock { $0 += found }
        }

        /// An id as hex: OTLP/JSON says hex; a protobuf JSON encoder writes base64.
        static func hex(_ text: String?) -> String {
            guard let text, !text.isEmpty else { return "" }
            if text.count % 2 == 0, text.allSatisfy(\.isHexDigit) { return text.lowercased() }
            guard let bytes = Data(base64Encoded: text) else { return text }
            return bytes.map { String(format: "%02x", $0) }.joined()
        }

        func application(onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
            let router = Router()
            router.post("/v1/traces") { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 16 << 20)
                try self.record(String(buffer: body))
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: "{}")))
            }
            router.post("/hook") { request, _ -> Response in
                self.deliveries.withLock { $0.append(request.headers[HTTPField.Name("traceparent")!]) }
                return Response(status: .ok)
            }
            return Application(
                router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                onServerRunning: { await onRunning($0.localAddress?.port ?? 0) }, logger: Logger(label: "otlp-receiver"))
        }
    }

    @Test("one task's spans reach an OTLP receiver as one trace under the caller's span, each linked to its parent; a webhook delivery is a child of its task's submit span and carries its own traceparent")
    func taskTrace() async throws {
        let receiver = Receiver()
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        try await withServices([receiver.application { port in bound.yield(port); bound.finish() }], logger: Logger(label: "otlp")) {
            var port = 0
            for await value in ports { port = value }
            let receiverPort = port
            var settings = TracingSettings(endpoint: "http://127.0.0.1:\(port)/v1/traces")
            settings.encoding = .json
            settings.exportDelay = 0.05
            let backend = try settings.backend()
            let seen = Mutex<String?>(nil)
            let handler: BuiltinRunner.Handler = { request, context in
                seen.withLock { $0 = request.traceParent }
                context.emit("tool_call", ["id": "toolu_1", "name": "Bash", "input": ["command": "ls"]])
                context.emit("tool_result", ["id": "toolu_1", "name": "Bash", "is_error": false, "content": "README.md"])
                return .succeeded("listed")
            }
            try await APIHarness.with(handlers: ["lister": handler], tracing: (EngineTracing(tracer: backend.tracer), backend.service)) { api in
                let callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736", callerSpan = "00f067aa0ba902b7"
                let submitted = try await api.request(
                    .POST, "/v1/tasks", body: #"{"agent": "lister", "prompt": "list"}"#,
                    headers: [("traceparent", "00-\(callerTrace)-\(callerSpan)-01")])
                let id = try #require(submitted.json?["id"]?.stringValue, "\(submitted.body)")
                let names = ["nightshift.submit", "nightshift.claim", "nightshift.run", "nightshift.tool_call", "nightshift.settle"]
                let arrived = await eventually {
                    let spans = receiver.spans.withLock { $0 }.filter { $0.attributes["nightshift.task_id"] == id }
                    return Set(spans.map(\.name)).isSuperset(of: names)
                }
                let spans = receiver.spans.withLock { $0 }.filter { $0.attributes["nightshift.task_id"] == id }
                #expect(arrived, "\(spans.map(\.name))")
                let byName = Dictionary(spans.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
                let submit = try #require(byName["nightshift.submit"])
                let claim = try #require(byName["nightshift.claim"])
                let run = try #require(byName["nightshift.run"])
                let tool = try #require(byName["nightshift.tool_call"])
                let settle = try #require(byName["nightshift.settle"])
                #expect(spans.allSatisfy { $0.traceID == callerTrace }, "\(spans)")
                #expect(submit.parentID == callerSpan)
                #expect(claim.parentID == submit.spanID)
                #expect(run.parentID == submit.spanID)
                #expect(tool.parentID == run.spanID)
                #expect(settle.parentID == run.spanID)
                #expect(spans.allSatisfy { $0.attributes["nightshift.agent"] == "lister" })
                #expect(tool.attributes["nightshift.tool"] == "Bash")
                #expect(run.attributes["nightshift.outcome"] == "succeeded")
                // The runner was handed the run span's context (TRACEPARENT for an agent process).
                #expect(seen.withLock { $0 } == "00-\(callerTrace)-\(run.spanID)-01")
                // A webhook delivery is traced in the task's trace, a child of its submit span, and
                // its receiver gets the delivery span's context.
                let hook = try await api.request(
                    .POST, "/v1/webhooks", body: #"{"name": "traced", "url": "http://127.0.0.1:\#(receiverPort)/hook", "secret": "s", "events": ["task.done"]}"#)
                #expect(hook.status == 201, "\(hook.body)")
                let other = try await api.request(.POST, "/v1/tasks", body: #"{"agent": "lister", "prompt": "again"}"#)
                let otherID = try #require(other.json?["id"]?.stringValue)
                let delivered = await eventually {
                    let spans = receiver.spans.withLock { $0 }.filter { $0.attributes["nightshift.task_id"] == otherID }
                    return receiver.deliveries.withLock { !$0.isEmpty }
                        && Set(spans.map(\.name)).isSuperset(of: ["nightshift.submit", "nightshift.webhook.deliver"])
                }
                #expect(delivered)
                let otherSpans = receiver.spans.withLock { $0 }.filter { $0.attributes["nightshift.task_id"] == otherID }
                let header = try #require(receiver.deliveries.withLock { $0.first } ?? nil)
                let otherSubmit = try #require(otherSpans.first { $0.name == "nightshift.submit" })
                let deliverSpan = try #require(otherSpans.first { $0.name == "nightshift.webhook.deliver" })
                #expect(otherSubmit.traceID != callerTrace, "no caller's traceparent: a trace of its own")
                #expect(deliverSpan.traceID == otherSubmit.traceID && deliverSpan.parentID == otherSubmit.spanID, "\(deliverSpan)")
                #expect(deliverSpan.attributes["nightshift.agent"] == "lister")
                #expect(header == "00-\(otherSubmit.traceID)-\(deliverSpan.spanID)-01")
                #expect(deliverSpan.attributes["nightshift.webhook"] == "traced" && deliverSpan.attributes["nightshift.event"] == "task.done")
                #expect(deliverSpan.attributes["http.response.status_code"] == "200")
                // An exporter turns tracing on; swift-distributed-tracing's no-op default (no
                // program here bootstraps one) leaves it off, and a delivery then reads no task.
                #expect(EngineTracing(tracer: backend.tracer).isEnabled)
                #expect(!EngineTracing().isEnabled)

                // The task keeps its submit span's context for its runs on any node.
                let taskID = try #require(TaskID(id))
                let stored = try #require(try await api.store.task(taskID))
                #expect(stored.traceParent == "00-\(callerTrace)-\(submit.spanID)-01")
            }
        }
    }
}
