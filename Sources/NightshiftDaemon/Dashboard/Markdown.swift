/// A small Markdown renderer for what agents write: paragraphs, headings, lists, quotes, fenced
/// code, inline code, bold, italics and http(s) links. Every piece of text goes through ``HTML``'s
/// escaping before any markup is added, and a link keeps only an `http`, `https` or `mailto` target,
/// so agent output cannot inject markup or script.
enum Markdown {
    /// `text` as HTML blocks.
    static func html(_ text: String) -> HTML {
        var blocks: [HTML] = []
        var paragraph: [Substring] = []
        var list: (ordered: Bool, items: [HTML])?
        var quote: [Substring] = []
        var fence: (info: String, lines: [Substring])?

        func flushParagraph() {
            guard !paragraph.isEmpty else { return }
            blocks.append("<p>\(inline(paragraph.joined(separator: "\n")))</p>")
            paragraph = []
        }
        func flushList() {
            guard let open = list else { return }
            blocks.append(open.ordered ? "<ol>\(open.items)</ol>" : "<ul>\(open.items)</ul>")
            list = nil
        }
        func flushQuote() {
            guard !quote.isEmpty else { return }
            blocks.append("<blockquote>\(html(quote.joined(separator: "\n")))</blockquote>")
            quote = []
        }
        func flushAll() {
            flushParagraph()
            flushList()
            flushQuote()
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if var open = fence {
                if line.trimmingPrefix(while: \.isWhitespace).hasPrefix("```") {
                    let language = open.info.isEmpty ? HTML.empty : " data-language=\"\(open.info)\""
                    blocks.append("<pre class=\"code\"\(language)><code>\(open.lines.joined(separator: "\n"))</code></pre>")
                    fence = nil
                } else {
                    open.lines.append(line)
                    fence = open
                }
                continue
            }
            let trimmed = line.trimmingPrefix(while: { $0 == " " })
            if trimmed.hasPrefix("```") {
                flushAll()
                fence = (String(trimmed.dropFirst(3).trimmingPrefix(while: \.isWhitespace)), [])
            } else if trimmed.allSatisfy(\.isWhitespace) {
                flushAll()
            } else if let level = heading(trimmed) {
                flushAll()
                blocks.append("<h\(level + 2)>\(inline(String(trimmed.dropFirst(level + 1))))</h\(level + 2)>")
            } else if trimmed.hasPrefix(">") {
                flushParagraph()
                flushList()
                quote.append(trimmed.dropFirst().trimmingPrefix(while: { $0 == " " }))
            } else if let (ordered, item) = listItem(trimmed) {
                flushParagraph()
                flushQuote()
                if list?.ordered != ordered { flushList() }
                list = (ordered, (list?.items ?? []) + ["<li>\(inline(String(item)))</li>"])
            } else if trimmed.allSatisfy({ $0 == "-" || $0 == "*" || $0 == "_" }) && trimmed.count >= 3 {
                flushAll()
                blocks.append("<hr>")
            } else {
                flushList()
                flushQuote()
                paragraph.append(trimmed)
            }
        }
        if let open = fence { blocks.append("<pre class=\"code\"><code>\(open.lines.joined(separator: "\n"))</code></pre>") }
        flushAll()
        return HTML(joining: blocks)
    }

    /// The level (1–4) of an ATX heading line (`## Title`).
    private static func heading(_ line: Substring) -> Int? {
        let hashes = line.prefix { $0 == "#" }.count
        guard (1...4).contains(hashes), line.dropFirst(hashes).first == " " else { return nil }
        return hashes
    }

    /// Whether the line is a list item (`- x`, `* x`, `+ x`, `1. x`), ordered or not, and its text.
    private static func listItem(_ line: Substring) -> (Bool, Substring)? {
        if let first = line.first, "-*+".contains(first), line.dropFirst().first == " " { return (false, line.dropFirst(2)) }
        let digits = line.prefix(while: \.isNumber)
        guard !digits.isEmpty, digits.count <= 3 else { return nil }
        let rest = line.dropFirst(digits.count)
        guard rest.hasPrefix(". ") || rest.hasPrefix(") ") else { return nil }
        return (true, rest.dropFirst(2))
    }

    /// Inline markup of one block's text: code spans first (their text is never formatted), then
    /// links, bold and italics on the escaped rest.
    static func inline(_ text: String) -> HTML {
        var out = HTML.empty
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "`") {
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "`") else { break }
            out += emphasis(String(rest[..<open]))
            out += "<code>\(String(rest[afterOpen..<close]))</code>"
            rest = rest[rest.index(after: close)...]
        }
        out += emphasis(String(rest))
        return out
    }

    /// Links, bold and italics in escaped text. The patterns match only characters that escaping
    /// leaves alone or produces, so they cannot open a tag.
    private static func emphasis(_ text: String) -> HTML {
        var escaped = HTML.escape(text)
        escaped = escaped.replacing(#/\[([^\]\n]+)\]\(((?:https?://|mailto:)[^\s()<>]+)\)/#) { match in
            "<a href=\"\(match.output.2)\" rel=\"noopener noreferrer\">\(match.output.1)</a>"
        }
        escaped = escaped.replacing(#/\*\*([^*\n]+)\*\*/#) { "<strong>\($0.output.1)</strong>" }
        escaped = escaped.replacing(#/(^|[^\w*])\*([^*\s][^*\n]*)\*(?![\w*])/#) { "\($0.output.1)<em>\($0.output.2)</em>" }
        return HTML(trusted: escaped)
    }
}
