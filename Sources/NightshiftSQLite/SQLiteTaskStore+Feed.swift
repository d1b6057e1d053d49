import GRDB
import Nightshift

extension SQLiteTaskStore {
    /// The seq of the last hook event committed, 0 for none.
    public func lastHookSeq() async throws -> Int64 {
        try await read { db in
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(seq), 0) FROM hook_events")) ?? 0
        }
    }
}
