import AsyncHTTPClient
import Foundation
import Nightshift
import NIOCore

extension Bench {
    /// D1: the dashboard's task list with `tasks` tasks in the store: the first page (`GET /`),
    /// a filtered page (a state and an agent) and a text search, each `requests` times through
    /// HTTP on loopback. The server time is the page's own `Server-Timing` (from the request
    /// reaching the handler to the page drawn: the store's keyset reads, the counts and the HTML);
    /// the round trip adds the loopback and the client.
    func d1(tasks: Int, requests: Int = 200) async throws -> [(String, JSONValue)] {
        try await withStore { bench in
            let store = bench.store
            try await Self.queue(tasks, in: store) { index in
                NewTask(
                    agent: "noop", prompt: "dashboard task \(index): summarise yesterday's incidents", priority: index % 10,
                    labels: index % 3 == 0 ? ["nightly"] : [])
            }
            let engine = engine(store, slots: 1) { _, _ in .succeeded(nil) }
            let figures = try await serving(engine, withEngine: false) { base in
                var figures: [(String, JSONValue)] = []
                for (name, path) in [("first_page", "/"), ("filtered", "/?state=queued&agent=noop&label=nightly"), ("text", "/?q=task+42")] {
                    var server: [Double] = []
                    var roundTrip: [Double] = []
                    for _ in 0..<requests {
                        let start = ContinuousClock.now
                        server.append(try await Self.dashboardPage(base + path))
                        roundTrip.append((ContinuousClock.now - start).seconds * 1000)
                    }
                    server.sort()
                    roundTrip.sort()
                    figures += [
                        ("\(name)_server_ms_p50", .double(Self.round(Self.percentile(server, 0.50)))),
                        ("\(name)_server_ms_p99", .double(Self.round(Self.percentile(server, 0.99)))),
                        ("\(name)_round_trip_ms_p50", .double(Self.round(Self.percentile(roundTrip, 0.50)))),
                    ]
                }
                return figures
            }
            return [("workload", "D1"), ("store", .string(storeName)), ("tasks", .int(Int64(tasks))), ("requests", .int(Int64(requests)))]
                + figures + [bench.durability]
        }
    }

    /// Gets a dashboard page with the bench token; answers its `Server-Timing` in milliseconds.
    private static func dashboardPage(_ url: String) async throws -> Double {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 16 << 20)
        guard response.status == .ok, let timing = response.headers.first(name: "Server-Timing"),
              let milliseconds = timing.split(separator: "=").last.flatMap({ Double($0) })
        else {
            throw NightshiftError(.storeUnavailable, "bench: GET \(url) answered \(response.status) without a Server-Timing")
        }
        return milliseconds
    }
}
