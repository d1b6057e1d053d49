import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// What the action commands share: run `action` on the task and print it.
protocol TaskActionCommand: AsyncParsableCommand {
    /// The route.
    static var action: NightshiftClient.TaskAction { get }
    /// The task's id.
    var id: String { get }
    /// `--json`, `--url`, `--home`.
    var options: ClientOptions { get }
}

extension TaskActionCommand {
    /// The help text shared by the action commands.
    static func discussion(_ text: String) -> String {
        CLIExitCodes.discussion(text + """
             Prints the task's id and new state; with --json, the API's task object. Exits 1 if the \
            task's state does not allow it (HTTP 409).
            """)
    }

    func run() async throws {
        let task = try await options.client().perform(Self.action, task: id)
        TaskFormat.print(task, json: options.json)
    }
}

/// `nightshift cancel ID [--reason TEXT]`.
struct CancelCommand: TaskActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel", abstract: "Cancel a task (a running one is stopped).",
        discussion: discussion("Stops the task for good; a running agent is terminated. --reason becomes the task's error."))
    static let action = NightshiftClient.TaskAction.cancel

    @Argument(help: "The task's id.")
    var id: String

    @Option(help: "Why: shown as the task's error.")
    var reason: String?

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let task = try await options.client().cancel(taskID: id, reason: reason)
        TaskFormat.print(task, json: options.json)
    }
}

/// `nightshift retry ID`.
struct RetryCommand: TaskActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Run a task that ended (error, cancelled, dropped) again.",
        discussion: discussion("Queues the task again as a new attempt."))
    static let action = NightshiftClient.TaskAction.retry

    @Argument(help: "The task's id.")
    var id: String

    @OptionGroup var options: ClientOptions
}

/// `nightshift pause ID`.
struct PauseCommand: TaskActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause", abstract: "Hold a task back until it is resumed.",
        discussion: discussion("""
            A paused task is not claimed by any worker. A running task is asked to pause and stays \
            running: a workflow pauses between steps (the step under way completes); any other run goes \
            on, and the task pauses if the run ends in a way that would queue it again.
            """))
    static let action = NightshiftClient.TaskAction.pause

    @Argument(help: "The task's id.")
    var id: String

    @OptionGroup var options: ClientOptions
}

/// `nightshift resume ID`.
struct ResumeCommand: TaskActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Let a paused task run again.",
        discussion: discussion("""
            Queues a paused task again (a workflow replays the steps done and goes on). For a running \
            task, withdraws a pause asked for that has not taken effect yet.
            """))
    static let action = NightshiftClient.TaskAction.resume

    @Argument(help: "The task's id.")
    var id: String

    @OptionGroup var options: ClientOptions
}

/// `nightshift archive ID`.
struct ArchiveCommand: TaskActionCommand {
    static let configuration = CommandConfiguration(
        commandName: "archive", abstract: "Hide a task that ended from list (list --archived shows it).",
        discussion: discussion("Only a task that ended (done, error, cancelled, dropped) can be archived."))
    static let action = NightshiftClient.TaskAction.archive

    @Argument(help: "The task's id.")
    var id: String

    @OptionGroup var options: ClientOptions
}

/// `nightshift priority ID N`.
struct PriorityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "priority", abstract: "Change the priority of a task that has not ended (lower runs first).",
        discussion: CLIExitCodes.discussion("""
            Prints the task's id, state and new priority; with --json, the API's task object. Exits 1 if \
            the task has ended (HTTP 409).
            """))

    @Argument(help: "The task's id.")
    var id: String

    @Argument(help: "The new priority, an integer ≥ 0.")
    var priority: Int

    @OptionGroup var options: ClientOptions

    func validate() throws {
        if priority < 0 { throw ValidationError("priority: expected an integer ≥ 0, got \(priority)") }
    }

    func run() async throws {
        let task = try await options.client().setPriority(priority, task: id)
        if options.json {
            CLIOutput.json(task)
        } else {
            CLIOutput.line(TaskFormat.summary(task) + "  priority \(task.priority)")
        }
    }
}
