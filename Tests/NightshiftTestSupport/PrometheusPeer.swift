import Foundation

/// A Prometheus text exposition as the official Python client's parser reads it
/// (`Tests/Fixtures/prometheus_peer.py`, `prometheus_client.parser`): family name → type, help
/// and samples. A malformed exposition is an error naming the parser's complaint.
public enum PrometheusPeer {
    /// One metric family as the parser read it.
    public struct Family: Decodable, Sendable {
        /// One sample: its name (a family's `_total`, `_bucket`, `_count`… included), labels and value.
        public struct Sample: Decodable, Sendable {
            /// The sample's name.
            public var name: String
            /// Its labels.
            public var labels: [String: String]
            /// Its value (`nil` for NaN).
            public var value: Double?
        }
        /// `counter`, `gauge`, `histogram`…
        public var type: String
        /// The family's help text.
        public var help: String
        /// Its samples.
        public var samples: [Sample]

        /// The value of the sample `name` whose labels include `labels`.
        public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }?.value
        }
    }

    /// The parser's refusal of an exposition.
    public struct ParseFailure: Error, CustomStringConvertible {
        /// What the parser said.
        public var description: String
    }

    /// `exposition` read by `prometheus_client`.
    public static func parse(_ exposition: String) throws -> [String: Family] {
        let run = try PythonPeer.run(script: "prometheus_peer.py", stdin: Data(exposition.utf8))
        guard run.status == 0 else { throw ParseFailure(description: "prometheus_peer.py exited \(run.status): \(run.stderr)") }
        return try JSONDecoder().decode([String: Family].self, from: Data(run.stdout.utf8))
    }
}
