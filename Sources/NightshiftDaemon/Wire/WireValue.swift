import Nightshift

/// A value of the API's wire format (docs/api.md, docs/wire-format.md): the server writes it, the
/// client reads it, both through the one codec here, so the two cannot drift apart. Members are
/// snake_case; every member is written, `null` when absent; times are RFC 3339 with milliseconds.
public protocol WireValue: Codable, Sendable {}

extension WireValue {
    /// The JSON form, as the server answers it.
    public var json: JSONValue {
        // Wire values hold no integer beyond Int64, the only thing the encoder refuses.
        (try? WireEncoder.encode(self)) ?? .null
    }

    /// Reads the JSON form strictly; the error (`invalid_input`) names the member at fault.
    public init(json: JSONValue) throws {
        self = try WireDecoder.decode(Self.self, from: json)
    }
}

/// A request body: besides what a ``WireValue`` checks, a member the route does not know is
/// refused, so a typo is not silently ignored.
protocol WireRequest: WireValue {
    /// Every member the body may have.
    associatedtype CodingKeys: CodingKey & CaseIterable
}

extension WireRequest {
    /// Reads a request body: an object, with no unknown member, each member of its type.
    init(body: JSONValue) throws {
        guard case .object(let members) = body else {
            throw NightshiftError(.invalidInput, "expected a JSON object as the request body", field: "body")
        }
        let allowed = Set(CodingKeys.allCases.map(\.stringValue))
        if let unknown = members.keys.filter({ !allowed.contains($0) }).sorted().first {
            throw NightshiftError(.invalidInput, "unknown field; expected one of \(allowed.sorted().joined(separator: ", "))", field: unknown)
        }
        try self.init(json: body)
    }
}

/// Checkpoints are on the wire in their own JSON form (the checkpoint file's, schema version 1).
extension SessionCheckpoint: WireValue {}

/// Memories are on the wire in their own JSON form.
extension Memory: WireValue {}
