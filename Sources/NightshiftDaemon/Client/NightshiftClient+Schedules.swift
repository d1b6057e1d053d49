import Foundation
import Nightshift

extension NightshiftClient {
    // MARK: Schedules

    /// `GET /v1/schedules`: the workspace's schedules, by name then id.
    public func schedules() async throws -> [WireSchedule] {
        try await fetch(.GET, "/v1/schedules", as: WireScheduleList.self).schedules
    }

    /// `GET /v1/schedules/{id}`: one schedule, by id or name.
    public func schedule(_ key: String) async throws -> WireSchedule {
        try await fetch(.GET, "/v1/schedules/\(Self.escapePath(key))")
    }

    /// `POST /v1/schedules`: creates a schedule (``APIError`` 409 `conflict` if one has its name); answers it.
    public func createSchedule(_ schedule: WireScheduleWrite) async throws -> WireSchedule {
        try await fetch(.POST, "/v1/schedules", body: schedule.json)
    }

    /// `PUT /v1/schedules/{id}`: replaces the schedule with this id or name; answers it.
    public func replaceSchedule(_ key: String, with schedule: WireScheduleWrite) async throws -> WireSchedule {
        try await fetch(.PUT, "/v1/schedules/\(Self.escapePath(key))", body: schedule.json)
    }

    /// `POST /v1/schedules/{id}/pause` (or `resume` when `paused` is false); answers the schedule.
    public func pauseSchedule(_ key: String, paused: Bool = true) async throws -> WireSchedule {
        try await fetch(.POST, "/v1/schedules/\(Self.escapePath(key))/\(paused ? "pause" : "resume")")
    }

    /// `DELETE /v1/schedules/{id}`: deletes the schedule (its tasks stay).
    public func deleteSchedule(_ key: String) async throws {
        _ = try await send(.DELETE, "/v1/schedules/\(Self.escapePath(key))")
    }

    /// `POST /v1/schedules/{id}/trigger`: submits the schedule's task now; a repeat with the same
    /// `idempotencyKey` answers the first one's task (``Submitted/created`` false).
    public func triggerSchedule(_ key: String, idempotencyKey: String? = nil) async throws -> Submitted {
        let headers = idempotencyKey.map { [("Idempotency-Key", $0)] } ?? []
        let (status, body) = try await send(.POST, "/v1/schedules/\(Self.escapePath(key))/trigger", headers: headers)
        return Submitted(task: try Self.read(WireTask.self, body, "POST /v1/schedules/{id}/trigger"), created: status == 201)
    }
}
