import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift memory`: the notes agents keep between sessions, one summary per key.
struct MemoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory",
        abstract: "Set, get, list and delete agents' memories.",
        subcommands: [MemorySetCommand.self, MemoryGetCommand.self, MemoryListCommand.self, MemoryDeleteCommand.self])
}

/// The AGENT KEY arguments naming one memory.
struct MemoryAddress: ParsableArguments {
    @Argument(help: "The agent.")
    var agent: String

    @Argument(help: "The key (1 to 256 characters).")
    var key: String
}

/// `nightshift memory set AGENT KEY SUMMARY`.
struct MemorySetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Write a memory (its version goes up by one).",
        discussion: CLIExitCodes.discussion("""
            SUMMARY `-` reads the summary from standard input. With --expected-version, writes only \
            if the memory is at that version (0: only if it does not exist yet), else exits 1 \
            (HTTP 409). Prints the key and its new version; with --json, the API's memory object.
            """))

    @OptionGroup var address: MemoryAddress

    @Argument(help: "The summary (at most 64 KiB), or - to read it from standard input.")
    var summary: String

    @Option(name: .customLong("expected-version"), help: "Write only over this version (0: only a new memory).")
    var expectedVersion: Int?

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if let expectedVersion, expectedVersion < 0 {
            throw ValidationError("--expected-version: expected an integer ≥ 0, got \(expectedVersion)")
        }
    }

    func run() async throws {
        let text = summary == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : summary
        let memory = try await options.client().setMemory(
            agent: address.agent, key: address.key, summary: text, expectedVersion: expectedVersion)
        if options.json { CLIOutput.json(memory) } else {
            CLIOutput.line("\(memory.key)  version \(memory.version)")
        }
    }
}

/// `nightshift memory get AGENT KEY`.
struct MemoryGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print a memory's summary.",
        discussion: CLIExitCodes.discussion("Prints the summary as is; with --json, the API's memory object (with its version)."))

    @OptionGroup var address: MemoryAddress

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let memory = try await options.client().memory(agent: address.agent, key: address.key)
        if options.json { CLIOutput.json(memory) } else { CLIOutput.line(memory.summary) }
    }
}

/// `nightshift memory list AGENT`.
struct MemoryListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List an agent's memories, by key.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"memories\":[..]}."),
        aliases: ["ls"])

    @Argument(help: "The agent.")
    var agent: String

    @Option(help: "Only keys starting with this.")
    var prefix: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let memories = try await options.client().memories(agent: agent, prefix: prefix)
        if options.json {
            CLIOutput.json(WireMemoryList(memories: memories))
            return
        }
        guard !memories.isEmpty else {
            CLIOutput.line("no memories")
            return
        }
        let now = Date()
        var table = CLITable(["KEY", "VERSION", "UPDATED", "SUMMARY"], rightAligned: [1])
        for memory in memories {
            table.add([
                .init(memory.key, style: "1"), .init(String(memory.version)),
                .init(CLIOutput.relative(memory.updatedAt, now: now)),
                .init(CLIOutput.short(memory.summary, width: 60)),
            ])
        }
        table.print()
    }
}

/// `nightshift memory delete AGENT KEY`.
struct MemoryDeleteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a memory.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such memory. With --json, prints {\"deleted\":KEY}."),
        aliases: ["rm"])

    @OptionGroup var address: MemoryAddress

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().deleteMemory(agent: address.agent, key: address.key)
        if options.json { CLIOutput.json(["deleted": .string(address.key)]) } else { CLIOutput.line("deleted \(address.key)") }
    }
}
