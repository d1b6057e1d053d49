// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "nightshift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Nightshift", targets: ["Nightshift"]),
        .library(name: "NightshiftSQLite", targets: ["NightshiftSQLite"]),
        .library(name: "NightshiftPostgres", targets: ["NightshiftPostgres"]),
        .library(name: "NightshiftRunners", targets: ["NightshiftRunners"]),
        .library(name: "NightshiftDaemon", targets: ["NightshiftDaemon"]),
        .executable(name: "nightshift", targets: ["nightshift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", from: "0.12.1"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter would build grpc-swift for nothing.
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // Engine and domain: no database, HTTP framework or concrete runner.
        .target(
            name: "Nightshift",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ]
        ),
        .target(
            name: "NightshiftSQLite",
            dependencies: [
                "Nightshift",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "NightshiftPostgres",
            dependencies: [
                "Nightshift",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "NightshiftRunners",
            dependencies: [
                "Nightshift",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The daemon's front doors: configuration file, HTTP API (SSE, auth, OpenAPI), MCP server, API client.
        .target(
            name: "NightshiftDaemon",
            dependencies: [
                "Nightshift",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "MCP", package: "swift-sdk"),
            ]
        ),
        .executableTarget(
            name: "nightshift",
            dependencies: [
                "Nightshift",
                "NightshiftSQLite",
                "NightshiftPostgres",
                "NightshiftRunners",
                "NightshiftDaemon",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "MCP", package: "swift-sdk"),
            ]
        ),
        // Helpers shared by the test targets.
        .target(
            name: "NightshiftTestSupport",
            dependencies: [
                "Nightshift", .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Tests/NightshiftTestSupport"),
        .testTarget(name: "NightshiftTests", dependencies: ["Nightshift", "NightshiftTestSupport"]),
        .testTarget(
            name: "NightshiftSQLiteTests",
            dependencies: [
                "Nightshift", "NightshiftSQLite", "NightshiftPostgres", "NightshiftRunners", "NightshiftTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "NightshiftPostgresTests",
            dependencies: [
                "Nightshift", "NightshiftPostgres", "NightshiftRunners", "NightshiftTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "NightshiftRunnersTests",
            dependencies: ["Nightshift", "NightshiftRunners", "NightshiftTestSupport"],
            resources: []
        ),
        .testTarget(
            name: "NightshiftDaemonTests",
            dependencies: [
                "Nightshift", "NightshiftSQLite", "NightshiftDaemon", "NightshiftRunners", "NightshiftTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Nightshift", "NightshiftSQLite", "NightshiftPostgres", "NightshiftDaemon", "NightshiftTestSupport", "nightshift",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
    ]
)
