import Foundation
import Nightshift

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What to start for one run of a `command` agent: the argv, environment and directory,
/// read from the agent's config and checked before anything is spawned.
struct CommandInvocation: Sendable, Hashable {
    /// The absolute path of the program.
    var executablePath: String
    /// The argv as configured (`argv[0]` as written, not resolved).
    var arguments: [String]
    /// The child's whole environment.
    var environment: [String: String]
    /// The child's working directory.
    var workingDirectory: String

    /// The most bytes of the prompt put in `NIGHTSHIFT_PROMPT` (the kernel refuses to start a
    /// program with a single variable over 128 KiB); a longer prompt is cut there and
    /// `NIGHTSHIFT_PROMPT_TRUNCATED=1` is set.
    static let promptVariableLimit = 96 << 10

    /// Builds the invocation for `request`, reading the variables to pass through with `lookup`.
    /// Returns the failure to report when the config is wrong or the program is missing.
    static func make(
        for request: RunRequest,
        defaultEnvironment: [String],
        lookup: (String) -> String? = CommandInvocation.processVariable
    ) -> Result<CommandInvocation, InvocationError> {
        Result { () throws(InvocationError) in try commandArgv(request.agent) }
            .flatMap { make(for: request, argv: $0, defaultEnvironment: defaultEnvironment, lookup: lookup) }
    }

    /// Builds the invocation of `argv` for `request`: the agent's `workdir` and `env` keys, the
    /// Nightshift variables, and `argv[0]` resolved against the child's `PATH`.
    static func make(
        for request: RunRequest,
        argv: [String],
        defaultEnvironment: [String],
        lookup: (String) -> String? = CommandInvocation.processVariable
    ) -> Result<CommandInvocation, InvocationError> {
        Result { () throws(InvocationError) in
            let agent = request.agent
            let workdir = try workingDirectory(agent, taskDirectory: request.workingDirectory)
            var environment: [String: String] = [:]
            for name in try variableNames(agent, default: defaultEnvironment) {
                if let value = lookup(name) { environment[name] = value }
            }
            environment.merge(nightshiftVariables(request, workdir: workdir)) { _, ours in ours }

            let searchPath = environment["PATH"] ?? lookup("PATH") ?? "/usr/bin:/bin"
            guard let executable = resolveExecutable(argv[0], searchPath: searchPath, relativeTo: workdir) else {
                if argv[0].contains("/") {
                    throw .notFound("agent CLI not found: \(argv[0]) (no executable file at that path)")
                }
                throw .notFound("agent CLI not found: \(argv[0]) (searched PATH=\(searchPath))")
            }
            return CommandInvocation(
                executablePath: executable, arguments: argv, environment: environment, workingDirectory: workdir
            )
        }
    }

    /// The `command` key: a non-empty array of strings with a non-empty first one.
    private static func commandArgv(_ agent: Agent) throws(InvocationError) -> [String] {
        let problem = InvocationError.config(
            "agent \(agent.name): config key 'command' expected a non-empty JSON array of strings, e.g. [\"claude\", \"-p\"]"
        )
        guard case .array(let items)? = agent.config["command"] else { throw problem }
        let argv = items.compactMap(\.stringValue)
        guard argv.count == items.count, let first = argv.first, !first.isEmpty else { throw problem }
        return argv
    }

    /// The `workdir` key (relative to the task's directory), or the task's directory; it must exist.
    private static func workingDirectory(_ agent: Agent, taskDirectory: URL) throws(InvocationError) -> String {
        var workdir = taskDirectory.path
        switch agent.config["workdir"] {
        case nil, .null?: break
        case .string(let path)? where !path.isEmpty:
            workdir = path.hasPrefix("/") ? path : taskDirectory.appendingPathComponent(path).path
        default:
            throw .config("agent \(agent.name): config key 'workdir' expected a non-empty string (a directory path)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workdir, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw .config("agent \(agent.name): working directory \(workdir) does not exist")
        }
        return workdir
    }

    /// The `env` key (variable names), or the default allowlist.
    private static func variableNames(_ agent: Agent, default names: [String]) throws(InvocationError) -> [String] {
        let problem = InvocationError.config(
            "agent \(agent.name): config key 'env' expected a JSON array of environment variable names"
        )
        switch agent.config["env"] {
        case nil, .null?:
            return names
        case .array(let values)?:
            let strings = values.compactMap(\.stringValue)
            guard strings.count == values.count, strings.allSatisfy(isVariableName) else { throw problem }
            return strings
        default:
            throw problem
        }
    }

    /// The variables every agent gets: the prompt (cut at ``promptVariableLimit``), ids and workdir,
    /// and on a retried attempt the previous error and the resume hint.
    private static func nightshiftVariables(_ request: RunRequest, workdir: String) -> [String: String] {
        var variables = [
            "NIGHTSHIFT_PROMPT": request.prompt,
            "NIGHTSHIFT_TASK_ID": request.task.id.rawValue,
            "NIGHTSHIFT_RUN_ID": request.run.id,
            "NIGHTSHIFT_ATTEMPT": String(request.run.attempt),
            "NIGHTSHIFT_WORKDIR": workdir,
        ]
        if let directory = request.checkpointDirectory {
            variables["NIGHTSHIFT_CHECKPOINT_DIR"] = directory.path
        }
        if let traceParent = request.traceParent { variables["TRACEPARENT"] = traceParent }
        // A retried attempt: the facts a script needs to pick up, beside its unchanged prompt.
        if let error = request.previousError { variables["NIGHTSHIFT_PREVIOUS_ERROR"] = String(error.prefix(8192)) }
        if let hint = request.resumeHint { variables["NIGHTSHIFT_RESUME_HINT"] = String(hint.prefix(8192)) }
        // The inputs this run delivers, as a JSON array of input lines' objects (cut like the prompt).
        if !request.inputs.isEmpty {
            let inputs = "[" + request.inputs.map(CommandLineProtocol.inputLine).joined(separator: ",") + "]"
            if inputs.utf8.count <= promptVariableLimit { variables["NIGHTSHIFT_INPUTS"] = inputs } else { variables["NIGHTSHIFT_INPUTS_TRUNCATED"] = "1" }
        }
        let prompt = Array(request.prompt.utf8)
        if prompt.count > promptVariableLimit {
            // The kernel refuses a variable over 128 KiB; stdin always carries the whole prompt.
            let cut = UTF8Cut.boundary(in: prompt, atMost: promptVariableLimit)
            variables["NIGHTSHIFT_PROMPT"] = String(decoding: prompt[..<cut], as: UTF8.self)
            variables["NIGHTSHIFT_PROMPT_TRUNCATED"] = "1"
        }
        return variables
    }

    /// The absolute path of `name`: itself (made absolute against `directory`) if it contains a `/`,
    /// else the first executable regular file named `name` in a `searchPath` directory.
    static func resolveExecutable(_ name: String, searchPath: String, relativeTo directory: String) -> String? {
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : directory + "/" + name
            return isExecutableFile(path) ? path : nil
        }
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: true) {
            var dir = String(entry)
            if !dir.hasPrefix("/") { dir = directory + "/" + dir }
            let candidate = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// Whether `path` is a regular file (after symlinks) the daemon may execute.
    static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// Whether `name` can be an environment variable name (non-empty, no `=` or NUL).
    static func isVariableName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("=") && !name.contains("\0")
    }

    /// The daemon's current value of a variable.
    @Sendable static func processVariable(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        return String(cString: value)
    }
}

/// Why a command agent could not be started; both are non-retryable.
enum InvocationError: Error, Sendable, Hashable {
    /// The agent's config is wrong.
    case config(String)
    /// The program does not exist or is not executable.
    case notFound(String)

    /// The message for the run's error.
    var message: String {
        switch self {
        case .config(let text), .notFound(let text): text
        }
    }
}
