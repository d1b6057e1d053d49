import Foundation
import Nightshift
import PostgresNIO

extension PostgresTaskStore {
    /// Takes a detector's scan lease when free and a scan is due (see
    /// ``DetectorStore/claimDetectorScan(_:workspace:node:force:leaseDuration:now:)``).
    public func claimDetectorScan(_ name: String, workspace: String, node: String, force: Bool, leaseDuration: Double, now: Date) async throws -> Bool {
        try await write { transaction in
            var insert = SQL("INSERT INTO detectors (workspace_id, name) VALUES (")
            insert.append(.text(workspace))
            insert.append(", ")
            insert.append(.text(name))
            insert.append(") ON CONFLICT DO NOTHING")
            try await transaction.rows(insert)
            var sql = SQL("UPDATE detectors SET lease_owner = ")
            sql.append(.text(node))
            sql.append(", lease_expires_at = ")
            sql.append(.double(now.timeIntervalSince1970 + leaseDuration))
            sql.append(" WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND name = ")
            sql.append(.text(name))
            sql.append(" AND (lease_owner IS NULL OR lease_owner = ")
            sql.append(.text(node))
            sql.append(" OR lease_expires_at < ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(")")
            if !force {
                sql.append(" AND (next_scan_at IS NULL OR next_scan_at <= ")
                sql.append(.double(now.timeIntervalSince1970))
                sql.append(")")
            }
            sql.append(" RETURNING name")
            return try await transaction.rows(sql).count == 1
        }
    }

    /// Records a scan and gives up the lease, while `node` holds it (see
    /// ``DetectorStore/finishDetectorScan(_:workspace:node:scan:nextScanAt:now:)``).
    public func finishDetectorScan(
        _ name: String, workspace: String, node: String, scan: DetectorScan, nextScanAt: Date, now: Date
    ) async throws -> Bool {
        try await write { transaction in
            var sql = SQL("UPDATE detectors SET lease_owner = NULL, lease_expires_at = NULL, next_scan_at = ")
            sql.append(.double(nextScanAt.timeIntervalSince1970))
            sql.append(", last_scan_at = ")
            sql.append(.double(now.timeIntervalSince1970))
            sql.append(", last_found = ")
            sql.append(.int(scan.found))
            sql.append(", last_submitted = ")
            sql.append(.int(scan.submitted))
            sql.append(", last_error = ")
            sql.append(.text(scan.error))
            sql.append(", scans = scans + 1 WHERE workspace_id = ")
            sql.append(.text(workspace))
            sql.append(" AND name = ")
            sql.append(.text(name))
            sql.append(" AND lease_owner = ")
            sql.append(.text(node))
            sql.append(" RETURNING name")
            return try await transaction.rows(sql).count == 1
        }
    }

    /// The detectors claimed so far (see ``DetectorStore/detectors(workspace:)``).
    public func detectors(workspace: String?) async throws -> [DetectorStatus] {
        try await autocommit { transaction in
            var sql = SQL("SELECT * FROM detectors WHERE true")
            sql.append(workspace: workspace)
            sql.append(" ORDER BY workspace_id, name")
            return try await transaction.rows(sql).map { row in
                let found = try row["last_found"].decode(Int?.self)
                return DetectorStatus(
                    name: try row["name"].decode(String.self), workspaceID: try row["workspace_id"].decode(String.self),
                    lastScanAt: try row["last_scan_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
                    lastScan: try found.map {
                        DetectorScan(found: $0, submitted: try row["last_submitted"].decode(Int.self), error: try row["last_error"].decode(String?.self))
                    },
                    nextScanAt: try row["next_scan_at"].decode(Double?.self).map(Date.init(timeIntervalSince1970:)),
                    scans: try row["scans"].decode(Int.self), scanningNode: try row["lease_owner"].decode(String?.self))
            }
        }
    }
}
