import Foundation
import Nightshift

/// A work detector as the API answers it: what it hands out and how its scans went.
public struct WireDetector: WireValue, Hashable {
    /// Its name (its items' tasks go to the workflow agent of this name).
    public var name: String
    /// The agent that works on its items.
    public var agent: String
    /// Seconds between scans.
    public var intervalSeconds: Double
    /// Scans so far (on every node).
    public var scans: Int
    /// When its last scan ended; null before the first.
    public var lastScanAt: Date?
    /// Items its last scan found.
    public var lastFound: Int?
    /// Tasks its last scan made (the rest were live: deduplicated).
    public var lastSubmitted: Int?
    /// Why its last scan failed, if it did.
    public var lastError: String?
    /// When its next scan is due; null before the first.
    public var nextScanAt: Date?
    /// The node scanning it now, if one is.
    public var scanningNode: String?

    enum CodingKeys: String, CodingKey {
        case name, agent, scans
        case intervalSeconds = "interval_s", lastScanAt = "last_scan_at", lastFound = "last_found", lastSubmitted = "last_submitted"
        case lastError = "last_error", nextScanAt = "next_scan_at", scanningNode = "scanning_node"
    }

    /// The wire form of detector `name` and what the store knows of it.
    public init(_ info: DetectorInfo) {
        name = info.name
        agent = info.agent
        intervalSeconds = info.interval.seconds
        scans = info.status?.scans ?? 0
        lastScanAt = info.status?.lastScanAt
        lastFound = info.status?.lastScan?.found
        lastSubmitted = info.status?.lastScan?.submitted
        lastError = info.status?.lastScan?.error
        nextScanAt = info.status?.nextScanAt
        scanningNode = info.status?.scanningNode
    }
}

/// The answer of `GET /v1/detectors`.
public struct WireDetectorList: WireValue, Hashable {
    /// The workspace's detectors registered on the answering node, by name.
    public var detectors: [WireDetector]

    /// A list of `detectors`.
    public init(detectors: [WireDetector]) {
        self.detectors = detectors
    }
}

/// The answer of a scan or a signal: what it found and what became tasks.
public struct WireDetectorScan: WireValue, Hashable {
    /// Whether the detector scanned (a signal never does; a scan not due, or under way on another
    /// node, does not).
    public var scanned: Bool
    /// Items found (or brought by the signal).
    public var found: Int
    /// Tasks made of them (the rest were live: deduplicated).
    public var submitted: Int
    /// Why the scan failed, if it did.
    public var error: String?

    /// A report.
    public init(scanned: Bool, _ scan: DetectorScan?) {
        self.scanned = scanned
        found = scan?.found ?? 0
        submitted = scan?.submitted ?? 0
        error = scan?.error
    }
}

/// The body of `POST /v1/detectors/{name}/signal`: the items the signal brings.
public struct WireDetectorSignal: WireRequest, Hashable {
    /// Each `{"key": …, "priority": …, "payload": …}`.
    public var items: [JSONValue]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case items
    }

    /// A signal bringing `items`.
    public init(items: [WorkItem]) {
        self.items = items.map(\.json)
    }

    /// The items, checked; an error names `items[i].MEMBER`.
    func workItems() throws -> [WorkItem] {
        try items.enumerated().map { index, item throws(NightshiftError) in try WorkItem.parse(item, field: "items[\(index)]") }
    }
}
