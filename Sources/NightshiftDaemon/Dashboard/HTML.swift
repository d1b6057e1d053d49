/// A piece of markup that is safe to send: the dashboard's one place where text becomes HTML.
///
/// Template text is written as a string literal; every `String` interpolated into it is escaped
/// (`&`, `<`, `>`, `"`, `'`), whether it lands in an element or in an attribute value. Only another
/// `HTML` value goes in as it is, so user-provided text (prompts, agent output, labels) cannot be
/// sent unescaped by forgetting a call.
struct HTML: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    private(set) var text: String

    /// Nothing.
    static let empty = HTML(trusted: "")

    /// Markup the dashboard wrote itself (never text from a request or the store).
    init(trusted text: String) {
        self.text = text
    }

    /// A template without interpolations.
    init(stringLiteral value: String) {
        text = value
    }

    /// A template with escaped interpolations.
    init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
    }

    /// The markup.
    var description: String { text }

    /// `pieces` one after the other.
    init(joining pieces: some Sequence<HTML>) {
        text = pieces.reduce(into: "") { $0 += $1.text }
    }

    /// Adds `other` after this markup.
    static func += (lhs: inout HTML, rhs: HTML) {
        lhs.text += rhs.text
    }

    /// `text` with the five characters that could end an element or an attribute escaped.
    static func escape(_ text: String) -> String {
        // Most text has nothing to escape: answer it as it is without building a copy.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else { return text }
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count + 16)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    /// Builds a template: literal parts as they are, interpolated strings escaped.
    struct StringInterpolation: StringInterpolationProtocol {
        /// The markup so far.
        var text = ""

        /// Room for the template.
        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        /// Template text, as it is.
        mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        /// Text, escaped.
        mutating func appendInterpolation(_ value: String) {
            text += HTML.escape(value)
        }

        /// Text, escaped; nothing for `nil`.
        mutating func appendInterpolation(_ value: String?) {
            if let value { text += HTML.escape(value) }
        }

        /// A number.
        mutating func appendInterpolation(_ value: some BinaryInteger) {
            text += String(value)
        }

        /// Markup, as it is.
        mutating func appendInterpolation(_ value: HTML) {
            text += value.text
        }

        /// Markup pieces one after the other.
        mutating func appendInterpolation(_ values: [HTML]) {
            for value in values { text += value.text }
        }
    }
}
