import Foundation
import Logging

/// The detector scanner: scans each registered work detector when its interval has passed, one
/// node at a time (the store's scan lease), and submits what it finds as tasks deduplicated by
/// the items' keys.
extension Engine {
    /// Saves each detector's workflow agent, then scans what is due and sleeps until the earliest
    /// next scan (at most 30 s: a lease another node lost, or its scan, is seen by then).
    func detectorLoop() async {
        guard let detectors, !detectors.names.isEmpty else { return }
        for name in detectors.names {
            do {
                if try await store.agent(named: name)?.runner != .workflow { try await store.saveAgent(Agent(name: name, runner: .workflow)) }
            } catch {
                logger.error("could not save a detector's agent", metadata: ["nightshift.detector": "\(name)", "nightshift.error": "\(error)"])
            }
        }
        while !Task.isCancelled {
            for name in detectors.names {
                do {
                    _ = try await scanDetector(name, force: false)
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("detector scan failed", metadata: ["nightshift.detector": "\(name)", "nightshift.error": "\(error)"])
                }
            }
            let now = clock.now
            var wake = now.addingTimeInterval(30)
            if let statuses = try? await store.detectors(workspace: nil) {
                for status in statuses where detectors.detector(status.name)?.workspace == status.workspaceID {
                    if let next = status.nextScanAt { wake = min(wake, max(next, now.addingTimeInterval(0.05))) }
                }
            }
            do { try await clock.sleep(until: wake) } catch { return }
        }
    }

    /// Scans detector `name` if a scan is due (or `force`: at once) and no other node is scanning
    /// it, submits its items, and records the scan; `nil` when it did not scan. A detector that
    /// throws, or finds an item that is not valid, submits nothing: its error is the scan's.
    /// `workspace`, when given, must be the detector's (another's is not found).
    public func scanDetector(_ name: String, force: Bool, workspace: String? = nil) async throws -> DetectorScan? {
        let detector = try registeredDetector(name, workspace: workspace)
        let node = configuration.nodeID
        guard try await store.claimDetectorScan(
            name, workspace: detector.workspace, node: node, force: force, leaseDuration: configuration.detectorLeaseDuration, now: clock.now)
        else { return nil }
        var scan: DetectorScan
        do {
            scan = try await submit(try await detector.detect(), of: name, detector)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            scan = DetectorScan(found: 0, submitted: 0, error: "\(error)")
            logger.warning("detector scan failed", metadata: ["nightshift.detector": "\(name)", "nightshift.error": "\(scan.error ?? "")"])
        }
        let now = clock.now
        _ = try await store.finishDetectorScan(
            name, workspace: detector.workspace, node: node, scan: scan, nextScanAt: now.adding(detector.interval), now: now)
        return scan
    }

    /// Submits `items`, which an outside signal brought to detector `name`, without a scan: each
    /// becomes a task unless its key's task is live.
    public func signalDetector(_ name: String, items: [WorkItem], workspace: String? = nil) async throws -> DetectorScan {
        try await submit(items, of: name, try registeredDetector(name, workspace: workspace))
    }

    /// Detector `name`, registered here and of `workspace` if one is given; else `not_found`.
    func registeredDetector(_ name: String, workspace: String?) throws -> any WorkDetector {
        guard let detector = detectors?.detector(name), workspace == nil || detector.workspace == workspace else {
            throw NightshiftError(.notFound, "no detector named '\(name)' on this node", field: "name")
        }
        return detector
    }

    /// Submits the items' tasks in one write (all or none); answers how many were new.
    private func submit(_ items: [WorkItem], of name: String, _ detector: any WorkDetector) async throws -> DetectorScan {
        for (index, item) in items.enumerated() { try item.validate(field: "items[\(index)].key") }
        guard !items.isEmpty else { return DetectorScan(found: 0, submitted: 0) }
        let results = try await store.submitAll(
            items.map { DetectorRegistry.task(for: $0, detector: name, detector, workspace: detector.workspace) }, now: clock.now)
        let submitted = results.filter(\.inserted).count
        if submitted > 0 { doorbell.ring() }
        return DetectorScan(found: items.count, submitted: submitted)
    }
}

/// A detector registered on this node and what the store knows of its scans.
public struct DetectorInfo: Sendable {
    /// Its name.
    public var name: String
    /// The agent that works on its items.
    public var agent: String
    /// The time between scans.
    public var interval: Duration
    /// Its scans so far; `nil` before the first claim.
    public var status: DetectorStatus?
}

extension WorkspaceScope {
    /// The workspace's detectors registered on this node, by name, with their scans.
    public func detectors() async throws -> [DetectorInfo] {
        guard let registry = engine.detectors else { return [] }
        let statuses = try await engine.store.detectors(workspace: workspace)
        return registry.names.compactMap { name in
            guard let detector = registry.detector(name), detector.workspace == workspace else { return nil }
            return DetectorInfo(name: name, agent: detector.agent, interval: detector.interval, status: statuses.first { $0.name == name })
        }
    }

    /// Scans the workspace's detector `name` if due (`force`: at once) and not under way
    /// elsewhere (see ``Engine/scanDetector(_:force:workspace:)``).
    public func scanDetector(_ name: String, force: Bool) async throws -> DetectorScan? {
        try await engine.scanDetector(name, force: force, workspace: workspace)
    }

    /// Submits the items a signal brings to the workspace's detector `name`, without a scan.
    public func signalDetector(_ name: String, items: [WorkItem]) async throws -> DetectorScan {
        try await engine.signalDetector(name, items: items, workspace: workspace)
    }
}
