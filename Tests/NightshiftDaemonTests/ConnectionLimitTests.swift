import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients without a token cannot starve the daemon: unfinished request heads and idle
/// keep-alive connections are closed, and the connection cap leaves the engine its descriptors.
@Suite("Connection limits", .timeLimit(.minutes(1)))
struct ConnectionLimitTests {
    @Test("half-open connections beyond the cap are closed after the idle timeout; a submit with a token still gets through")
    func halfOpenClients() async throws {
        try await APIHarness.with(handlers: ["ok": { _, _ in .succeeded("done") }], limits: ConnectionLimits(idleTimeout: 0.3, maxConnections: 8)) { api in
            // 24 clients, three times the cap: each sends part of a request head, then nothing.
            let clients = try (0..<24).map { _ in try RawClient(port: api.port) }
            for client in clients { client.send("GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthoriz") }
            let submitted = try await api.request(.POST, "/v1/tasks", body: #"{"agent":"ok","prompt":"x"}"#)
            #expect(submitted.status == 201, "\(submitted)")
            // Every one of them is closed by the server, the ones that waited beyond the cap too.
            for client in clients { #expect(await client.readUntilClosed(), "the server closed a half-open connection") }
        }
    }

    @Test("a keep-alive connection idle past the timeout is closed; a trickled request head does not keep it open")
    func idleKeepAlive() async throws {
        try await APIHarness.with(handlers: [:], limits: ConnectionLimits(idleTimeout: 0.3, maxConnections: 8)) { api in
            let client = try RawClient(port: api.port)
            client.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            // One byte at a time, every 100 ms, for far longer than the timeout: the server still
            // closes the connection, since only complete request parts count.
            var closed = false
            for byte in "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8 {
                if !client.send(String(decoding: [byte], as: UTF8.self)) { closed = true; break }
                try await Task.sleep(for: .milliseconds(100))
                if client.isClosed { closed = true; break }
            }
            // Closed before the whole head was sent (about 90 sends 100 ms apart): a server that
            // counted each byte as activity would keep the connection open to the end.
            #expect(closed, "closed while the head trickled in")
            #expect(client.received.hasPrefix("HTTP/1.1 200"), "the complete request was answered first")
        }
    }
}

/// A blocking loopback TCP client with a receive timeout, for requests no HTTP client would send.
final class RawClient: @unchecked Sendable {
    private let descriptor: Int32
    /// Everything received so far, as text.
    private(set) var received = ""

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    /// Sends `text`; `false` if the connection is gone.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return Glibc.send(descriptor, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count
    }

    /// Reads until the server closes the connection (`true`) or 10 s pass without a byte (`false`),
    /// on a thread of its own: a blocking read must not hold one of the few threads the server
    /// under test runs on.
    func readUntilClosed() async -> Bool {
        await offPool { self.blockingReadUntilClosed() }
    }

    /// Reads until `marker` has arrived (or the connection closes, or 10 s pass); answers what arrived.
    func readUntil(_ marker: String) async -> String {
        await offPool { self.blockingReadUntil(marker) }
    }

    private func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: body()) }.start()
        }
    }

    private func blockingReadUntilClosed() -> Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
            received += String(decoding: buffer[..<count], as: UTF8.self)
        }
    }

    private func blockingReadUntil(_ marker: String) -> String {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !received.contains(marker) {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            received += String(decoding: buffer[..<count], as: UTF8.self)
        }
        return received
    }

    /// Whether the server has closed the connection (reads what is there without waiting).
    var isClosed: Bool {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count == 0 { return true }
            if count < 0 { return errno == ECONNRESET }
            received += String(decoding: buffer[..<count], as: UTF8.self)
        }
    }
}
