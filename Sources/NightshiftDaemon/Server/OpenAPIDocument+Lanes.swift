import Nightshift

/// The lane routes of the OpenAPI document: the lanes' concurrency limits.
extension OpenAPIDocument {
    private static let laneName = parameter(
        "name", in: "path", ["type": "string", "minLength": 1],
        "Lane name (percent-encoded): as tasks give it, \(Lane.nameRule)")

    /// What a lane route answers to a bad name.
    private static let laneNameFailure: Failures = ["422": "The lane's name is not one a task may give (`invalid_input`, field `name`)"]

    /// The paths of the lane routes.
    static let lanePaths: [String: [String: JSONValue]] = [
        "/v1/lanes": [
            "get": operation(
                "The workspace's lanes that have a limit or running tasks, by name",
                ["200": answer("Lanes", "LaneList")], failures: [v1Failures]),
        ],
        "/v1/lanes/{name}": [
            "put": operation(
                "Set a lane's concurrency limit, or remove it with null", ["200": answer("The lane", "Lane")],
                failures: [v1Failures, percentFailure, laneNameFailure], parameters: [laneName], body: "LaneWrite"),
            "delete": operation(
                "Remove a lane's concurrency limit", ["204": answer("Removed", nil)],
                failures: [v1Failures, laneNameFailure, pathFailures("limit on the lane")], parameters: [laneName]),
        ],
    ]

    /// The schemas of the lane routes.
    static let laneSchemas: [String: JSONValue] = [
        "Lane": shape(["name": "string", "running": "integer"], [
            "concurrency": [
                "type": ["integer", "null"], "minimum": 1,
                "description": "At most this many of the workspace's tasks in the lane run at once, on all nodes; null: no limit",
            ],
        ]),
        "LaneList": list("lanes", of: "Lane"),
        "LaneWrite": input([
            "concurrency": ["type": ["integer", "null"], "minimum": 1, "description": "The limit; null removes it"],
        ], required: ["concurrency"]),
    ]
}
