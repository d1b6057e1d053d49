import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

/// The HTTP layer's own answers: methods, headers, the parser's refusals, readiness.
@Suite("HTTP edges")
struct HTTPEdgeTests {
    @Test("a wrong method (OPTIONS and TRACE too) gets 405 with Allow and the JSON error; the bearer scheme is case-insensitive")
    func methodsAndScheme() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let wrong = try await api.request(.DELETE, "/v1/status")
            #expect(wrong.status == 405, "\(wrong)")
            #expect(wrong.json?["error"]?["code"] == "method_not_allowed")
            let raw = try RawClient(port: api.port)
            raw.send("PUT /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            _ = await raw.readUntilClosed()
            #expect(raw.received.contains("\r\nAllow: GET, POST\r\n") || raw.received.contains("\r\nAllow: POST, GET\r\n"), "\(raw.received)")
            for method in ["OPTIONS", "TRACE"] {
                let raw = try RawClient(port: api.port)
                raw.send("\(method) /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                _ = await raw.readUntilClosed()
                #expect(raw.received.hasPrefix("HTTP/1.1 405") && raw.received.contains("\r\nAllow: GET\r\n"), "\(method): \(raw.received)")
            }
            let unknown = try await api.request(.GET, "/v1/nothing")
            #expect(unknown.status == 404)
            for scheme in ["bearer", "BEARER", "Bearer"] {
                let answer = try await api.request(.GET, "/v1/status", token: nil, headers: [("Authorization", "\(scheme) \(APIHarness.token)")])
                #expect(answer.status == 200, "\(scheme): \(answer.status)")
            }
        }
    }

    @Test("path parameters are percent-decoded")
    func percentDecoded() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let created = try await api.request(.PUT, "/v1/agents/my-agent", body: #"{"runner":"command","config":{"command":["true"]}}"#)
            #expect(created.status == 200 || created.status == 201, "\(created)")
            let found = try await api.request(.GET, "/v1/agents/my%2Dagent")
            #expect(found.status == 200 && found.json?["name"] == "my-agent", "\(found)")
            let refused = try await api.request(.PUT, "/v1/agents/caf%C3%A9", body: #"{"runner":"command","config":{"command":["true"]}}"#)
            #expect(refused.status == 422 && refused.json?["error"]?["field"] == "name", "\(refused)")
            let dots = try await api.request(.PUT, "/v1/agents/%2E%2E", body: #"{"runner":"command","config":{"command":["true"]}}"#)
            #expect(dots.status == 422, "\(dots)")
        }
    }

    @Test("a delay beyond a year is refused with 422")
    func delayCap() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded(nil) }]) { api in
            let huge = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x","delay":1e300}"#)
            #expect(huge.status == 422 && huge.json?["error"]?["field"] == "delay", "\(huge)")
            let year = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x","delay":31536000}"#)
            #expect(year.status == 201, "\(year)")
        }
    }

    @Test("bad header bytes and oversized heads get the JSON error; Expect: 100-continue is answered")
    func parserErrorsAndContinue() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            let bad = try RawClient(port: api.port)
            bad.send("GET /healthz HTTP/1.1\r\nHost: x\r\nBad\u{1}Header: y\r\n\r\n")
            #expect(await bad.readUntilClosed())
            #expect(bad.received.hasPrefix("HTTP/1.1 400"), "\(bad.received)")
            #expect(bad.received.contains(#""code":"bad_request""#), "\(bad.received)")

            let big = try RawClient(port: api.port)
            big.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n")
            #expect(await big.readUntilClosed())
            #expect(big.received.hasPrefix("HTTP/1.1 431"), "\(big.received.prefix(200))")
            #expect(big.received.contains(#""code":"bad_request""#))

            let waiting = try RawClient(port: api.port)
            let body = #"{"runner":"command","config":{"command":["true"]}}"#
            waiting.send("PUT /v1/agents/cont HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(APIHarness.token)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            // The client sends its body only once told to continue.
            #expect(await waiting.readUntil("\r\n\r\n").hasPrefix("HTTP/1.1 100 Continue"), "\(waiting.received)")
            waiting.send(body)
            #expect(await waiting.readUntilClosed())
            #expect(waiting.received.contains("HTTP/1.1 200") || waiting.received.contains("HTTP/1.1 201"), "\(waiting.received)")
        }
    }

    @Test("readyz fails while the store cannot write, and recovers")
    func readinessWrites() async throws {
        try await APIHarness.with(handlers: [:]) { api in
            #expect(try await api.request(.GET, "/readyz", token: nil).status == 200)
            // Another process holds SQLite's write lock until its stdin closes: reads go on, writes wait.
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            holder.arguments = ["python3", "-c", """
                import sqlite3, sys
                c = sqlite3.connect(sys.argv[1], isolation_level=None)
                c.execute("BEGIN IMMEDIATE")
                print("locked", flush=True)
                sys.stdin.read()
                c.execute("COMMIT")
                """, api.databasePath]
            let (input, output) = (Pipe(), Pipe())
            holder.standardInput = input
            holder.standardOutput = output
            try ProcessLaunch.run(holder)
            defer { if holder.isRunning { holder.terminate() } }
            let said = await Task.detached { String(decoding: output.fileHandleForReading.availableData, as: UTF8.self) }.value
            try #require(said.hasPrefix("locked"), "the lock holder started: \(said)")
            let locked = try await api.request(.GET, "/readyz", token: nil)
            #expect(locked.status == 503, "\(locked)")
            #expect(locked.json?["error"]?["code"] == "store_unavailable")
            #expect(try await api.request(.GET, "/healthz", token: nil).status == 200, "alive, not ready")
            try input.fileHandleForWriting.close()
            #expect(try await eventually(timeout: .seconds(15)) { try await api.request(.GET, "/readyz", token: nil).status == 200 })
        }
    }
}
