import Foundation
import Hummingbird
import NIOCore

/// A submitted HTML form (`application/x-www-form-urlencoded`): its fields in order, a name
/// possibly repeated (the task list's checkboxes).
struct DashboardForm: Sendable {
    /// The fields, in the order the browser sent them.
    let fields: [(name: String, value: String)]

    /// The largest form accepted: an answer to an agent may be long, but not the API's 2 MiB.
    static let maxBytes = 512 * 1024

    /// Reads the request's body as a form; the body stays readable (the request keeps it collected).
    init(request: inout Request) async throws {
        let buffer = try await request.collectBody(upTo: Self.maxBytes)
        self.init(encoded: String(buffer: buffer))
    }

    /// Parses `a=1&b=two+words`: `+` is a space, `%XX` a byte.
    init(encoded: String) {
        fields = encoded.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String? { text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(parts[0]), !name.isEmpty else { return nil }
            return (name, parts.count > 1 ? decode(parts[1]) ?? "" : "")
        }
    }

    /// The first value of `name`.
    subscript(name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    /// Every value of `name`.
    func all(_ name: String) -> [String] {
        fields.filter { $0.name == name }.map(\.value)
    }
}
