#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What the HTTP server grants a connection, so that clients — with a token or without — cannot
/// starve the daemon of descriptors (`[server]` in the config file).
///
/// A connection that has not sent a whole request head within ``idleTimeout`` of connecting, or of
/// the end of its last response (an idle keep-alive connection), is closed: a client trickling a
/// header byte by byte gains nothing, since only complete request parts count as activity. A
/// response being written (an event stream, a long poll) is never cut. Beyond
/// ``maxConnections`` open connections the server stops accepting: new ones wait in the
/// kernel's backlog until others close, and the engine's own descriptors (database, agents'
/// pipes) stay available.
public struct ConnectionLimits: Sendable, Hashable {
    /// Seconds a connection may go without a request part (`server.idle_timeout`).
    public var idleTimeout: Double
    /// Connections open at once (`server.max_connections`).
    public var maxConnections: Int

    /// The defaults: 30 s and 512 connections.
    public init(idleTimeout: Double = 30, maxConnections: Int = 512) {
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }

    /// Raises this process's soft limit on open descriptors to its hard limit (at most 65,536),
    /// so the connection cap, not the default soft limit of 1,024, decides; returns the limit now.
    @discardableResult
    public static func raiseDescriptorLimit() -> UInt64 {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let wanted = min(limit.rlim_max, 65_536)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return UInt64(limit.rlim_cur)
    }
}
