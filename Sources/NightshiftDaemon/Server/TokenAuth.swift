import Crypto
import Foundation
import Hummingbird
import Nightshift

/// The API token: created on first start as `<home>/token` (mode 0600, for the local user and
/// the CLI); the daemon keeps only its SHA-256 (`<home>/token.sha256`) and compares in constant time.
public struct TokenAuthority: Sendable {
    private let digest: [UInt8]

    /// Loads the token's hash from `home`, creating a random token first if there is none.
    public static func load(home: URL) throws -> TokenAuthority {
        let tokenFile = home.appendingPathComponent("token")
        let hashFile = home.appendingPathComponent("token.sha256")
        let manager = FileManager.default
        if let hex = try? String(contentsOf: hashFile, encoding: .utf8), let digest = Self.bytes(hex: hex) {
            return TokenAuthority(digest: digest)
        }
        let token: String
        if let existing = try? String(contentsOf: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines), !existing.isEmpty {
            token = existing
        } else {
            var generator = SystemRandomNumberGenerator()
            token = "ns_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
            guard manager.createFile(atPath: tokenFile.path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw NightshiftError(.storeUnavailable, "cannot write the API token to \(tokenFile.path)")
            }
        }
        let authority = TokenAuthority(token: token)
        let hex = authority.digest.map { String(format: "%02x", $0) }.joined()
        guard manager.createFile(atPath: hashFile.path, contents: Data((hex + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
            throw NightshiftError(.storeUnavailable, "cannot write the API token hash to \(hashFile.path)")
        }
        return authority
    }

    /// An authority for a known token (tests, embedding).
    public init(token: String) {
        digest = Array(SHA256.hash(data: Data(token.utf8)))
    }

    private init(digest: [UInt8]) {
        self.digest = digest
    }

    /// Whether `token` is the API token; the time taken does not depend on where they differ.
    public func accepts(_ token: String) -> Bool {
        let presented = Array(SHA256.hash(data: Data(token.utf8)))
        var difference: UInt8 = 0
        for (a, b) in zip(presented, digest) { difference |= a ^ b }
        return difference == 0 && presented.count == digest.count
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let text = Array(hex.trimmingCharacters(in: .whitespacesAndNewlines).utf8)
        guard text.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: text[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}

/// Requires `Authorization: Bearer TOKEN` on every request it guards.
struct BearerAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let authority: TokenAuthority

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` are the same.
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
              authority.accepts(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        else {
            throw APIFailure(.unauthorized, code: "unauthorized", message: "missing or wrong bearer token (see the token file in the data directory)", field: "Authorization")
        }
        return try await next(request, context)
    }
}
