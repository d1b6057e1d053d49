import Nightshift

/// A lane as the API answers it: its name, its limit and how many of its tasks run.
public struct WireLane: WireValue, Hashable {
    /// The lane's name.
    public var name: String
    /// At most this many of the workspace's tasks in the lane run at once; `nil` for no limit.
    public var concurrency: Int?
    /// How many of the workspace's tasks in the lane are running.
    public var running: Int

    /// The wire form of `lane`.
    public init(_ lane: Lane) {
        name = lane.name
        concurrency = lane.concurrency
        running = lane.running
    }
}

/// The answer of `GET /v1/lanes`.
public struct WireLaneList: WireValue, Hashable {
    /// The lanes that have a limit or running tasks, by name.
    public var lanes: [WireLane]

    /// A list of `lanes`.
    public init(lanes: [WireLane]) {
        self.lanes = lanes
    }
}

/// The body of `PUT /v1/lanes/{name}`: the lane's limit, or `null` to remove it.
public struct WireLaneWrite: WireRequest, Hashable {
    /// At most this many of the lane's tasks run at once (≥ 1); `nil` removes the limit.
    public var concurrency: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case concurrency
    }

    /// A limit of `concurrency` (`nil`: none).
    public init(concurrency: Int?) {
        self.concurrency = concurrency
    }

    /// Reads a body that must name `concurrency` (an integer ≥ 1, or `null`).
    init(required body: JSONValue) throws {
        try self.init(body: body)
        guard body["concurrency"] != nil else {
            throw NightshiftError(.invalidInput, "is required (an integer ≥ 1, or null to remove the limit)", field: "concurrency")
        }
        if let concurrency { try Lane.validate(concurrency: concurrency) }
    }
}
