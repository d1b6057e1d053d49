import Foundation
import Nightshift
import OTel
import ServiceLifecycle
import Tracing

/// OpenTelemetry export of the engine's spans (`[tracing]` in the config file; docs/tracing.md):
/// OTLP over HTTP to ``endpoint`` through swift-otel, batched.
public struct TracingSettings: Sendable, Hashable {
    /// The OTLP/HTTP traces URL (`tracing.endpoint`), e.g. `http://127.0.0.1:4318/v1/traces`.
    public var endpoint: String
    /// The encoding (`tracing.protocol`): `http/protobuf` (the default) or `http/json`.
    public var encoding: Encoding = .protobuf
    /// The `service.name` of the spans (`tracing.service_name`).
    public var serviceName = "nightshift"
    /// The share of traces kept, from 0 to 1 (`tracing.sample_ratio`); a task's spans are kept or
    /// dropped together.
    public var sampleRatio = 1.0
    /// The longest a finished span waits before it is exported, in seconds (`tracing.export_delay`).
    public var exportDelay = 5.0

    /// OTLP's HTTP encodings.
    public enum Encoding: String, Sendable, Hashable, CaseIterable {
        /// Protocol Buffers (`http/protobuf`).
        case protobuf = "http/protobuf"
        /// JSON (`http/json`).
        case json = "http/json"
    }

    /// Export to `endpoint`.
    public init(endpoint: String) {
        self.endpoint = endpoint
    }

    /// The keys of `[tracing]`.
    static let keys = ["endpoint", "export_delay", "protocol", "sample_ratio", "service_name"]

    /// `[tracing]`, validated; `nil` when the file has none (no tracing).
    static func parse(_ section: TOMLSection?) throws(NightshiftError) -> TracingSettings? {
        guard let section else { return nil }
        try section.checkKeys(keys)
        guard let endpoint = try section.value("endpoint", .string) else {
            throw section.error(key: section.key("endpoint"), "missing; expected the OTLP/HTTP traces URL, like \"http://127.0.0.1:4318/v1/traces\"")
        }
        guard let parts = URLComponents(string: endpoint), ["http", "https"].contains(parts.scheme?.lowercased() ?? ""), parts.host?.isEmpty == false else {
            throw section.error(key: section.key("endpoint"), "expected an http:// or https:// URL, got '\(endpoint)'")
        }
        var settings = TracingSettings(endpoint: endpoint)
        if let name = try section.value("protocol", .oneOf(Encoding.allCases.map(\.rawValue))) { settings.encoding = Encoding(rawValue: name)! }
        if let name = try section.value("service_name", .string) { settings.serviceName = name }
        if let ratio = try section.value("sample_ratio", .positiveNumber) {
            guard ratio <= 1 else { throw section.error(key: section.key("sample_ratio"), "expected a number from 0 to 1, found \(ratio)") }
            settings.sampleRatio = ratio
        }
        if let delay = try section.value("export_delay", .positiveDuration) { settings.exportDelay = delay }
        return settings
    }

    /// The tracer the engine traces into and the exporter's service, to run beside it (last to
    /// stop, so that the spans of a graceful shutdown are sent).
    public func backend() throws -> (tracer: any Tracer, service: any Service) {
        var configuration = OTel.Configuration.default
        configuration.serviceName = serviceName
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.enabled = true
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.endpoint = endpoint
        configuration.traces.otlpExporter.protocol = encoding == .json ? .httpJSON : .httpProtobuf
        configuration.traces.sampler = sampleRatio >= 1 ? .parentBasedAlwaysOn : (.parentBasedTraceIDRatio(ratio: sampleRatio) ?? .parentBasedAlwaysOn)
        configuration.traces.batchSpanProcessor.scheduleDelay = .milliseconds(Int64(exportDelay * 1000))
        configuration.propagators = [.traceContext]
        let (tracer, service) = try OTel.makeTracingBackend(configuration: configuration)
        return (tracer, service)
    }
}
