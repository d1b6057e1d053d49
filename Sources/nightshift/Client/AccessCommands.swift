import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift tokens`: API tokens of workspaces, for admins (`create`, `list`, `revoke`).
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke API tokens (admins only).",
        subcommands: [TokensCreateCommand.self, TokensListCommand.self, TokensRevokeCommand.self],
        defaultSubcommand: TokensListCommand.self)
}

/// `nightshift tokens create --workspace W --role ROLE [--name N]`.
struct TokensCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a token and print it (it is shown this once).",
        discussion: CLIExitCodes.discussion("""
            Roles: admin (everything in its workspace, its tokens included), member (submit and act on \
            tasks; agents, memories, checkpoints), read_only (reads only). Only an admin of workspace \
            default may create a token for another workspace. Prints the token alone on its line; \
            with --json, the API's answer, whose "token" holds it. The daemon keeps its SHA-256 only.
            """))

    @Option(help: "The workspace the token acts in (default: the caller's).")
    var workspace: String?

    @Option(help: "admin, member or read_only.")
    var role: String

    @Option(help: "A name for people: who or what holds the token.")
    var name: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let created = try await options.client().createToken(role: role, workspace: workspace, name: name)
        if options.json {
            CLIOutput.json(created)
        } else {
            CLIOutput.line(created.token)
            let record = created.record
            CLIOutput.note("token \(record.id) (\(record.role) of \(record.workspace)): store it now, it is not shown again")
        }
    }
}

/// `nightshift tokens list`.
struct TokensListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List tokens (never their text).",
        discussion: CLIExitCodes.discussion("An admin of default sees every workspace's tokens. With --json, prints {\"tokens\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let tokens = try await options.client().tokens()
        if options.json {
            CLIOutput.json(WireTokenList(tokens: tokens))
            return
        }
        guard !tokens.isEmpty else {
            CLIOutput.line("no tokens (the bootstrap token in the data directory is not listed)")
            return
        }
        var table = CLITable(["ID", "WORKSPACE", "ROLE", "NAME", "CREATED", "REVOKED"])
        for token in tokens {
            table.add([
                .init(token.id, style: "1"), .init(token.workspace), .init(token.role), .init(token.name.isEmpty ? "-" : token.name),
                .init(CLIOutput.timestamp(token.createdAt)),
                .init(token.revokedAt == nil ? "-" : CLIOutput.timestamp(token.revokedAt), style: "31"),
            ])
        }
        table.print()
    }
}

/// `nightshift tokens revoke ID`.
struct TokensRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a token: it gets 401 from its next request on, on every node.",
        discussion: CLIExitCodes.discussion("Exits 3 if there is no such token. With --json, prints {\"revoked\":ID}."))

    @Argument(help: "The token's id (from tokens list).")
    var id: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        try await options.client().revokeToken(id)
        if options.json { CLIOutput.json(["revoked": .string(id)]) } else { CLIOutput.line("revoked \(id)") }
    }
}

/// `nightshift workspaces`: create and list workspaces (admins of default only).
struct WorkspacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workspaces",
        abstract: "Create and list workspaces (admins of workspace default only).",
        subcommands: [WorkspacesCreateCommand.self, WorkspacesListCommand.self],
        defaultSubcommand: WorkspacesListCommand.self)
}

/// `nightshift workspaces create ID`.
struct WorkspacesCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a workspace.",
        discussion: CLIExitCodes.discussion("Exits 1 if it exists. With --json, prints the API's workspace object."))

    @Argument(help: "The workspace's id: 1 to 64 letters, digits, '-', '_' or '.'.")
    var id: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let created = try await options.client().createWorkspace(id)
        if options.json { CLIOutput.json(created) } else { CLIOutput.line("created workspace \(created.id)") }
    }
}

/// `nightshift workspaces list`.
struct WorkspacesListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the workspaces.",
        discussion: CLIExitCodes.discussion("With --json, prints {\"workspaces\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let workspaces = try await options.client().workspaces()
        if options.json {
            CLIOutput.json(WireWorkspaceList(workspaces: workspaces))
            return
        }
        var table = CLITable(["ID", "CREATED"])
        for workspace in workspaces {
            table.add([.init(workspace.id, style: "1"), .init(CLIOutput.timestamp(workspace.createdAt))])
        }
        table.print()
    }
}
