import Nightshift

extension NightshiftClient {
    /// `GET /v1/detectors`: the workspace's detectors on the daemon, by name.
    public func detectors() async throws -> [WireDetector] {
        try await fetch(.GET, "/v1/detectors", as: WireDetectorList.self).detectors
    }

    /// `POST /v1/detectors/{name}/scan`: scans now if due (`force`: whenever the last was).
    public func scanDetector(named name: String, force: Bool) async throws -> WireDetectorScan {
        try await fetch(.POST, "/v1/detectors/\(Self.escapePath(name))/scan", query: [("force", String(force))])
    }

    /// `POST /v1/detectors/{name}/signal`: hands the detector `items` without a scan.
    public func signalDetector(named name: String, items: [WorkItem]) async throws -> WireDetectorScan {
        try await fetch(.POST, "/v1/detectors/\(Self.escapePath(name))/signal", body: WireDetectorSignal(items: items).json)
    }
}
