import Foundation
import Nightshift

/// Makes a store's schedules match the ones nightshift.toml declares (`[schedules.NAME]`, in the
/// default workspace): `serve` runs it once at start, before the engine.
///
/// A declared schedule is created (source `config`), or replaced by name when what it is changed;
/// one that did not change is left alone, so its next fire time (and a time missed while the
/// daemon was down) stays. A schedule of source `config` that the file no longer declares is
/// deleted. Schedules made through the API are untouched, unless the file declares one of the
/// same name: the file's definition replaces it (its source stays `api`).
public struct ScheduleReconciliation: Sendable, Hashable {
    /// The names of the schedules created.
    public var created: [String] = []
    /// The names of the schedules replaced.
    public var replaced: [String] = []
    /// The names (or ids) of the schedules deleted.
    public var deleted: [String] = []

    /// Nothing done.
    public init() {}

    /// The source of the schedules a config file declares.
    public static let source = "config"

    /// Reconciles `store`'s schedules in the default workspace with `declared`, at `now`.
    public static func apply(_ declared: [NewSchedule], to store: any ScheduleStore, now: Date) async throws -> ScheduleReconciliation {
        var result = ScheduleReconciliation()
        let workspace = Workspace.defaultID
        let existing = try await store.schedules(workspace: workspace)
        for spec in declared {
            var spec = spec
            spec.workspaceID = workspace
            guard let name = spec.name else { continue }
            if let current = existing.first(where: { $0.spec.name == name }) {
                guard current.spec != spec else { continue }
                _ = try await store.replaceSchedule(current.id, with: spec, now: now, workspace: workspace)
                result.replaced.append(name)
            } else {
                _ = try await store.createSchedule(spec, source: source, now: now)
                result.created.append(name)
            }
        }
        let names = Set(declared.compactMap(\.name))
        for schedule in existing where schedule.source == source && !names.contains(schedule.spec.name ?? "") {
            if try await store.deleteSchedule(schedule.id, workspace: workspace) { result.deleted.append(schedule.spec.name ?? schedule.id) }
        }
        return result
    }
}
