import Nightshift

/// The work detector routes of the OpenAPI document.
extension OpenAPIDocument {
    private static let detectorName = parameter(
        "name", in: "path", ["type": "string", "minLength": 1, "maxLength": 64], "The detector's name: \(TextRules.agentNameRule)")
    private static let noDetector: Failures = ["404": "No detector of that name is registered on this node for the workspace (`not_found`)"]

    /// The paths of the detector routes.
    static let detectorPaths: [String: [String: JSONValue]] = [
        "/v1/detectors": [
            "get": operation(
                "The workspace's work detectors registered on this node, by name, with their last scans",
                ["200": answer("Detectors", "DetectorList")], failures: [v1Failures]),
        ],
        "/v1/detectors/{name}/scan": [
            "post": operation(
                "Scan now if a scan is due (force=true: whenever the last was) and no node is scanning the detector; its items become tasks, deduplicated by key",
                ["200": answer("What the scan found; scanned is false when none was due or another node scans", "DetectorScan")],
                failures: [v1Failures, noDetector, ["422": "force is not true or false (`invalid_input`, field `force`)"]],
                parameters: [
                    detectorName,
                    parameter("force", in: "query", ["type": "string", "enum": ["true", "false"]], "Scan even if the interval has not passed"),
                ]),
        ],
        "/v1/detectors/{name}/signal": [
            "post": operation(
                "Hand the detector items without a scan: each becomes a task unless its key's task is live",
                ["200": answer("What became tasks", "DetectorScan")],
                failures: [v1Failures, noDetector], parameters: [detectorName], body: "DetectorSignal"),
        ],
    ]

    /// The schemas of the detector routes.
    static let detectorSchemas: [String: JSONValue] = [
        "Detector": shape([
            "name": "string", "agent": "string", "interval_s": "number", "scans": "integer", "last_scan_at": "time?",
            "last_found": "integer|null", "last_submitted": "integer|null", "last_error": "string|null", "next_scan_at": "time?",
            "scanning_node": "string|null",
        ]),
        "DetectorList": list("detectors", of: "Detector"),
        "DetectorScan": shape(["scanned": "boolean", "found": "integer", "submitted": "integer", "error": "string|null"]),
        "DetectorSignal": input([
            "items": [
                "type": "array",
                "description": "Work items: {key (1 to 200 bytes), priority (integer, default 0), payload (any JSON, default {})}",
                "items": ["description": "An object: key (1 to 200 bytes, required), priority (an integer), payload (any JSON)"],
            ],
        ], required: ["items"]),
    ]
}
