import Foundation
import Nightshift
import NightshiftDaemon
import Testing

/// The API's writes go through the engine, so each rings its change feed.
@Suite("API writes through the engine")
struct EngineWritesTests {
    @Test("saving, resolving and cleaning up checkpoints, writing and deleting memories ring the change feed")
    func sessionWritesRing() async throws {
        try await APIHarness.with(handlers: APIServerTests.handlers) { api in
            /// Answers the status of `request`, and whether the change feed rang during it.
            func rings(_ method: HTTPMethodName, _ path: String, body: String? = nil) async throws -> (Int, Bool) {
                let before = api.engine.changes.generation
                let status = try await api.request(.init(rawValue: method.rawValue), path, body: body).status
                return (status, api.engine.changes.generation > before)
            }
            let saved = try await api.request(.POST, "/v1/checkpoints", body: #"{"schema_version":1,"agent":"echo","phase":"p"}"#)
            let id = try #require(saved.json?["id"]?.stringValue)
            #expect(try await rings(.post, "/v1/checkpoints", body: #"{"schema_version":1,"agent":"echo","phase":"q"}"#) == (201, true))
            #expect(try await rings(.post, "/v1/checkpoints/\(id)/resolve") == (200, true))
            #expect(try await rings(.post, "/v1/checkpoints/cleanup", body: #"{"older_than_days":1}"#) == (200, true))
            #expect(try await rings(.put, "/v1/agents/echo/memories/k", body: #"{"summary":"s"}"#) == (200, true))
            #expect(try await rings(.delete, "/v1/agents/echo/memories/k") == (204, true))
            // A read does not ring.
            #expect(try await rings(.get, "/v1/checkpoints/\(id)") == (200, false))
        }
    }

    enum HTTPMethodName: String {
        case get = "GET", post = "POST", put = "PUT", delete = "DELETE"
    }
}
