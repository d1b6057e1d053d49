import Foundation

/// Where the `nightshift` program is, for the commands Nightshift hands to an agent CLI to run
/// back into it (Claude Code's tool-approval hook, the MCP server of Nightshift's tools).
public enum NightshiftExecutable {
    /// `$NIGHTSHIFT_EXECUTABLE` when set, else this process's own executable when it is named
    /// `nightshift`; `nil` otherwise (a program embedding the engine sets the variable, or passes
    /// the path to ``AgentRunners/all(killGrace:environment:nightshiftExecutable:)``).
    public static var current: String? {
        if let path = ProcessInfo.processInfo.environment["NIGHTSHIFT_EXECUTABLE"], !path.isEmpty { return path }
        guard let own = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else {
            let argument = CommandLine.arguments.first.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            return argument.flatMap { URL(fileURLWithPath: $0).lastPathComponent == "nightshift" ? $0 : nil }
        }
        return URL(fileURLWithPath: own).lastPathComponent == "nightshift" ? own : nil
    }
}
