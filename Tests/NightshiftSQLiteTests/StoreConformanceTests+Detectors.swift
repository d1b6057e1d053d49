import Foundation
import Nightshift
import Testing

/// Work detectors' store side on every store kind: one node at a time holds a detector's scan
/// lease, a scan is due only once its interval has passed (unless forced), and only the holder
/// records a scan.
@Suite("Store conformance: detectors")
struct DetectorConformanceTests {
    @Test("one node scans at a time; a scan is due after the interval unless forced; only the holder records it", arguments: StoreKind.allCases)
    func scanLease(kind: StoreKind) async throws {
        let store = try await kind.make()
        let ws = Workspace.defaultID
        #expect(try await store.detectors(workspace: ws).isEmpty)
        #expect(try await store.claimDetectorScan("todo", workspace: ws, node: "a", force: false, leaseDuration: 60, now: t0), "the first scan is due")
        #expect(try await !store.claimDetectorScan("todo", workspace: ws, node: "b", force: true, leaseDuration: 60, now: t0.addingTimeInterval(1)),
                "a scans: not even a forced scan on b")
        let scanning = try #require(try await store.detectors(workspace: ws).first)
        #expect(scanning.name == "todo" && scanning.scanningNode == "a" && scanning.scans == 0 && scanning.lastScanAt == nil && scanning.lastScan == nil)

        let report = DetectorScan(found: 3, submitted: 2, error: nil)
        #expect(try await !store.finishDetectorScan("todo", workspace: ws, node: "b", scan: report, nextScanAt: t0.addingTimeInterval(300), now: t0.addingTimeInterval(2)),
                "b does not hold the lease")
        #expect(try await store.finishDetectorScan("todo", workspace: ws, node: "a", scan: report, nextScanAt: t0.addingTimeInterval(300), now: t0.addingTimeInterval(2)))
        let scanned = try #require(try await store.detectors(workspace: ws).first)
        #expect(scanned.scanningNode == nil && scanned.scans == 1 && scanned.lastScan == report)
        #expect(scanned.lastScanAt == t0.addingTimeInterval(2) && scanned.nextScanAt == t0.addingTimeInterval(300))

        // Not due yet: only a forced scan goes.
        #expect(try await !store.claimDetectorScan("todo", workspace: ws, node: "b", force: false, leaseDuration: 60, now: t0.addingTimeInterval(10)))
        #expect(try await store.claimDetectorScan("todo", workspace: ws, node: "b", force: true, leaseDuration: 60, now: t0.addingTimeInterval(10)))
        // b dies mid-scan: its lease runs out, then a takes over and b's late report is refused.
        #expect(try await !store.claimDetectorScan("todo", workspace: ws, node: "a", force: true, leaseDuration: 60, now: t0.addingTimeInterval(69)))
        #expect(try await store.claimDetectorScan("todo", workspace: ws, node: "a", force: true, leaseDuration: 60, now: t0.addingTimeInterval(71)))
        let failed = DetectorScan(found: 0, submitted: 0, error: "the scan command exited 2")
        #expect(try await !store.finishDetectorScan("todo", workspace: ws, node: "b", scan: report, nextScanAt: t0, now: t0.addingTimeInterval(72)))
        #expect(try await store.finishDetectorScan("todo", workspace: ws, node: "a", scan: failed, nextScanAt: t0.addingTimeInterval(400), now: t0.addingTimeInterval(72)))
        #expect(try await store.detectors(workspace: ws).first?.lastScan == failed)
        #expect(try await store.detectors(workspace: ws).first?.scans == 2)

        // Due again once next_scan_at has come; detectors are scoped by workspace.
        #expect(try await store.claimDetectorScan("todo", workspace: ws, node: "b", force: false, leaseDuration: 60, now: t0.addingTimeInterval(400)))
        #expect(try await store.claimDetectorScan("todo", workspace: "w2", node: "c", force: false, leaseDuration: 60, now: t0))
        #expect(try await store.detectors(workspace: "w2").map(\.scanningNode) == ["c"])
        #expect(try await store.detectors(workspace: nil).count == 2)
    }
}
