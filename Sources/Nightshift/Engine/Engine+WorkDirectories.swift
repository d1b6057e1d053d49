import Foundation
import Logging

extension Engine {
    /// Where the runs of `task` work: `<workRoot>/<task id>`.
    func workDirectory(_ task: TaskID) -> URL {
        configuration.workRoot.appendingPathComponent(task.rawValue, isDirectory: true)
    }

    /// Where the git worktrees of tasks whose agent has a repository are: `<workRoot>/.worktrees`.
    var worktreeRoot: URL { configuration.workRoot.appendingPathComponent(".worktrees", isDirectory: true) }

    /// Where `task`'s git worktree is: `<workRoot>/.worktrees/<task id>`.
    func worktreeDirectory(_ task: TaskID) -> URL {
        worktreeRoot.appendingPathComponent(task.rawValue, isDirectory: true)
    }

    /// Where the artifacts of `task` are kept.
    func artifactDirectory(_ task: TaskID) -> URL {
        (configuration.artifactRoot ?? configuration.workRoot.appendingPathComponent(".artifacts", isDirectory: true))
            .appendingPathComponent(task.rawValue, isDirectory: true)
    }

    /// The file of `task`'s artifact `name` on this node, if there is one.
    public func artifactFile(_ task: TaskID, named name: String) -> URL? {
        guard RunArtifacts.keptName(name, path: name) == name else { return nil }
        let file = artifactDirectory(task).appendingPathComponent(name)
        return FileManager.default.fileExists(atPath: file.path) ? file : nil
    }

    /// Work and checkpoint directories are the user's alone (mode 0700): agents keep prompts,
    /// code and secrets there.
    static var privateDirectory: [FileAttributeKey: Any] { [.posixPermissions: 0o700] }

    /// The start of the name a directory is moved to while it is being removed.
    static let removingPrefix = ".removing-"


    /// Removes what `task`, which just ended in `state`, left on this node: its checkpoint
    /// directory, and its working directory unless it failed and failed ones are kept
    /// (``EngineConfiguration/failedWorkdirRetention``; the sweep removes those later).
    /// Nothing is touched while the task runs here: its run does this when it stops.
    func removeDirectories(of task: TaskID, endedIn state: TaskState) {
        var directories = [checkpointDirectory(task)]
        if state != .error || configuration.failedWorkdirRetention <= 0 { directories.append(workDirectory(task)) }
        remove(directories, of: task)
        let worktree = worktreeDirectory(task)
        if FileManager.default.fileExists(atPath: worktree.path), self.state.withLock({ $0.active[task] == nil }) {
            Task { await GitWorktrees.remove(worktree: worktree.path) }
        }
    }

    /// Removes the directories under the work root that no run will use again: those of tasks
    /// that ended, a failed task's working directory only once it is older than
    /// ``EngineConfiguration/failedWorkdirRetention``, and what an earlier removal left half done.
    /// Never those of a task that is queued, running, waiting or paused (its next attempt or its
    /// resume works there), nor the checkpoint quarantine, nor those of tasks the store does not
    /// know (another engine, on another store, may share the work root).
    /// The engine runs it at start and every ``EngineConfiguration/workdirSweepInterval``.
    /// Answers how many directories it removed.
    @discardableResult
    public func removeLeftoverDirectories(now: Date = Date()) async throws -> Int {
        let files = FileManager.default
        let root = configuration.workRoot
        var removed = 0
        for name in (try? files.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasPrefix(Self.removingPrefix) {
            if (try? files.removeItem(at: root.appendingPathComponent(name))) != nil { removed += 1 }
        }
        let working = Self.taskIDs(in: root)
        let checkpointing = Self.taskIDs(in: root.appendingPathComponent(".checkpoints", isDirectory: true))
        // The store is asked a chunk at a time, each chunk just before its directories go, so that
        // what it answers is recent.
        for chunk in working.union(checkpointing).sorted().chunks(of: 500) {
            let states = try await store.states(of: Array(chunk))
            for id in chunk {
                guard let record = states[id], record.state.isTerminal else { continue }
                var directories: [URL] = []
                if checkpointing.contains(id) { directories.append(checkpointDirectory(id)) }
                if working.contains(id), !keepsWorkDirectory(record, now: now) { directories.append(workDirectory(id)) }
                removed += remove(directories, of: id)
            }
        }
        return removed + (try await removeLeftoverWorktrees())
    }

    /// Removes the worktrees under `<workRoot>/.worktrees` whose task ended (unless made to be
    /// kept) or is unknown to the store, never one of a live task; answers how many went.
    func removeLeftoverWorktrees() async throws -> Int {
        let found = Self.taskIDs(in: worktreeRoot)
        var removed = 0
        for chunk in found.sorted().chunks(of: 500) {
            let states = try await store.states(of: Array(chunk))
            for id in chunk where states[id]?.state.isTerminal ?? true {
                guard state.withLock({ $0.active[id] == nil }) else { continue }
                if await GitWorktrees.remove(worktree: worktreeDirectory(id).path) { removed += 1 }
            }
        }
        return removed
    }

    /// Makes the spare worktrees of every agent's repository ready for their next tasks.
    func fillSpareWorktrees() async {
        var repositories = Set<String>()
        for agent in (try? await store.agents(workspace: nil)) ?? [] {
            guard let git = agent.git, repositories.insert(git.repo).inserted else { continue }
            await GitWorktrees.fillSpare(git, in: worktreeRoot.path)
        }
    }

    /// Sweeps leftover directories at start, then every ``EngineConfiguration/workdirSweepInterval``.
    func workDirectoryLoop() async {
        repeat {
            do {
                let removed = try await removeLeftoverDirectories(now: clock.now)
                if removed > 0 {
                    logger.info("removed the work directories of ended tasks", metadata: ["nightshift.count": "\(removed)"])
                }
            } catch {
                logger.error("sweeping work directories failed", metadata: ["nightshift.error": "\(error)"])
            }
            await fillSpareWorktrees()
        } while (try? await clock.sleep(for: .seconds(configuration.workdirSweepInterval))) != nil
    }

    /// Whether the working directory of a task that ended as `record` says is still kept.
    private func keepsWorkDirectory(_ record: TaskStateRecord, now: Date) -> Bool {
        guard record.state == .error, configuration.failedWorkdirRetention > 0 else { return false }
        return (record.finishedAt ?? now).addingTimeInterval(configuration.failedWorkdirRetention) > now
    }

    /// The task ids among the names of the entries of `directory` (other names are not a task's).
    private static func taskIDs(in directory: URL) -> Set<TaskID> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return Set(names.compactMap { name in TaskID(name).flatMap { $0.rawValue == name ? $0 : nil } })
    }

    /// Removes `directories` of `task` unless it runs here; answers how many were removed. Each is
    /// first renamed aside under the engine's lock: a claim registers its run under that lock
    /// before it makes the task's directories, so a run never has one removed under it.
    @discardableResult
    private func remove(_ directories: [URL], of task: TaskID) -> Int {
        guard !directories.isEmpty else { return 0 }
        let root = configuration.workRoot
        let aside: [URL] = state.withLock { state in
            guard state.active[task] == nil else { return [] }
            return directories.compactMap { directory in
                let target = root.appendingPathComponent(Self.removingPrefix + UUID().uuidString, isDirectory: true)
                return rename(directory.path, target.path) == 0 ? target : nil
            }
        }
        // What cannot be removed now (a file an agent still writes) is kept under its new name for
        // the next sweep.
        return aside.filter { (try? FileManager.default.removeItem(at: $0)) != nil }.count
    }
}
