import Nightshift

/// Joins lines with `\n`, keeping the first `capacity` bytes and counting the rest.
struct HeadBuffer: Sendable {
    /// The most bytes kept.
    let capacity: Int
    private var bytes: [UInt8] = []
    private var dropped = 0
    private var lines = 0
    private var full = false

    /// A buffer keeping at most `capacity` bytes.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Appends a line (preceded by `\n` unless it is the first).
    mutating func append(line: String) {
        var piece = Array(line.utf8)
        if lines > 0 { piece.insert(0x0A, at: 0) }
        lines += 1
        guard !full else {
            dropped += piece.count
            return
        }
        let room = capacity - bytes.count
        if piece.count <= room {
            bytes.append(contentsOf: piece)
        } else {
            let take = UTF8Cut.boundary(in: piece, atMost: room)
            bytes.append(contentsOf: piece[..<take])
            dropped += piece.count - take
            full = true
        }
    }

    /// The kept text, ending in `\n…[output truncated: N more bytes]` when bytes were dropped.
    var text: String {
        let head = String(decoding: bytes, as: UTF8.self)
        return dropped == 0 ? head : head + "\n…[output truncated: \(dropped) more bytes]"
    }
}

/// Joins lines with `\n`, keeping about the last `capacity` bytes.
struct TailBuffer: Sendable {
    /// The most bytes kept.
    let capacity: Int
    private var bytes: [UInt8] = []
    private var cut = false

    /// A buffer keeping the last `capacity` bytes.
    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Appends a line (preceded by `\n` unless it is the first).
    mutating func append(line: String) {
        if !bytes.isEmpty || cut { bytes.append(0x0A) }
        bytes.append(contentsOf: line.utf8)
        if bytes.count > 2 * capacity { trim() }
    }

    /// The last `capacity` bytes (starting at a whole character), whitespace-trimmed, with a
    /// leading `…` when earlier output was dropped.
    var text: String {
        var copy = self
        copy.trim()
        let tail = String(decoding: copy.bytes, as: UTF8.self).trimmingWhitespace()
        return copy.cut && !tail.isEmpty ? "…" + tail : tail
    }

    private mutating func trim() {
        guard bytes.count > capacity else { return }
        var start = bytes.count - capacity
        let limit = min(start + 3, bytes.count)
        while start < limit, bytes[start] & 0xC0 == 0x80 { start += 1 }
        bytes.removeFirst(start)
        cut = true
    }
}

extension String {
    /// The string without leading and trailing whitespace and newlines.
    func trimmingWhitespace() -> String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
