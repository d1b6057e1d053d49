import Nightshift

/// How each agent CLI is told its run's execution policy, in its own flags (the table in
/// docs/sandbox.md). Only the fields the agent or task set explicitly are mapped: an agent without
/// a policy keeps its runner config's flags as they were. Where the policy and the runner config
/// both speak, the policy wins.
enum PolicyFlags {
    /// Claude Code's tools that change files.
    static let claudeWriteTools = ["Edit", "MultiEdit", "Write", "NotebookEdit"]
    /// Claude Code's tools that read the workspace.
    static let claudeReadTools = ["Read", "Glob", "Grep", "LS"]
    /// Claude Code's tools that reach the network.
    static let claudeNetworkTools = ["WebFetch", "WebSearch"]

    /// Claude Code: `--permission-mode` (`bypassPermissions` for `full`, `default` otherwise, the
    /// config's mode when the policy sets no security), and the tool rules to allow and deny.
    static func claude(_ policy: ExecutionPolicy, configuredMode: String?) -> (mode: String?, allowed: [String], disallowed: [String]) {
        var mode = configuredMode
        var allowed: [String] = []
        var disallowed: [String] = []
        switch policy.security {
        case .full?: mode = configuredMode ?? "bypassPermissions"
        case .allowlist?:
            if mode == nil || mode == "bypassPermissions" || mode == "acceptEdits" { mode = "default" }
            allowed += policy.allow ?? []
        case .deny?:
            mode = mode == "plan" ? "plan" : "default"
            disallowed += ["Bash"] + claudeWriteTools
        case nil: break
        }
        switch policy.workspace {
        case .ro?: disallowed += claudeWriteTools
        case .none?: disallowed += claudeWriteTools + claudeReadTools
        case .rw?, nil: break
        }
        if policy.network == false {
            disallowed += claudeNetworkTools
        } else if let hosts = policy.hosts {
            allowed += hosts.map { "WebFetch(domain:\($0))" }
        }
        return (mode, unique(allowed), unique(disallowed))
    }

    /// Codex: `--sandbox` (`read-only` for security `deny` or a workspace that is not `rw`,
    /// `danger-full-access` for `full` with the network on, else `workspace-write`) and its
    /// workspace-write network switch; `nil` members leave the config's.
    static func codex(_ policy: ExecutionPolicy) -> (sandbox: String?, config: [String]) {
        var sandbox: String?
        if policy.security == .deny || policy.workspace == .ro || policy.workspace == ExecutionPolicy.WorkspaceAccess.none {
            sandbox = "read-only"
        } else if policy.security == .full, policy.network != false {
            sandbox = "danger-full-access"
        } else if policy.security != nil || policy.workspace != nil || policy.network != nil {
            sandbox = "workspace-write"
        }
        var config: [String] = []
        if let network = policy.network { config.append("sandbox_workspace_write.network_access=\(network)") }
        return (sandbox, config)
    }

    /// Gemini: `--approval-mode` (`yolo` for `full`, `default` for `deny` and `allowlist`) and the
    /// `--allowed-tools` of an allowlist; `nil` leaves the config's mode.
    static func gemini(_ policy: ExecutionPolicy, configuredMode: String?) -> (mode: String?, allowed: [String]) {
        switch policy.security {
        case .full?: return (configuredMode ?? "yolo", [])
        case .allowlist?: return ("default", policy.allow ?? [])
        case .deny?: return ("default", [])
        case nil: return (configuredMode, [])
        }
    }

    private static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}
