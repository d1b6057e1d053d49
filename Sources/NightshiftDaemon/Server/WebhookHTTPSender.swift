import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOPosix
import Nightshift

#if canImport(Glibc)
import Glibc
#endif

/// Sends webhook deliveries over HTTP with AsyncHTTPClient: a POST of the hook event as JSON,
/// signed with HMAC-SHA256 of `"<timestamp>.<body>"` under the webhook's secret (docs/hooks.md
/// shows a receiver's check).
///
/// Headers: `Content-Type: application/json`, `User-Agent: Nightshift-Webhook/1`,
/// `X-Nightshift-Event` (the event's type), `X-Nightshift-Delivery` (the same for every attempt at
/// an event: a receiver dedups on it), `X-Nightshift-Timestamp` (Unix seconds) and
/// `X-Nightshift-Signature: sha256=<hex>`.
///
/// By default a sender works on one thread of its own at a lower scheduling priority (nice
/// ``backgroundNice``): its HTTP connections and the engine's webhook workers both run there
/// (``executor``). On a machine whose cores the queue keeps busy, delivery then takes what the
/// queue leaves and webhooks lag; on an idle core it costs nothing. docs/hooks.md says why.
public struct WebhookHTTPSender: WebhookSender {
    let client: HTTPClient
    /// Where the engine runs its webhook workers: the client's event loop, or the global executor.
    public let executor: (any TaskExecutor)?

    /// A sender on the process's background delivery thread.
    public init() {
        self.client = Self.background.client
        self.executor = Self.background.executor
    }

    /// A sender on `client`; the engine's workers run on the global executor.
    public init(client: HTTPClient) {
        self.client = client
        self.executor = nil
    }

    /// How much lower than the process the delivery thread's priority is (a `nice` increment).
    public static let backgroundNice: Int32 = 19

    /// The process's delivery thread: one event loop at a lower priority, its HTTP client and an
    /// executor on it. Lives as long as the process (as `HTTPClient.shared` does).
    static let background: (client: HTTPClient, executor: HandOffExecutor) = {
        let group = backgroundEventLoop(nice: backgroundNice)
        let loop = group.next()
        return (HTTPClient(eventLoopGroup: group), HandOffExecutor { loop.execute($0) })
    }()

    /// A one-thread event loop group whose thread runs `increment` lower than the process (a
    /// `nice` increment, to at most 19; on Linux): for background work that takes what busy cores
    /// leave.
    public static func backgroundEventLoop(nice increment: Int32) -> MultiThreadedEventLoopGroup {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        #if canImport(Glibc)
        // On Linux the nice value is the thread's own: `who` 0 is the calling thread. It starts
        // at the process's; lowering one's priority needs no privilege. Queued first, this runs
        // before any work given to the loop.
        group.next().execute {
            let thread = __priority_which_t(PRIO_PROCESS.rawValue)
            setpriority(thread, 0, min(19, getpriority(thread, 0) + increment))
        }
        #endif
        return group
    }

    /// The signature header's value for `body` sent at `timestamp` (Unix seconds) under `secret`.
    public static func signature(secret: String, timestamp: Int64, body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(timestamp).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        let digits = Array("0123456789abcdef".utf8)
        var hex = Array("sha256=".utf8)
        for byte in mac { hex += [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]] }
        return String(decoding: hex, as: UTF8.self)
    }

    /// POSTs the delivery; a receiver that does not answer within the request's timeout is cut off.
    public func send(_ request: WebhookRequest) async -> WebhookResponse {
        let timestamp = Int64(request.time.timeIntervalSince1970.rounded(.down))
        var http = HTTPClientRequest(url: request.url)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        http.headers.add(name: "User-Agent", value: "Nightshift-Webhook/1")
        http.headers.add(name: "X-Nightshift-Event", value: request.eventType)
        http.headers.add(name: "X-Nightshift-Delivery", value: request.deliveryID)
        http.headers.add(name: "X-Nightshift-Timestamp", value: String(timestamp))
        http.headers.add(name: "X-Nightshift-Signature", value: Self.signature(secret: request.secret, timestamp: timestamp, body: request.body))
        if let traceParent = request.traceParent { http.headers.add(name: "traceparent", value: traceParent) }
        http.body = .bytes(ByteBuffer(string: request.body))
        do {
            let response = try await client.execute(http, timeout: .milliseconds(Int64(request.timeout * 1000)))
            // The answer's body is not needed; read a little of it so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 << 10)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap(Self.retryAfter)
            return .status(Int(response.status.code), retryAfter: retryAfter)
        } catch {
            return .failed(Self.describe(error, timeout: request.timeout))
        }
    }

    /// `Retry-After` in seconds: a number of seconds, or an HTTP date (RFC 9110) from now.
    static func retryAfter(_ value: String) -> Double? {
        if let seconds = Double(value.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: value).map { max(0, $0.timeIntervalSinceNow) }
    }

    static func describe(_ error: any Error, timeout: Double) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            return "no answer within \(timeout) s"
        }
        return "\(error)"
    }
}
