import Foundation
import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// Takes a detector's scan lease when free and a scan is due (see
    /// ``DetectorStore/claimDetectorScan(_:workspace:node:force:leaseDuration:now:)``).
    public func claimDetectorScan(_ name: String, workspace: String, node: String, force: Bool, leaseDuration: Double, now: Date) async throws -> Bool {
        try await writer.write { transaction in
            let db = transaction.db
            try db.cachedStatement(sql: "INSERT INTO detectors (workspace_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .execute(arguments: [workspace, name])
            try db.cachedStatement(sql: """
                UPDATE detectors SET lease_owner = ?3, lease_expires_at = ?4
                WHERE workspace_id = ?1 AND name = ?2
                AND (lease_owner IS NULL OR lease_owner = ?3 OR lease_expires_at < ?5)
                AND (?6 OR next_scan_at IS NULL OR next_scan_at <= ?5)
                """).execute(arguments: [workspace, name, node, now.timeIntervalSince1970 + leaseDuration, now.timeIntervalSince1970, force])
            return db.changesCount == 1
        }
    }

    /// Records a scan and gives up the lease, while `node` holds it (see
    /// ``DetectorStore/finishDetectorScan(_:workspace:node:scan:nextScanAt:now:)``).
    public func finishDetectorScan(
        _ name: String, workspace: String, node: String, scan: DetectorScan, nextScanAt: Date, now: Date
    ) async throws -> Bool {
        try await writer.write { transaction in
            let db = transaction.db
            try db.cachedStatement(sql: """
                UPDATE detectors SET lease_owner = NULL, lease_expires_at = NULL, next_scan_at = ?4, last_scan_at = ?5,
                    last_found = ?6, last_submitted = ?7, last_error = ?8, scans = scans + 1
                WHERE workspace_id = ?1 AND name = ?2 AND lease_owner = ?3
                """).execute(arguments: [
                    workspace, name, node, nextScanAt.timeIntervalSince1970, now.timeIntervalSince1970, scan.found, scan.submitted, scan.error,
                ])
            return db.changesCount == 1
        }
    }

    /// The detectors claimed so far (see ``DetectorStore/detectors(workspace:)``).
    public func detectors(workspace: String?) async throws -> [DetectorStatus] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT * FROM detectors WHERE (?1 IS NULL OR workspace_id = ?1) ORDER BY workspace_id, name"),
                arguments: [workspace]
            ).map { row in
                let found: Int? = row["last_found"]
                return DetectorStatus(
                    name: row["name"], workspaceID: row["workspace_id"],
                    lastScanAt: (row["last_scan_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastScan: found.map { DetectorScan(found: $0, submitted: row["last_submitted"], error: row["last_error"]) },
                    nextScanAt: (row["next_scan_at"] as Double?).map(Date.init(timeIntervalSince1970:)),
                    scans: row["scans"], scanningNode: row["lease_owner"])
            }
        }
    }
}
