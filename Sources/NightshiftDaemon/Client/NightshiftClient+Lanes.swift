import Nightshift

extension NightshiftClient {
    // MARK: Lanes

    /// `GET /v1/lanes`: the lanes that have a limit or running tasks, by name.
    public func lanes() async throws -> [WireLane] {
        try await fetch(.GET, "/v1/lanes", as: WireLaneList.self).lanes
    }

    /// `PUT /v1/lanes/{name}`: sets the lane's concurrency limit (`nil` removes it); answers the lane.
    public func setLane(named name: String, concurrency: Int?) async throws -> WireLane {
        try await fetch(.PUT, "/v1/lanes/\(Self.escapePath(name))", body: WireLaneWrite(concurrency: concurrency).json)
    }

    /// `DELETE /v1/lanes/{name}`: removes the lane's limit (``APIError`` 404 when it has none).
    public func deleteLane(named name: String) async throws {
        _ = try await send(.DELETE, "/v1/lanes/\(Self.escapePath(name))")
    }
}
