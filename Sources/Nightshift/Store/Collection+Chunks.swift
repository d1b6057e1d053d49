extension Collection {
    /// The collection in consecutive slices of at most `size` elements (stores write in chunks).
    package func chunks(of size: Int) -> [SubSequence] {
        stride(from: 0, to: count, by: size).map { offset in
            let start = index(startIndex, offsetBy: offset)
            return self[start..<(index(start, offsetBy: size, limitedBy: endIndex) ?? endIndex)]
        }
    }
}
