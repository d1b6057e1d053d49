import Nightshift

/// A TCP address to listen on: a host name or IP address and a port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// The host name or IP address, IPv6 without brackets.
    public var host: String
    /// The port, 0 for any free port.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `HOST:PORT`, an IPv6 host in brackets.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Whether only this machine can reach it: `localhost`, 127.0.0.0/8 or `::1`.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Parses `HOST:PORT` (`127.0.0.1:7777`, `localhost:7777`, `[::1]:7777`); the error's field is `listen`.
    public static func parse(_ text: String) throws(NightshiftError) -> ListenAddress {
        let invalid = NightshiftError.invalid(
            "listen", "expected HOST:PORT like \"127.0.0.1:7777\" (IPv6 as \"[::1]:7777\"), found \"\(text)\"")
        guard let colon = text.lastIndex(of: ":"),
              let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else { throw invalid }
        var host = text[..<colon]
        if host.first == "[", host.last == "]", host.count > 1 {
            host = host.dropFirst().dropLast()
        } else if host.contains(":") {
            throw invalid
        }
        guard !host.isEmpty else { throw invalid }
        return ListenAddress(host: String(host), port: port)
    }
}
