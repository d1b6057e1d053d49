import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// Every route of the table is answered, and answered as the OpenAPI document says: the harness
/// checks each recorded answer against the document when the daemon stops (as it does for every
/// API test), and this test makes sure no route goes without one.
@Suite("Route coverage")
struct RouteCoverageTests {
    /// A detector that always finds one item, worked by `echo`.
    struct Found: WorkDetector {
        let agent = "echo"
        func detect() async throws -> [WorkItem] { [WorkItem(key: "k1")] }
        func buildPrompt(for item: WorkItem) -> String { item.key }
    }

    @Test("every route of the table answers a success, and every answer is the document's")
    func everyRoute() async throws {
        let handlers = APIServerTests.handlers.merging(["ask": { _, _ in .waitingForInput("Which branch?") }]) { current, _ in current }
        let workflows = WorkflowRegistry()
        try workflows.register("flow") { flow in
            let count = try await flow.step("count") { flow.input.count }
            return try await flow.step("say") { "\(count) characters" }
        }
        let detectors = DetectorRegistry(workflows: workflows)
        try detectors.register("found", Found())
        try await APIHarness.with(handlers: handlers, workflows: workflows, detectors: detectors) { api in
            for path in ["/healthz", "/readyz", "/openapi.json"] { #expect(try await api.request(.GET, path, token: nil).status == 200) }

            let done = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"hi"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(done)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks").status == 200)
            #expect(try await api.request(.GET, "/v1/tasks/\(done)/events").status == 200)
            #expect(try await api.request(.GET, "/v1/tasks/\(done)/runs").status == 200)
            #expect(try await api.request(.GET, "/v1/tasks/\(done)/children").status == 200)
            // A run in a worktree: its diff and an artifact.
            let repo = try await IsolationAPITests.makeRepository()
            defer { try? FileManager.default.removeItem(atPath: repo) }
            let coder = #"{"name":"coder","runner":"command","config":{"command":["/bin/sh","-c","echo x > out.txt"]},"repo":"\#(repo)","artifacts":["out.txt"]}"#
            #expect(try await api.request(.POST, "/v1/agents", body: coder).status == 201)
            let coded = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"coder","prompt":"go"}"#).json?["id"]?.stringValue)
            #expect(try await eventually(timeout: .seconds(30)) { try await api.request(.GET, "/v1/tasks/\(coded)").json?["state"] == "done" })
            #expect(try await api.request(.GET, "/v1/tasks/\(coded)/diff").status == 200)
            #expect(try await api.request(.GET, "/v1/tasks/\(coded)/artifacts").status == 200)
            #expect(try await api.request(.GET, "/v1/tasks/\(coded)/artifacts/out.txt").body == "x\n")
            let flow = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"flow","prompt":"four"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(flow)").json?["result"] == "4 characters" })
            let steps = try await api.request(.GET, "/v1/tasks/\(flow)/steps")
            #expect(steps.json?["steps"]?.arrayValue?.map { [$0["name"], $0["state"], $0["output"]] } == [["count", "completed", 4], ["say", "completed", "4 characters"]], "\(steps.body)")
            #expect(try await api.request(.POST, "/v1/tasks/\(done)/archive").status == 200)

            let later = try #require(try await api.request(
                .POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"later","delay":3600}"#).json?["id"]?.stringValue)
            #expect(try await api.request(.PATCH, "/v1/tasks/\(later)", body: #"{"priority":1}"#).status == 200)
            for action in ["pause", "resume", "cancel", "retry"] {
                let answer = try await api.request(.POST, "/v1/tasks/\(later)/\(action)")
                #expect(answer.status == 200, "\(action): \(answer.body)")
            }
            let held = try #require(try await api.request(
                .POST, "/v1/tasks", body: #"{"agent":"echo","prompt":"held","delay":3600}"#).json?["id"]?.stringValue)
            #expect(try await api.request(.POST, "/v1/tasks/\(held)/inputs", body: #"{"kind":"message","text":"also"}"#).status == 201)
            #expect(try await api.request(.GET, "/v1/tasks/\(held)/inputs").status == 200)
            #expect(try await api.request(.POST, "/v1/tasks/\(held)/drop", body: #"{"reason":"tour over"}"#).status == 200)
            let asking = try #require(try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ask","prompt":"?"}"#).json?["id"]?.stringValue)
            #expect(try await eventually { try await api.request(.GET, "/v1/tasks/\(asking)").json?["state"] == "waiting" })
            #expect(try await api.request(.POST, "/v1/tasks/\(asking)/wake").status == 200)
            #expect(try await api.request(.GET, "/v1/status").status == 200)
            let detectorList = try await api.request(.GET, "/v1/detectors")
            #expect(detectorList.json?["detectors"]?.arrayValue?.map { $0["name"] } == ["found"], "\(detectorList.body)")
            let scan = try await api.request(.POST, "/v1/detectors/found/scan?force=true")
            #expect(scan.json?["scanned"] == true, "\(scan.body)")
            let signal = try await api.request(.POST, "/v1/detectors/found/signal", body: #"{"items":[{"key":"k2"}]}"#)
            #expect(signal.json?["submitted"] == 1, "\(signal.body)")
            let feed = try await api.request(.GET, "/v1/events")
            #expect(feed.status == 200 && feed.json?["next_after"] != 0, "\(feed.body)")

            #expect(try await api.request(.GET, "/v1/agents").status == 200)
            #expect(try await api.request(.POST, "/v1/agents", body: #"{"name":"tour","runner":"builtin"}"#).status == 201)
            #expect(try await api.request(.GET, "/v1/agents/tour").status == 200)
            #expect(try await api.request(.PUT, "/v1/agents/tour", body: #"{"runner":"builtin","concurrency":2}"#).status == 200)
            #expect(try await api.request(.POST, "/v1/agents/tour/unpark").status == 200)
            #expect(try await api.request(.GET, "/v1/agents/echo/stats").status == 200)
            #expect(try await api.request(.DELETE, "/v1/agents/tour").status == 204)

            #expect(try await api.request(.PUT, "/v1/lanes/tour", body: #"{"concurrency":2}"#).status == 200)
            #expect(try await api.request(.GET, "/v1/lanes").status == 200)
            #expect(try await api.request(.DELETE, "/v1/lanes/tour").status == 204)

            let checkpoint = try #require(try await api.request(
                .POST, "/v1/checkpoints", body: #"{"schema_version":1,"agent":"echo","phase":"p"}"#).json?["id"]?.stringValue)
            #expect(try await api.request(.GET, "/v1/checkpoints").status == 200)
            #expect(try await api.request(.GET, "/v1/checkpoints/\(checkpoint)").status == 200)
            #expect(try await api.request(.POST, "/v1/checkpoints/\(checkpoint)/resolve").status == 200)
            #expect(try await api.request(.GET, "/v1/checkpoints/quarantine").status == 200)
            #expect(try await api.request(.POST, "/v1/checkpoints/cleanup", body: #"{"older_than_days":1}"#).status == 200)

            #expect(try await api.request(.PUT, "/v1/agents/echo/memories/k", body: #"{"summary":"s"}"#).status == 200)
            #expect(try await api.request(.GET, "/v1/agents/echo/memories").status == 200)
            #expect(try await api.request(.GET, "/v1/agents/echo/memories/k").status == 200)
            #expect(try await api.request(.DELETE, "/v1/agents/echo/memories/k").status == 204)

            let schedule = #"{"name":"tour","cron":"@daily","task":{"agent":"echo","prompt":"tour"}}"#
            #expect(try await api.request(.POST, "/v1/schedules", body: schedule).status == 201)
            #expect(try await api.request(.GET, "/v1/schedules").status == 200)
            #expect(try await api.request(.GET, "/v1/schedules/tour").status == 200)
            #expect(try await api.request(.PUT, "/v1/schedules/tour", body: schedule).status == 200)
            #expect(try await api.request(.POST, "/v1/schedules/tour/pause").status == 200)
            #expect(try await api.request(.POST, "/v1/schedules/tour/resume").status == 200)
            #expect(try await api.request(.POST, "/v1/schedules/tour/trigger").status == 201)
            #expect(try await api.request(.DELETE, "/v1/schedules/tour").status == 204)

            #expect(try await api.request(.POST, "/v1/events", body: #"{"task_id":"\#(done)","type":"tour_stop"}"#).status == 202)
            #expect(try await api.request(.GET, "/v1/hooks/poll?consumer=tour").status == 200)
            #expect(try await api.request(.POST, "/v1/hooks/ack", body: #"{"consumer":"tour","seq":1}"#).status == 200)
            #expect(try await api.request(.GET, "/v1/hooks/consumers").status == 200)
            #expect(try await api.request(.DELETE, "/v1/hooks/consumers/tour").status == 204)
            #expect(try await api.request(.POST, "/v1/webhooks", body: #"{"name":"tour","url":"http://127.0.0.1:9/h","secret":"s","enabled":false}"#).status == 201)
            #expect(try await api.request(.GET, "/v1/webhooks").status == 200)
            #expect(try await api.request(.GET, "/v1/webhooks/tour").status == 200)
            #expect(try await api.request(.PUT, "/v1/webhooks/tour", body: #"{"url":"http://127.0.0.1:9/h","secret":"s","enabled":false,"timeout":1}"#).status == 200)
            #expect(try await api.request(.GET, "/v1/webhooks/tour/deliveries").status == 200)
            // Nothing answers on port 9 (refused, or cut off at the 1 s timeout): the attempt is answered, dead.
            #expect(try await api.request(.POST, "/v1/webhooks/tour/redeliver", body: #"{"seq":1}"#).json?["outcome"] == "dead")
            #expect(try await api.request(.DELETE, "/v1/webhooks/tour").status == 204)

            #expect(try await api.request(.POST, "/v1/workspaces", body: #"{"id":"tour"}"#).status == 201)
            #expect(try await api.request(.GET, "/v1/workspaces").status == 200)
            let token = try #require(try await api.request(
                .POST, "/v1/tokens", body: #"{"role":"member","workspace":"tour"}"#).json?["id"]?.stringValue)
            #expect(try await api.request(.GET, "/v1/tokens").status == 200)
            #expect(try await api.request(.DELETE, "/v1/tokens/\(token)").status == 204)

            let routes = Set(APIServer.routes.map { "\($0.method.rawValue) \($0.path)" })
            #expect(api.recorder.routesAnswered == routes, "not answered: \(routes.subtracting(api.recorder.routesAnswered).sorted())")
        }
    }

    @Test("the recorder's check fails an answer the document does not describe")
    func recorderCatchesDrift() throws {
        let document = OpenAPIDocument.document
        let good = ExchangeRecorder.Exchange(
            method: "GET", path: "/healthz", status: 200, contentType: "application/json; charset=utf-8", body: #"{"status":"ok"}"#)
        #expect(ExchangeRecorder.violations(of: good, in: document).isEmpty)
        var extra = good
        extra.body = #"{"status":"ok","uptime":3}"#
        #expect(ExchangeRecorder.violations(of: extra, in: document) == ["GET /healthz → 200: $: the member uptime is not documented"])
        var status = good
        status.status = 418
        #expect(ExchangeRecorder.violations(of: status, in: document).count == 1)
        var error = good
        error.path = "/v1/agents/x"
        error.method = "PATCH"
        error.status = 405
        error.body = #"{"error":{"code":"method_not_allowed","message":"m"}}"#
        #expect(ExchangeRecorder.violations(of: error, in: document) == ["PATCH /v1/agents/x → 405: $.error: the required member field is missing"])
        #expect(ExchangeRecorder.route("GET", "/v1/checkpoints/quarantine") == "/v1/checkpoints/quarantine")
        #expect(ExchangeRecorder.route("GET", "/v1/checkpoints/abc") == "/v1/checkpoints/{id}")
    }
}
