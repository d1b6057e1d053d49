import Foundation

/// Work detectors' scans: when each scanned and what it found, and a lease so that one node at a
/// time scans a detector. A detector's row is made on its first claim.
public protocol DetectorStore: Sendable {
    /// Takes the scan lease of detector `name` of `workspace` for `node` for `leaseDuration`
    /// seconds, if no other node holds it (or its lease expired) and a scan is due (`force`: even
    /// if not). Answers whether `node` holds it now.
    func claimDetectorScan(_ name: String, workspace: String, node: String, force: Bool, leaseDuration: Double, now: Date) async throws -> Bool
    /// Records a scan's report and when the next is due, and gives up the lease: only while
    /// `node` holds it. Answers whether it did.
    func finishDetectorScan(
        _ name: String, workspace: String, node: String, scan: DetectorScan, nextScanAt: Date, now: Date
    ) async throws -> Bool
    /// The detectors of `workspace` (`nil`: every workspace's) that have been claimed, by name.
    func detectors(workspace: String?) async throws -> [DetectorStatus]
}
