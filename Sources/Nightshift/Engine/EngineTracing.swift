import Foundation
import Synchronization
import Tracing

/// The engine's spans, through swift-distributed-tracing: `nightshift.submit`, and for each run
/// `nightshift.claim`, `nightshift.run` with a `nightshift.tool_call` per agent tool call, and
/// `nightshift.settle`; `nightshift.webhook.deliver` per delivery attempt. Every span of a task
/// carries `nightshift.task_id` and `nightshift.agent`.
///
/// A task's spans form one trace across nodes and restarts: the submit span's W3C `traceparent`
/// is stored with the task (``AgentTask/traceParent``), and its claim, runs, settles and webhook
/// deliveries are its children. The run's context reaches the agent as `TRACEPARENT`
/// (``RunRequest/traceParent``); a delivery's reaches the webhook receiver as a `traceparent`
/// header. With the default tracer (swift-distributed-tracing's global one, a no-op unless the
/// program bootstrapped one) nothing is stored or sent.
public struct EngineTracing: Sendable {
    /// Where the spans go.
    public let tracer: any Tracer
    /// Whether the spans go anywhere: `false` for swift-distributed-tracing's no-op tracer. Work
    /// done for the spans alone (the store read of a webhook delivery's parent) is skipped without.
    public let isEnabled: Bool

    /// Traces into `tracer`.
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
        isEnabled = !(tracer is NoOpTracer)
    }

    /// The W3C `traceparent` of `context`'s span, if the tracer propagates one.
    public func traceParent(of context: InstrumentationContext) -> String? {
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryInjector())
        return carrier["traceparent"]
    }

    /// A context whose span is the one `traceParent` names (the top level when it is `nil`).
    public func context(traceParent: String?, tracestate: String? = nil) -> InstrumentationContext {
        var context = InstrumentationContext.topLevel
        guard let traceParent else { return context }
        var carrier = ["traceparent": traceParent]
        if let tracestate { carrier["tracestate"] = tracestate }
        tracer.extract(carrier, into: &context, using: DictionaryExtractor())
        return context
    }

    /// A span of `task`'s, child of `parent`, with its id and agent as attributes.
    func span(_ name: String, task: AgentTask, parent: InstrumentationContext, kind: SpanKind = .internal) -> any Span {
        let span = tracer.startSpan(name, context: parent, ofKind: kind)
        span.attributes["nightshift.task_id"] = task.id.rawValue
        span.attributes["nightshift.agent"] = task.agent
        return span
    }
}

/// Reads and writes a `[String: String]` carrier (W3C trace context headers).
struct DictionaryInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

/// Reads a `[String: String]` carrier.
struct DictionaryExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}

/// The spans of a run's tool calls: one starts at each `tool_call` event and ends at the
/// `tool_result` with its id (an error result marks it failed); those still open when the run
/// ends are ended with it.
final class ToolCallSpans: Sendable {
    private let tracing: EngineTracing
    private let task: AgentTask
    private let parent: InstrumentationContext
    private let open = Mutex<[String: any Span]>([:])

    init(tracing: EngineTracing, task: AgentTask, parent: InstrumentationContext) {
        self.tracing = tracing
        self.task = task
        self.parent = parent
    }

    /// Starts or ends a span for a run event.
    func observe(_ type: String, _ data: JSONValue) {
        switch type {
        case "tool_call":
            let span = tracing.span("nightshift.tool_call", task: task, parent: parent)
            if let name = data["name"]?.stringValue { span.attributes["nightshift.tool"] = name }
            // A call without an id cannot be matched with its result: a span of no length.
            guard let id = data["id"]?.stringValue else { return span.end() }
            span.attributes["nightshift.tool_call_id"] = id
            open.withLock { $0[id] = span }
        case "tool_result":
            guard let id = data["id"]?.stringValue ?? data["tool_use_id"]?.stringValue,
                let span = open.withLock({ $0.removeValue(forKey: id) })
            else { return }
            if data["is_error"] == .bool(true) { span.setStatus(SpanStatus(code: .error, message: data["content"]?.stringValue)) }
            span.end()
        default:
            return
        }
    }

    /// Ends the spans of calls that got no result.
    func endAll() {
        for span in open.withLock({ spans in defer { spans = [:] }; return Array(spans.values) }) { span.end() }
    }
}
