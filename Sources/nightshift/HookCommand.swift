import ArgumentParser
import Foundation
import Nightshift
import NightshiftRunners

/// `nightshift hook …`: commands an agent CLI runs back into Nightshift during a run.
struct HookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook", abstract: "Hooks an agent CLI runs during a run (not for people).",
        subcommands: [PreToolUseHookCommand.self])
}

/// `nightshift hook pre-tool-use --approvals DATA`: Claude Code's `PreToolUse` hook for a task that
/// asks `on-miss` (see ``ClaudeToolGate``). Reads the hook's JSON on stdin, prints its decision.
struct PreToolUseHookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pre-tool-use",
        abstract: "Answer a Claude Code PreToolUse hook: allow, deny or defer the tool call on stdin.",
        discussion: """
            Nightshift writes this command into the --settings of a Claude Code run whose task asks \
            "on-miss", with what people decided in --approvals. It reads the hook's input (JSON) on \
            stdin and prints {"hookSpecificOutput": {"permissionDecision": …}}: allow for an approved \
            or allowlisted call, deny with the person's reason for a rejected one, defer otherwise.
            """)

    @Option(help: "What people approved and decided (base64 JSON, written by Nightshift).")
    var approvals: String

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        do {
            print(try ClaudeToolGate.runHook(stdin: input, approvals: approvals))
        } catch {
            throw ValidationError(error.message)
        }
    }
}
