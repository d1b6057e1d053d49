import Crypto
import Foundation
import Hummingbird
import Nightshift
import Synchronization

/// The bootstrap API token, the admin of workspace `default`: created on first start as `<home>/token` (mode 0600, for the local user and
/// the CLI); the daemon keeps its SHA-256 (`<home>/token.sha256`) and compares in constant time.
///
/// Rotation: write a new token into `<home>/token` (or run `nightshift token rotate`). The token
/// file, when present, wins over the hash, whose file is rewritten to match; a running daemon
/// notices the change at the next request whose token does not match, so the old token stops
/// working and the new one works without a restart. Deleting `token` (keeping only the hash) is
/// fine: the hash then decides.
public final class TokenAuthority: Sendable {
    /// The data directory whose files hold the token, if it came from one.
    private let home: URL?
    private let state: Mutex<(digest: [UInt8], stamp: [String])>

    /// Loads the token's hash from `home`, creating a random token first if there is none.
    public static func load(home: URL) throws -> TokenAuthority {
        let (digest, stamp) = try resolve(home: home)
        return TokenAuthority(home: home, digest: digest, stamp: stamp)
    }

    /// An authority for a known token (tests, embedding).
    public convenience init(token: String) {
        self.init(home: nil, digest: Self.digest(token), stamp: [])
    }

    private init(home: URL?, digest: [UInt8], stamp: [String]) {
        self.home = home
        state = Mutex((digest, stamp))
    }

    /// The principal `token` acts as: the bootstrap token is the admin of `default`; any other is
    /// looked up in `store` by its SHA-256 digest (one indexed read per request, so a revocation
    /// holds at once on every node), then compared in constant time. `nil` for a token that is
    /// unknown or revoked, alike.
    public func principal(for token: String, store: any TokenStore) async throws -> Principal? {
        if accepts(token) {
            return Principal(workspace: Workspace.defaultID, role: .admin, tokenID: Principal.bootstrapTokenID)
        }
        let presented = Self.digest(token)
        guard let stored = try await store.token(digest: presented), stored.revokedAt == nil, Self.equal(presented, stored.digest) else {
            return nil
        }
        return Principal(workspace: stored.workspaceID, role: stored.role, tokenID: stored.id)
    }

    /// A new random token and its SHA-256 digest (what a store keeps).
    public static func issue() -> (token: String, digest: [UInt8]) {
        let token = newToken()
        return (token, digest(token))
    }

    /// Whether `token` is the bootstrap token; the time taken does not depend on where they differ.
    /// A token that does not match makes the authority look at the files again, once they changed.
    public func accepts(_ token: String) -> Bool {
        let presented = Self.digest(token)
        if Self.equal(presented, state.withLock { $0.digest }) { return true }
        guard let home else { return false }
        let stamp = Self.stamp(home)
        guard stamp != state.withLock({ $0.stamp }), let (digest, written) = try? Self.resolve(home: home) else { return false }
        state.withLock { $0 = (digest, written) }
        return Self.equal(presented, digest)
    }

    /// Makes a new random token for `home`: writes `<home>/token` and its hash; answers it.
    @discardableResult
    public static func rotate(home: URL) throws -> String {
        let token = newToken()
        try write(token + "\n", to: home.appendingPathComponent("token"))
        try write(hex(digest(token)) + "\n", to: home.appendingPathComponent("token.sha256"))
        return token
    }

    /// The digest `home`'s files say, creating a token when there is neither file; and the files' times.
    private static func resolve(home: URL) throws -> ([UInt8], [String]) {
        let tokenFile = home.appendingPathComponent("token")
        let hashFile = home.appendingPathComponent("token.sha256")
        let stored = (try? String(contentsOf: hashFile, encoding: .utf8)).flatMap(bytes(hex:))
        let token = (try? String(contentsOf: tokenFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let token, !token.isEmpty {
            let digest = digest(token)
            // A token written by hand (a rotation) wins over the hash of the one before.
            if stored != digest { try write(hex(digest) + "\n", to: hashFile) }
            return (digest, stamp(home))
        }
        if let stored { return (stored, stamp(home)) }
        let created = newToken()
        try write(created + "\n", to: tokenFile)
        let digest = digest(created)
        try write(hex(digest) + "\n", to: hashFile)
        return (digest, stamp(home))
    }

    /// What identifies the token file's and the hash file's current contents: inode, size and
    /// change time to the nanosecond (empty for a missing file). Any write changes it.
    private static func stamp(_ home: URL) -> [String] {
        ["token", "token.sha256"].map { name in
            var info = stat()
            guard stat(home.appendingPathComponent(name).path, &info) == 0 else { return "" }
            return "\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_nsec)"
        }
    }

    private static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return "ns_" + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: .min ... .max, using: &generator)) }.joined()
    }

    /// Writes `text` to `file` with mode 0600, replacing it whole.
    private static func write(_ text: String, to file: URL) throws {
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw NightshiftError(.storeUnavailable, "cannot write \(file.path)")
        }
        guard rename(temporary.path, file.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw NightshiftError(.storeUnavailable, "cannot write \(file.path): \(String(cString: strerror(errno)))")
        }
    }

    private static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Data(token.utf8))) }

    private static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0 && a.count == b.count
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

/// Requires `Authorization: Bearer TOKEN` on every request it guards, and puts the token's
/// principal in the context. An unknown token and a revoked one get the same 401.
struct BearerAuthMiddleware: RouterMiddleware {
    let authority: TokenAuthority
    let store: any TokenStore

    func handle(
        _ request: Request, context: APIRequestContext, next: (Request, APIRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.principal = try await Self.principal(of: request, authority: authority, store: store)
        return try await next(request, context)
    }

    /// The principal of `request`'s bearer token; 401 when it has none or one nobody knows.
    static func principal(of request: Request, authority: TokenAuthority, store: any TokenStore) async throws -> Principal {
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer`, `BEARER` are the same.
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer ",
              let principal = try await authority.principal(
                  for: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces), store: store)
        else {
            throw APIFailure(.unauthorized, code: "unauthorized", message: "missing or wrong bearer token (see the token file in the data directory)", field: "Authorization")
        }
        return principal
    }
}
