import Hummingbird
import Nightshift

extension APIServer {
    /// `GET /v1/lanes`: the workspace's lanes that have a limit or running tasks.
    func listLanes(_ context: APIRequestContext) async throws -> Response {
        Self.reply(WireLaneList(lanes: try await scope(context).lanes().map(WireLane.init)))
    }

    /// `PUT /v1/lanes/{name}`: sets the lane's limit (`{"concurrency":N}`) or removes it
    /// (`{"concurrency":null}`); answers the lane.
    func putLane(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let name = try Self.laneName(context)
        let write = try WireLaneWrite(required: try await Self.body(request))
        let scope = try scope(context)
        try await scope.setLaneLimit(name, concurrency: write.concurrency)
        return Self.reply(WireLane(try await scope.lane(named: name)))
    }

    /// `DELETE /v1/lanes/{name}`: removes the lane's limit; 404 when it had none.
    func deleteLane(_ context: APIRequestContext) async throws -> Response {
        let name = try Self.laneName(context)
        guard try await scope(context).removeLaneLimit(name) else {
            throw APIFailure(.notFound, code: "not_found", message: "lane '\(name)' has no limit", field: "name")
        }
        return Response(status: .noContent)
    }

    /// The lane's name in the path, checked (422 naming `name`).
    private static func laneName(_ context: APIRequestContext) throws -> String {
        let name = try parameter(context, "name")
        try Lane.validate(name: name, field: "name")
        return name
    }
}
