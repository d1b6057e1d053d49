import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// The API's writes go through the engine (the workspace scope calls it), so each is stamped by
/// the engine's clock; a handler that wrote to the store itself would stamp the real time.
@Suite("API writes through the engine")
struct EngineWritesTests {
    @Test("checkpoints resolved and memories written through the API take the engine's time")
    func sessionWritesGoThroughTheEngine() async throws {
        let clock = ManualClock()
        try await APIHarness.with(handlers: APIServerTests.handlers, clock: clock) { api in
            let engineTime = JSONTime.json(clock.now)
            let saved = try await api.request(.POST, "/v1/checkpoints", body: #"{"schema_version":1,"agent":"echo","phase":"p"}"#)
            let id = try #require(saved.json?["id"]?.stringValue)
            let resolved = try await api.request(.POST, "/v1/checkpoints/\(id)/resolve")
            #expect(resolved.status == 200 && resolved.json?["status"] == "resolved")
            #expect(resolved.json?["updated_at"] == engineTime, "\(resolved.body)")
            let memory = try await api.request(.PUT, "/v1/agents/echo/memories/k", body: #"{"summary":"s"}"#)
            #expect(memory.status == 200 && memory.json?["updated_at"] == engineTime, "\(memory.body)")
            // The engine's clock is years from the real one: the stamps cannot be the real time.
            #expect(abs(clock.now.timeIntervalSinceNow) > 86_400)
        }
    }
}
