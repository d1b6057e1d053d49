import NIOCore
import NIOPosix
import Synchronization

/// A loopback TCP proxy to a server, for tests that make the server "go away": ``stop()``
/// drops every connection and stops accepting; ``start()`` accepts again on the same port.
final class TCPProxy: Sendable {
    let targetHost: String
    let targetPort: Int
    private let state = Mutex<(port: Int, serving: Task<Void, Never>?)>((0, nil))

    init(to host: String, port: Int) {
        targetHost = host
        targetPort = port
    }

    /// The port it listens on (picked at random by the first start).
    var port: Int { state.withLock { $0.port } }

    /// Listens on 127.0.0.1 (the same port as before, if it ran before).
    func start() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let host = targetHost
        let target = targetPort
        let serving = Task<Void, Never> {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await client in inbound {
                        group.addTask { try? await Self.relay(client, host: host, port: target) }
                    }
                }
            }
        }
        state.withLock { $0 = (server.channel.localAddress?.port ?? 0, serving) }
    }

    /// Closes every connection and the listener.
    func stop() async {
        let serving = state.withLock { state in
            defer { state.serving = nil }
            return state.serving
        }
        serving?.cancel()
        await serving?.value
    }

    private static func relay(_ client: NIOAsyncChannel<ByteBuffer, ByteBuffer>, host: String, port: Int) async throws {
        let upstream = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await client.executeThenClose { clientIn, clientOut in
            try await upstream.executeThenClose { upstreamIn, upstreamOut in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for try await bytes in clientIn { try await upstreamOut.write(bytes) } }
                    group.addTask { for try await bytes in upstreamIn { try await clientOut.write(bytes) } }
                    // Either side closing ends both.
                    try await group.next()
                    group.cancelAll()
                }
            }
        }
    }
}
