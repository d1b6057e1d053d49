import Nightshift

/// One line of a child's output.
struct OutputLine: Sendable, Hashable {
    /// The text, without its line ending; invalid UTF-8 is repaired with U+FFFD.
    var text: String
    /// Whether the line was longer than the limit and lost its end.
    var truncated: Bool
}

/// Splits raw output bytes into lines at `\n` (dropping a `\r` before it), bounding memory:
/// a line longer than `limit` bytes keeps its first `limit` bytes (cut back to a whole UTF-8
/// character) and is marked truncated; the rest of it is discarded until the next newline.
struct LineSplitter: Sendable {
    /// The longest line kept, in bytes.
    let limit: Int
    private var current: [UInt8] = []
    private var overflowed = false

    /// A splitter keeping at most `limit` bytes of a line.
    init(limit: Int) {
        precondition(limit > 0, "line limit must be positive")
        self.limit = limit
    }

    /// Feeds bytes; returns the lines they complete.
    mutating func append(_ bytes: UnsafeRawBufferPointer) -> [OutputLine] {
        var lines: [OutputLine] = []
        var start = bytes.startIndex
        while start < bytes.endIndex {
            let newline = bytes[start...].firstIndex(of: 0x0A)
            keep(UnsafeRawBufferPointer(rebasing: bytes[start..<(newline ?? bytes.endIndex)]))
            guard let newline else { break }
            lines.append(takeLine())
            start = newline + 1
        }
        return lines
    }

    /// Feeds bytes; returns the lines they complete.
    mutating func append(_ bytes: [UInt8]) -> [OutputLine] {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Ends the input: returns the last line if it had no newline.
    mutating func finish() -> OutputLine? {
        guard !current.isEmpty || overflowed else { return nil }
        return takeLine()
    }

    /// Keeps up to `limit + 1` bytes, so a `\r` just past the limit is still seen as a line ending.
    private mutating func keep(_ segment: UnsafeRawBufferPointer) {
        let room = limit + 1 - current.count
        if segment.count <= room {
            current.append(contentsOf: segment)
        } else {
            current.append(contentsOf: segment.prefix(max(room, 0)))
            overflowed = true
        }
    }

    private mutating func takeLine() -> OutputLine {
        var bytes = current
        if !overflowed, bytes.last == 0x0D { bytes.removeLast() }
        let truncated = overflowed || bytes.count > limit
        if truncated { bytes.removeLast(bytes.count - UTF8Cut.boundary(in: bytes, atMost: limit)) }
        current.removeAll(keepingCapacity: current.capacity <= 64 * 1024)
        overflowed = false
        return OutputLine(text: String(decoding: bytes, as: UTF8.self), truncated: truncated)
    }
}
