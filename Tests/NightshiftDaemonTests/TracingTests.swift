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

    /// An OTLP/HTTP traces receiver (JSON, or Protocol Buffers by its Content-Type) on a random
    /// loopback port.
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

        /// Reads an `ExportTraceServiceRequest` in Protocol Buffers' wire format (OTLP's
        /// `http/protobuf`): resource_spans (1) → scope_spans (2) → spans (2), each span's
        /// trace_id (1), span_id (2), parent_span_id (4), name (5) and string or int attributes (9).
        func record(protobuf body: [UInt8]) throws {
            var found: [ReceivedSpan] = []
            for resource in try Self.fields(body[...]) where resource.number == 1 {
                for scope in try Self.fields(resource.bytes) where scope.number == 2 {
                    for spanBytes in try Self.fields(scope.bytes) where spanBytes.number == 2 {
                        var span = ReceivedSpan(name: "", traceID: "", spanID: "", parentID: "", attributes: [:])
                        for field in try Self.fields(spanBytes.bytes) {
                            let hex = field.bytes.map { String(format: "%02x", $0) }.joined()
                            switch field.number {
                            case 1: span.traceID = hex
                            case 2: span.spanID = hex
                            case 4: span.parentID = hex
                            case 5: span.name = String(decoding: field.bytes, as: UTF8.self)
                            case 9:
                                let keyValue = try Self.fields(field.bytes)
                                guard let key = keyValue.first(where: { $0.number == 1 }),
                                      let value = try keyValue.first(where: { $0.number == 2 }).map({ try Self.fields($0.bytes) })?.first
                                else { continue }
                                // AnyValue: string_value (1), int_value (3, a varint).
                                span.attributes[String(decoding: key.bytes, as: UTF8.self)] =
                                    value.number == 3 ? String(value.varint) : String(decoding: value.bytes, as: UTF8.self)
                            default: continue
                            }
                        }
                        found.append(span)
                    }
                }
            }
            spans.withLock { $0 += found }
        }

        struct Malformed: Error {}

        /// The fields of one message: each field's number and its bytes (length-delimited) or
        /// value (varint); fixed-width fields are skipped.
        static func fields(_ message: ArraySlice<UInt8>) throws -> [(number: Int, bytes: ArraySlice<UInt8>, varint: UInt64)] {
            var fields: [(number: Int, bytes: ArraySlice<UInt8>, varint: UInt64)] = []
            var index = message.startIndex
            func varint() throws -> UInt64 {
                var value: UInt64 = 0, shift: UInt64 = 0
                while true {
                    guard index < message.endIndex, shift < 64 else { throw Malformed() }
                    let byte = message[index]
                    index += 1
                    value |= UInt64(byte & 0x7F) << shift
                    if byte & 0x80 == 0 { return value }
                    shift += 7
                }
            }
            while index < message.endIndex {
                let key = try varint()
                let number = Int(key >> 3)
                switch key & 7 {
                case 0: fields.append((number, [], try varint()))
                case 1: index += 8
                case 2:
                    let length = Int(try varint())
                    guard length <= message.endIndex - index else { throw Malformed() }
                    fields.append((number, message[index..<(index + length)], 0))
                    index += length
                case 5: index += 4
                default: throw Malformed()
                }
            }
            guard index == message.endIndex else { throw Malformed() }
            return fields
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
                if request.headers[.contentType]?.hasPrefix("application/x-protobuf") == true {
                    try self.record(protobuf: Array(buffer: body))
                } else {
                    try self.record(String(buffer: body))
                }
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

    @Test(
        "one task's spans reach an OTLP receiver as one trace under the caller's span, each linked to its parent; a webhook delivery is a child of its task's submit span and carries its own traceparent",
        arguments: TracingSettings.Encoding.allCases)
    func taskTrace(encoding: TracingSettings.Encoding) async throws {
        let receiver = Receiver()
        let (ports, bound) = AsyncStream.makeStream(of: Int.self)
        try await withServices([receiver.application { port in bound.yield(port); bound.finish() }], logger: Logger(label: "otlp")) {
            var port = 0
            for await value in ports { port = value }
            let receiverPort = port
            var settings = TracingSettings(endpoint: "http://127.0.0.1:\(port)/v1/traces")
            settings.encoding = encoding
            settings.exportDelay = 0.05
            let backend = try settings.backend()
            let seen = Mutex<String?>(nil)
            let handler: BuiltinRunner.Handler = { request, context in
                seen.withLock { $0 = request.traceParent }
                context.emit("tool_call", ["id": "toolu_1", "name": "Bash", "input": ["command": "ls"]])
                context.emit("tool_result", ["id": "toolu_1", "name": "Bash", "is_error": false, "content": "README.md"])
                context.emit("tool_call", ["name": "Read", "input": ["file_path": "README.md"]])
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
                let tool = try #require(spans.first { $0.name == "nightshift.tool_call" && $0.attributes["nightshift.tool"] == "Bash" })
                let settle = try #require(byName["nightshift.settle"])
                #expect(spans.allSatisfy { $0.traceID == callerTrace }, "\(spans)")
                #expect(submit.parentID == callerSpan)
                #expect(claim.parentID == submit.spanID)
                #expect(run.parentID == submit.spanID)
                let tools = spans.filter { $0.name == "nightshift.tool_call" }
                #expect(tools.count == 2 && tools.allSatisfy { $0.parentID == run.spanID }, "\(tools)")
                #expect(Set(tools.map { $0.attributes["nightshift.tool"] }) == ["Bash", "Read"], "a call without an id too: \(tools)")
                #expect(tool.attributes["nightshift.tool_call_id"] == "toolu_1")
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
