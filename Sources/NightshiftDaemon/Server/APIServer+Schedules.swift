import Foundation
import Hummingbird
import Nightshift

/// The schedule routes (`/v1/schedules…`), served through the request's workspace: a path's
/// `{id}` is a schedule's id or its name there.
extension APIServer {
    func createSchedule(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let new = try WireScheduleWrite.read(body: try await Self.body(request)).schedule()
        return Self.reply(WireSchedule(try await scope(context).createSchedule(new)), status: .created)
    }

    func listSchedules(_ context: APIRequestContext) async throws -> Response {
        Self.reply(WireScheduleList(schedules: try await scope(context).schedules().map(WireSchedule.init)))
    }

    func schedule(_ context: APIRequestContext) async throws -> Response {
        Self.reply(WireSchedule(try await storedSchedule(context)))
    }

    func replaceSchedule(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let write = try WireScheduleWrite.read(body: try await Self.body(request))
        let current = try await storedSchedule(context)
        let new = try write.schedule(currentName: current.spec.name)
        return Self.reply(WireSchedule(try await scope(context).replaceSchedule(current.id, with: new)))
    }

    func pauseSchedule(_ paused: Bool, _ context: APIRequestContext) async throws -> Response {
        Self.reply(WireSchedule(try await scope(context).pauseSchedule(try Self.parameter(context, "id"), paused: paused)))
    }

    func deleteSchedule(_ context: APIRequestContext) async throws -> Response {
        let key = try Self.parameter(context, "id")
        guard try await scope(context).deleteSchedule(key) else { throw NightshiftError.scheduleNotFound(key) }
        return Response(status: .noContent)
    }

    func triggerSchedule(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let key = try Self.idempotencyKey(request)
        let result = try await scope(context).triggerSchedule(try Self.parameter(context, "id"), idempotencyKey: key)
        return Self.reply(WireTask(result.task), status: result.inserted ? .created : .ok)
    }

    private func storedSchedule(_ context: APIRequestContext) async throws -> Schedule {
        let key = try Self.parameter(context, "id")
        guard let schedule = try await scope(context).schedule(key) else { throw NightshiftError.scheduleNotFound(key) }
        return schedule
    }
}
