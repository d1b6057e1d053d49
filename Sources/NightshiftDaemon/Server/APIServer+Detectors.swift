import Hummingbird
import Nightshift

/// `/v1/detectors`: the work detectors registered on the answering node, their scans, and the
/// signals that bring them items.
extension APIServer {
    /// `GET /v1/detectors`: the workspace's detectors, by name, with their last scans.
    func listDetectors(_ context: APIRequestContext) async throws -> Response {
        Self.reply(WireDetectorList(detectors: try await scope(context).detectors().map(WireDetector.init)))
    }

    /// `POST /v1/detectors/{name}/scan[?force=true]`: scans now if a scan is due (with `force`,
    /// whenever it was last) and no node is scanning it; answers what it found.
    func scanDetector(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let force: Bool
        switch request.uri.queryParameters["force"].map(String.init) {
        case nil, "false": force = false
        case "true": force = true
        case let other?: throw NightshiftError(.invalidInput, "expected true or false, got '\(other)'", field: "force")
        }
        let scan = try await scope(context).scanDetector(try Self.parameter(context, "name"), force: force)
        return Self.reply(WireDetectorScan(scanned: scan != nil, scan))
    }

    /// `POST /v1/detectors/{name}/signal`: submits the items the body brings (`{"items": [...]}`)
    /// without a scan; an item whose task is live is a no-op.
    func signalDetector(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let items = try WireDetectorSignal(body: try await Self.body(request)).workItems()
        let scan = try await scope(context).signalDetector(try Self.parameter(context, "name"), items: items)
        return Self.reply(WireDetectorScan(scanned: false, scan))
    }
}
