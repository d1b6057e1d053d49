import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon
import NightshiftRunners
import TOMLKit
import Testing
@testable import nightshift

/// The TOML and shell examples of README.md and docs/ run against the real config loader and CLI
/// parser; ``DocExamples`` says what is checked and how.
@Suite("Doc examples")
struct DocExamplesTests {
    @Test("every ```toml block loads as `nightshift serve` loads its config file", arguments: try DocExamples.tomlBlocks())
    func tomlBlockLoads(_ block: DocExamples.CodeBlock) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ns-doc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("nightshift.toml")
        try block.text.write(to: file, atomically: true, encoding: .utf8)
        // The runners `nightshift serve` registers, and its validation, stricter only in refusing
        // an agent whose runner is not registered at all.
        let runners = RunnerRegistry(AgentRunners.all() + [BuiltinRunner(handlers: [:])])
        // The variables a block's `secret_env` names are set, as a deployment would set them.
        var environment: [String: String] = [:]
        for line in block.text.split(separator: "\n") where line.hasPrefix("secret_env") {
            if let name = line.split(separator: "\"").dropFirst().first { environment[String(name)] = "doc-secret" }
        }
        do {
            _ = try NightshiftConfig.load(path: file.path, required: true, environment: environment) { (agent: Agent) throws(NightshiftError) in
                guard let runner = runners.runner(for: agent.runner) else {
                    throw NightshiftError(.invalidInput, "agent \(agent.name): no runner \(agent.runner) is registered")
                }
                try runner.validate(agent)
            }
        } catch {
            let message = error.message.replacingOccurrences(of: file.path, with: "block")
            Issue.record("\(block.location): this ```toml block does not load as a config file: \(message)")
        }
    }

    @Test("every `nightshift …` line in a shell block parses", arguments: try DocExamples.commandLines())
    func commandLineParses(_ line: DocExamples.CommandExample) async throws {
        if let problem = line.problem {
            Issue.record("\(line.location): `\(line.text)` cannot be split into words as a shell would: \(problem)")
            return
        }
        let command: any ParsableCommand
        do {
            command = try await NightshiftCommand.asyncParseAsRoot(line.arguments)
        } catch {
            // `--help` and `--version` end parsing without a command; they are fine examples.
            if NightshiftCommand.exitCode(for: error) == .success { return }
            Issue.record("\(line.location): `\(line.text)` does not parse: \(NightshiftCommand.message(for: error))")
            return
        }
        let parsed = type(of: command)
        if !parsed.configuration.subcommands.isEmpty {
            Issue.record("\(line.location): `\(line.text)` names the command group `\(DocExamples.path(of: parsed))`, not a command")
        }
    }

    @Test("every inline `nightshift …` synopsis names existing subcommands and options", arguments: try DocExamples.inlineSynopses())
    func inlineSynopsisMatches(_ line: DocExamples.CommandExample) throws {
        var command: any ParsableCommand.Type = NightshiftCommand.self
        var words = line.arguments[...]
        while let word = words.first,
              let sub = command.configuration.subcommands.first(where: { DocExamples.names($0).contains(word) })
        {
            command = sub
            words.removeFirst()
        }
        if !command.configuration.subcommands.isEmpty {
            guard let fallback = command.configuration.defaultSubcommand else {
                let choices = command.configuration.subcommands.map { DocExamples.names($0)[0] }.joined(separator: ", ")
                Issue.record("\(line.location): `\(line.text)`: no such subcommand `\(words.first ?? "")` (expected one of \(choices))")
                return
            }
            command = fallback
        }
        let help = NightshiftCommand.helpMessage(for: command, includeHidden: true, columns: 200)
        let known = Set(help.split(whereSeparator: { $0.isWhitespace || $0 == "," }).map(String.init).filter { $0.hasPrefix("-") })
        for word in words where word.hasPrefix("-") && word.count > 1 {
            let option = String(word.prefix { $0 != "=" })
            if !known.contains(option) {
                Issue.record("\(line.location): `\(line.text)`: `\(option)` is not an option of `\(DocExamples.path(of: command))`")
            }
        }
    }

    @Test("every Codex `[mcp_servers.NAME]` block runs `nightshift mcp` or reaches /mcp with the token's variable", arguments: try DocExamples.codexBlocks())
    func codexBlockServes(_ block: DocExamples.CodeBlock) async throws {
        let servers: TOMLTable
        do {
            servers = try #require(try TOMLTable(string: block.text)["mcp_servers"]?.table, "\(block.location): no [mcp_servers] table")
        } catch {
            Issue.record("\(block.location): not TOML: \(error)")
            return
        }
        // The keys Codex reads for a server (`codex exec --strict-config` refuses others).
        let known: Set<String> = ["command", "args", "env", "cwd", "url", "bearer_token_env_var", "startup_timeout_sec", "tool_timeout_sec", "enabled"]
        for (name, value) in servers {
            let server = try #require(value.table, "\(block.location): mcp_servers.\(name) is not a table")
            #expect(Set(server.keys).isSubset(of: known), "\(block.location): mcp_servers.\(name) has keys Codex does not read: \(server.keys.sorted())")
            if let url = server["url"]?.string {
                #expect(url.hasSuffix("/mcp"), "\(block.location): \(url) is not the daemon's /mcp")
                #expect(server["bearer_token_env_var"]?.string == "NIGHTSHIFT_TOKEN", "\(block.location): the token's variable")
                continue
            }
            #expect(server["command"]?.string == "nightshift", "\(block.location): mcp_servers.\(name).command")
            let arguments = try #require(server["args"]?.array?.map { $0.string ?? "" }, "\(block.location): mcp_servers.\(name).args")
            let command = try await NightshiftCommand.asyncParseAsRoot(arguments)
            #expect(command is MCPCommand, "\(block.location): \(arguments) is not `nightshift mcp`")
            for variable in server["env"]?.table?.keys ?? [] {
                #expect(variable.hasPrefix("NIGHTSHIFT_"), "\(block.location): env \(variable)")
            }
        }
    }

    @Test("the walk finds examples: README.md has a config file and nightshift commands")
    func examplesAreFound() throws {
        let blocks = try DocExamples.tomlBlocks()
        let lines = try DocExamples.commandLines()
        #expect(blocks.contains { $0.file == "README.md" }, "no ```toml block found in README.md")
        #expect(lines.contains { $0.file == "README.md" }, "no nightshift command found in README.md")
        #expect(blocks.contains { $0.file == "docs/runners/codex.md" }, "no ```toml block found in docs/runners/codex.md")
        #expect(blocks.contains { $0.file == "docs/runners/gemini.md" }, "no ```toml block found in docs/runners/gemini.md")
        #expect(try DocExamples.codexBlocks().count { $0.file == "docs/mcp.md" } == 2, "docs/mcp.md's two Codex configurations")
        #expect(lines.contains { $0.file == "docs/mcp.md" && $0.arguments.first == "mcp" }, "no `claude mcp add … -- nightshift mcp` found")
    }

    @Test("shell words split as a shell splits them")
    func shellSplitting() throws {
        #expect(try DocExamples.shellCommands("nightshift submit 'echo hi; x' --follow # note").commands
            == [["nightshift", "submit", "echo hi; x", "--follow"]])
        let substitution = try DocExamples.shellCommands(#"ID=$(nightshift submit "a \"b\"" --json | jq -r .id) && nightshift logs "$ID""#)
        #expect(substitution.commands == [["ID=$(…)"], ["nightshift", "logs", "$ID"]])
        #expect(substitution.nested == [["nightshift", "submit", #"a "b""#, "--json"], ["jq", "-r", ".id"]])
        #expect(try DocExamples.shellCommands("a 2>/dev/null; b > out x & c").commands == [["a"], ["b", "x"], ["c"]])
        #expect(DocExamples.nightshiftArguments(["NIGHTSHIFT_URL=http://h:1", "nightshift", "status"]) == ["status"])
        #expect(DocExamples.nightshiftArguments(["swift", "run", "-c", "release", "nightshift", "serve"]) == ["serve"])
        #expect(DocExamples.nightshiftArguments([".build/release/nightshift", "bench"]) == ["bench"])
        #expect(DocExamples.nightshiftArguments(["curl", "nightshift"]) == nil)
        #expect(DocExamples.nightshiftArguments(["$XDG_DATA_HOME/nightshift"]) == nil)
        #expect(DocExamples.nightshiftArguments(["~/.local/share/nightshift"]) == nil)
        #expect(throws: DocExamples.ShellSyntaxError.self) { try DocExamples.shellCommands("nightshift submit 'open") }
    }
}

/// Finds the examples in README.md and docs/**/*.md, which ``DocExamplesTests`` checks against the
/// code so a doc cannot drift:
///
/// - every fenced ```toml block is a whole config file: it must load with `NightshiftConfig.load`,
///   validating each agent with its real runner, exactly as `nightshift serve` reads its config
///   (there is no opt-out: a partial example is written as a complete, minimal file);
/// - every `nightshift …` command in a fenced shell block (```sh, ```bash, ```shell, ```zsh,
///   ```console — there only the `$ ` lines — and plain ``` blocks) must parse with the CLI's own
///   argument parser, `validate()` included, and name a command, not a command group. Commands are
///   found after `$ `, env assignments (`NIGHTSHIFT_URL=… nightshift …`), `env`, in
///   `swift run … nightshift …`, as `.build/release/nightshift …`, inside `$(…)`, and between
///   `;`, `&&`, `||`, `|` and `&`; `\` continues a line and `#` starts a comment. Words are split
///   like a shell does, without expansion, so placeholders such as `$ID` or `<task-id>` are
///   arguments as written;
/// - every inline code span that starts with a `nightshift` command is a synopsis
///   (`nightshift checkpoints list [--agent A]`): its subcommands must exist and each `--option` it
///   names must be one of that command's options.
///
/// Every failure names the file and line of the example and the loader's or parser's message.
enum DocExamples {
    /// The package's root directory.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A fenced code block: its file, the lines of its opening and closing fences, its info string
    /// and its lines.
    struct CodeBlock: Sendable, CustomTestStringConvertible {
        let file: String
        let line: Int
        let end: Int
        let language: String
        let lines: [(number: Int, text: String)]

        var text: String { lines.map { $0.text + "\n" }.joined() }
        var location: String { "\(file):\(line)" }
        var testDescription: String { "\(location) ```\(language)" }
    }

    /// A `nightshift` command found in the docs: where, as written, and the arguments after
    /// `nightshift`; or, for a line that mentions `nightshift` but cannot be split, why.
    struct CommandExample: Sendable, CustomTestStringConvertible {
        let file: String
        let line: Int
        let text: String
        var arguments: [String] = []
        var problem: String? = nil

        var location: String { "\(file):\(line)" }
        var testDescription: String {
            if problem != nil { return "\(location) \(text)" }
            return "\(location) nightshift " + arguments.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        }
    }

    /// README.md and every Markdown file under docs/, relative to the root, sorted.
    static func markdownFiles() throws -> [String] {
        var files = ["README.md"]
        let docs = root.appendingPathComponent("docs")
        guard let walk = FileManager.default.enumerator(at: docs, includingPropertiesForKeys: nil) else {
            throw DocsNotFound(path: docs.path)
        }
        for case let url as URL in walk where url.pathExtension == "md" {
            files.append("docs/" + url.path.dropFirst(docs.path.count + 1))
        }
        return files.sorted()
    }

    private struct DocsNotFound: Error, CustomStringConvertible {
        let path: String
        var description: String { "no docs directory at \(path)" }
    }

    /// The lines of `file`, numbered from 1.
    private static func lines(of file: String) throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// The fenced code blocks of `file` (``` or ~~~ fences, indented by up to three spaces, or
    /// inside list items); an unclosed fence runs to the end of the file, as in CommonMark.
    static func codeBlocks(in file: String) throws -> [CodeBlock] {
        var blocks: [CodeBlock] = []
        var open: (line: Int, indent: Int, fence: String, language: String, lines: [(number: Int, text: String)])?
        let text = try lines(of: file)
        for (index, line) in text.enumerated() {
            let indent = line.prefix { $0 == " " }.count
            let rest = line.dropFirst(indent)
            if var current = open {
                let closing = rest.prefix { $0 == current.fence.first }
                if closing.count >= current.fence.count, rest.dropFirst(closing.count).allSatisfy(\.isWhitespace) {
                    blocks.append(CodeBlock(file: file, line: current.line, end: index + 1, language: current.language, lines: current.lines))
                    open = nil
                } else {
                    current.lines.append((index + 1, String(line.dropFirst(min(indent, current.indent)))))
                    open = current
                }
                continue
            }
            for marker in ["`", "~"] where rest.hasPrefix(String(repeating: marker, count: 3)) {
                let fence = String(rest.prefix { String($0) == marker })
                let info = rest.dropFirst(fence.count).trimmingCharacters(in: .whitespaces)
                let language = String(info.prefix { !$0.isWhitespace && $0 != "{" && $0 != "," }).lowercased()
                open = (index + 1, indent, fence, language, [])
            }
        }
        if let current = open {
            blocks.append(CodeBlock(file: file, line: current.line, end: text.count, language: current.language, lines: current.lines))
        }
        return blocks
    }

    /// Every ```toml block of the docs.
    static func tomlBlocks() throws -> [CodeBlock] {
        try markdownFiles().flatMap { try codeBlocks(in: $0) }.filter { $0.language == "toml" && !isCodexConfig($0) }
    }

    /// Every ```toml block of the docs that is a Codex configuration (its first table is an
    /// `[mcp_servers.NAME]`), not Nightshift's.
    static func codexBlocks() throws -> [CodeBlock] {
        try markdownFiles().flatMap { try codeBlocks(in: $0) }.filter { $0.language == "toml" && isCodexConfig($0) }
    }

    private static func isCodexConfig(_ block: CodeBlock) -> Bool {
        block.lines.first { $0.text.hasPrefix("[") }?.text.hasPrefix("[mcp_servers.") == true
    }

    /// The info strings of blocks whose lines are shell commands; "" is a plain ``` block.
    private static let shellLanguages: Set<String> = ["sh", "bash", "shell", "zsh", "console", "shell-session", ""]

    /// Every `nightshift` command in the docs' shell blocks. A line that mentions `nightshift` but
    /// cannot be split (an unclosed quote, say) is returned with its `problem`, so it fails instead
    /// of being skipped.
    static func commandLines() throws -> [CommandExample] {
        var found: [CommandExample] = []
        for file in try markdownFiles() {
            for block in try codeBlocks(in: file) where shellLanguages.contains(block.language) {
                for (number, text) in logicalLines(block) {
                    let commands: (commands: [[String]], nested: [[String]])
                    do {
                        commands = try shellCommands(text)
                    } catch {
                        if text.contains("nightshift") {
                            found.append(CommandExample(file: file, line: number, text: text, problem: error.description))
                        }
                        continue
                    }
                    for words in commands.commands + commands.nested {
                        if let arguments = nightshiftArguments(words) {
                            found.append(CommandExample(file: file, line: number, text: text, arguments: arguments))
                        }
                    }
                }
            }
        }
        return found
    }

    /// A block's commands, each with the line it starts on: `\` at the end of a line joins the next
    /// one; in ```console blocks only `$ ` lines are commands (the rest is output); a leading `$ `
    /// prompt is dropped.
    private static func logicalLines(_ block: CodeBlock) -> [(number: Int, text: String)] {
        var result: [(number: Int, text: String)] = []
        var pending: (number: Int, text: String)?
        for (number, raw) in block.lines {
            if var current = pending {
                current.text += raw
                pending = nil
                if current.text.hasSuffix("\\") {
                    current.text.removeLast()
                    pending = current
                } else {
                    result.append(current)
                }
                continue
            }
            var text = raw.drop { $0 == " " }
            if text.hasPrefix("$ ") {
                text = text.dropFirst(2)
            } else if block.language == "console" || block.language == "shell-session" {
                continue
            }
            if text.hasSuffix("\\") {
                pending = (number, String(text.dropLast()))
            } else {
                result.append((number, String(text)))
            }
        }
        if let pending { result.append(pending) }
        return result
    }

    /// The arguments after `nightshift` when `words` runs it: after env assignments or `env`,
    /// as `nightshift`, as a path ending in `/nightshift`, or as `swift run [OPTIONS] nightshift`.
    static func nightshiftArguments(_ words: [String]) -> [String]? {
        var words = words[...]
        while let first = words.first, first == "env" || isAssignment(first) { words.removeFirst() }
        guard let program = words.first else { return nil }
        if program == "nightshift" || isBuiltBinary(program) { return Array(words.dropFirst()) }
        if program == "swift", words.dropFirst().first == "run", let index = words.firstIndex(of: "nightshift") {
            return Array(words[(index + 1)...])
        }
        // A command another program runs after `--` (`claude mcp add NAME -- nightshift mcp`).
        if let dashes = words.firstIndex(of: "--") { return nightshiftArguments(Array(words[(dashes + 1)...])) }
        return nil
    }

    /// A path to a built `nightshift` (`.build/release/nightshift`, `./nightshift`, `/usr/local/bin/nightshift`),
    /// not a data directory such as `~/.local/share/nightshift` or `$XDG_DATA_HOME/nightshift`.
    private static func isBuiltBinary(_ word: String) -> Bool {
        word.hasSuffix("/nightshift") && (word.hasPrefix("/") || word.hasPrefix("./") || word.hasPrefix(".build/"))
            && !word.contains("/share/")
    }

    /// `NAME=value`.
    private static func isAssignment(_ word: String) -> Bool {
        guard let equals = word.firstIndex(of: "="), equals != word.startIndex else { return false }
        let name = word[..<equals]
        return name.first.map { $0 == "_" || $0.isLetter } == true && name.allSatisfy { $0 == "_" || $0.isLetter || $0.isNumber }
    }

    /// A line a shell could not split.
    struct ShellSyntaxError: Error, CustomStringConvertible {
        let description: String
    }

    /// Splits a shell line into simple commands (their words, quotes removed, nothing expanded) the
    /// way a POSIX shell would: `'…'`, `"…"` and `\` quote; `;`, `&`, `&&`, `|`, `||`, `(` and `)`
    /// separate commands; redirections (`> FILE`, `2>&1`) are dropped; `#` at the start of a word
    /// ends the line. A `$(…)` or backquoted substitution stays in its word as `$(…)`; the commands
    /// inside it are returned as `nested`.
    static func shellCommands(_ line: String) throws(ShellSyntaxError) -> (commands: [[String]], nested: [[String]]) {
        var commands: [[String]] = []
        var nested: [[String]] = []
        var words: [String] = []
        var word = ""
        var inWord = false
        var dropNextWord = false
        let characters = Array(line)
        var index = 0

        func endWord() {
            guard inWord else { return }
            if dropNextWord { dropNextWord = false } else { words.append(word) }
            word = ""
            inWord = false
        }
        func endCommand() {
            endWord()
            if !words.isEmpty { commands.append(words) }
            words = []
            dropNextWord = false
        }
        /// The index of the `)` that closes the `$(` whose contents start at `start`.
        func closingParenthesis(from start: Int) throws(ShellSyntaxError) -> Int {
            var depth = 1
            var position = start
            while position < characters.count {
                switch characters[position] {
                case "'":
                    guard let end = characters[(position + 1)...].firstIndex(of: "'") else {
                        throw ShellSyntaxError(description: "unclosed ' in $(…)")
                    }
                    position = end
                case "\\": position += 1
                case "(": depth += 1
                case ")":
                    depth -= 1
                    if depth == 0 { return position }
                default: break
                }
                position += 1
            }
            throw ShellSyntaxError(description: "unclosed $(")
        }
        /// Reads the substitution starting at `index` (at `$(` or a backquote) into `nested`.
        func substitution() throws(ShellSyntaxError) {
            let inner: String
            if characters[index] == "`" {
                guard let end = characters[(index + 1)...].firstIndex(of: "`") else { throw ShellSyntaxError(description: "unclosed `") }
                inner = String(characters[(index + 1)..<end])
                index = end + 1
            } else {
                let end = try closingParenthesis(from: index + 2)
                inner = String(characters[(index + 2)..<end])
                index = end + 1
            }
            let parsed = try shellCommands(inner)
            nested += parsed.commands + parsed.nested
            word += "$(…)"
            inWord = true
        }

        while index < characters.count {
            let character = characters[index]
            let next = index + 1 < characters.count ? characters[index + 1] : nil
            switch character {
            case " ", "\t", "\n":
                endWord()
                index += 1
            case "#" where !inWord:
                index = characters.count
            case "'":
                guard let end = characters[(index + 1)...].firstIndex(of: "'") else { throw ShellSyntaxError(description: "unclosed '") }
                word += String(characters[(index + 1)..<end])
                inWord = true
                index = end + 1
            case "\"":
                inWord = true
                index += 1
                var closed = false
                while index < characters.count {
                    let inside = characters[index]
                    if inside == "\"" {
                        closed = true
                        index += 1
                        break
                    }
                    if inside == "\\", index + 1 < characters.count, "\"\\$`".contains(characters[index + 1]) {
                        word.append(characters[index + 1])
                        index += 2
                    } else if inside == "`" || (inside == "$" && index + 1 < characters.count && characters[index + 1] == "(") {
                        try substitution()
                    } else {
                        word.append(inside)
                        index += 1
                    }
                }
                if !closed { throw ShellSyntaxError(description: "unclosed \"") }
            case "\\":
                if let next { word.append(next) }
                inWord = true
                index += 2
            case "$" where next == "(", "`":
                try substitution()
            case ";", "&", "|", "(", ")":
                endCommand()
                index += next == character && character != "(" && character != ")" ? 2 : 1
            case ">", "<":
                // `2>` is a redirection of descriptor 2: the digits are not a word.
                if inWord, word.allSatisfy(\.isNumber) { word = ""; inWord = false }
                endWord()
                index += 1
                if index < characters.count, characters[index] == ">" || characters[index] == "&" { index += 1 }
                dropNextWord = true
            default:
                word.append(character)
                inWord = true
                index += 1
            }
        }
        endCommand()
        return (commands, nested)
    }

    /// Every inline code span (outside fenced blocks) that starts with a `nightshift` command, as a
    /// synopsis: its words, split at whitespace, with `[` and `]` of optional parts removed.
    static func inlineSynopses() throws -> [CommandExample] {
        var found: [CommandExample] = []
        for file in try markdownFiles() {
            var fenced = IndexSet()
            for block in try codeBlocks(in: file) { fenced.insert(integersIn: block.line...block.end) }
            var prose: [(number: Int, text: String)] = []
            for (index, line) in try lines(of: file).enumerated() where !fenced.contains(index + 1) {
                prose.append((index + 1, line))
            }
            for (number, span) in codeSpans(prose) {
                for part in span.components(separatedBy: " && ") {
                    let words = part.split(whereSeparator: \.isWhitespace).map(String.init)
                    // A bare `nightshift` is the program's name, not a synopsis.
                    guard let arguments = nightshiftArguments(words), !arguments.isEmpty else { continue }
                    let cleaned = arguments.map(withoutOptionalBrackets).filter { !$0.isEmpty }
                    found.append(CommandExample(file: file, line: number, text: part, arguments: cleaned))
                }
            }
        }
        return found
    }

    /// A synopsis word without the brackets that mark optional parts: `[--agent` → `--agent`,
    /// `A]` → `A`, `DB[?schema=NAME]` unchanged.
    private static func withoutOptionalBrackets(_ word: String) -> String {
        var word = word[...]
        if word.first == "[" { word = word.dropFirst() }
        while word.last == "]", word.filter({ $0 == "]" }).count > word.filter({ $0 == "[" }).count { word = word.dropLast() }
        return String(word)
    }

    /// The code spans of consecutive prose lines (a span may continue onto the next line of its
    /// paragraph), each with the line it starts on.
    private static func codeSpans(_ lines: [(number: Int, text: String)]) -> [(line: Int, text: String)] {
        var spans: [(line: Int, text: String)] = []
        var open: (line: Int, ticks: Int, text: String)?
        for (number, text) in lines {
            if text.trimmingCharacters(in: .whitespaces).isEmpty { open = nil }
            var characters = text[...]
            while !characters.isEmpty {
                let ticks = characters.prefix { $0 == "`" }.count
                if ticks > 0 {
                    characters = characters.dropFirst(ticks)
                    if let current = open {
                        if ticks == current.ticks {
                            spans.append((current.line, current.text.trimmingCharacters(in: .whitespaces)))
                            open = nil
                        } else {
                            open?.text += String(repeating: "`", count: ticks)
                        }
                    } else {
                        open = (number, ticks, "")
                    }
                    continue
                }
                let run = characters.prefix { $0 != "`" }
                open?.text += run
                characters = characters.dropFirst(run.count)
            }
            open?.text += " "
        }
        return spans
    }

    /// A command's name and aliases.
    static func names(_ command: any ParsableCommand.Type) -> [String] {
        [command.configuration.commandName ?? "\(command)".lowercased()] + command.configuration.aliases
    }

    /// `nightshift SUB …` for a subcommand type, by searching the tree.
    static func path(of target: any ParsableCommand.Type) -> String {
        func search(_ command: any ParsableCommand.Type, _ prefix: [String]) -> [String]? {
            let here = prefix + [names(command)[0]]
            if ObjectIdentifier(command) == ObjectIdentifier(target) { return here }
            for sub in command.configuration.subcommands {
                if let found = search(sub, here) { return found }
            }
            return nil
        }
        return search(NightshiftCommand.self, [])?.joined(separator: " ") ?? "\(target)"
    }
}
