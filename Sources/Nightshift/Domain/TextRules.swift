/// What strings the stores take: both would cut or refuse a NUL (SQLite binds text up to the
/// first NUL; PostgreSQL's text cannot hold one), so text with U+0000 is refused rather than
/// stored cut, and identifiers (keys, names, lanes, labels) take no control character at all.
public enum TextRules {
    /// The safe alphabet of agent names (they appear in URLs and paths): an ASCII letter or digit,
    /// then up to 63 more of letters, digits, `-`, `_` and `.`; never `.` or `..`.
    public static let agentNameRule = "1 to 64 characters: an ASCII letter or digit, then letters, digits, '-', '_' or '.'"

    /// Refuses text holding U+0000, naming `field`.
    public static func checkText(_ value: String, field: String) throws(NightshiftError) {
        if let offset = value.utf8.firstIndex(of: 0).map({ value.utf8.distance(from: value.utf8.startIndex, to: $0) }) {
            throw .invalid(field, "expected text without NUL (U+0000), found one at byte \(offset)")
        }
    }

    /// Refuses an identifier holding a control character (U+0000–U+001F, U+007F–U+009F), naming `field`.
    public static func checkIdentifier(_ value: String, field: String) throws(NightshiftError) {
        if let bad = value.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            let code = String(bad.value, radix: 16, uppercase: true)
            throw .invalid(field, "expected no control characters, found U+\(String(repeating: "0", count: max(0, 4 - code.count)))\(code)")
        }
    }

    /// Whether `name` is a valid agent name (see ``agentNameRule``).
    public static func isAgentName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (1...64).contains(bytes.count), let first = bytes.first, isAlphanumeric(first) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
}

/// Finds cut points that do not split a UTF-8 encoded character.
package enum UTF8Cut {
    /// The largest count ≤ `limit` of leading bytes of `bytes` that ends on a character boundary
    /// (backing off at most 3 bytes: invalid UTF-8 is cut anywhere).
    package static func boundary(in bytes: [UInt8], atMost limit: Int) -> Int {
        var cut = min(limit, bytes.count)
        let floor = max(cut - 3, 0)
        while cut > floor, cut < bytes.count, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return cut
    }
}

/// A stable short name for a text: its 64-bit FNV-1a hash in hexadecimal (names derived from paths
/// and statements, not a security measure).
package enum StableHash {
    /// `text`'s 64-bit FNV-1a hash, in lowercase hexadecimal.
    package static func hex(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
