import Foundation

/// A checkpoint file that could not be read, moved aside with the reason.
public struct QuarantinedCheckpoint: Sendable, Hashable {
    /// The file's name in the checkpoint directory.
    public var fileName: String
    /// Where the file is now.
    public var quarantinedPath: String
    /// Why it was refused: the JSON syntax error or the field that failed validation.
    public var error: String
    /// The agent whose session wrote it.
    public var agent: String
    /// The task the session ran for, if any.
    public var taskID: TaskID?
    /// When it was quarantined.
    public var time: Date

    /// Creates a record of a quarantined file.
    public init(fileName: String, quarantinedPath: String, error: String, agent: String, taskID: TaskID?, time: Date) {
        self.fileName = fileName
        self.quarantinedPath = quarantinedPath
        self.error = error
        self.agent = agent
        self.taskID = taskID
        self.time = time
    }
}

/// What ``CheckpointDirectory/collect(from:quarantine:agent:sessionID:taskID:now:)`` found.
public struct CheckpointCollection: Sendable, Hashable {
    /// The valid checkpoints, by file name (not yet saved: they have no id unless the file gave one).
    public var checkpoints: [SessionCheckpoint]
    /// The files moved to quarantine, by file name.
    public var quarantined: [QuarantinedCheckpoint]

    /// A collection.
    public init(checkpoints: [SessionCheckpoint] = [], quarantined: [QuarantinedCheckpoint] = []) {
        self.checkpoints = checkpoints
        self.quarantined = quarantined
    }
}

/// Reads the checkpoint files an agent session left in a directory.
public enum CheckpointDirectory {
    /// Reads every `*.json` file directly in `directory`, in name order. A file that parses (see
    /// ``SessionCheckpoint/parse(_:agent:sessionID:taskID:now:)``) becomes a checkpoint and is
    /// deleted: the caller saves what this returns. Any other file — not UTF-8, not JSON, not a
    /// valid checkpoint, unreadable — is moved to `quarantine` (created if needed) under its own
    /// name, or `NAME-2.json`, `NAME-3.json`, … if that is taken, and reported with its error.
    /// Nothing is dropped: a file that can be neither deleted nor moved is left where it is.
    /// A missing `directory` yields an empty collection.
    public static func collect(
        from directory: URL, quarantine: URL, agent: String, sessionID: String?, taskID: TaskID?, now: Date
    ) -> CheckpointCollection {
        let files = FileManager.default
        guard let names = try? files.contentsOfDirectory(atPath: directory.path) else { return CheckpointCollection() }
        var collection = CheckpointCollection()
        for name in names.sorted() where name.hasSuffix(".json") {
            let file = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            switch read(file, agent: agent, sessionID: sessionID, taskID: taskID, now: now) {
            case .success(let checkpoint):
                if (try? files.removeItem(at: file)) != nil { collection.checkpoints.append(checkpoint) }
            case .failure(let reason):
                guard let moved = move(file, to: quarantine) else { continue }
                collection.quarantined.append(QuarantinedCheckpoint(
                    fileName: name, quarantinedPath: moved.path, error: reason.message, agent: agent, taskID: taskID,
                    time: now))
            }
        }
        return collection
    }

    private struct Refusal: Error {
        var message: String
    }

    private static func read(
        _ file: URL, agent: String, sessionID: String?, taskID: TaskID?, now: Date
    ) -> Result<SessionCheckpoint, Refusal> {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            return .failure(Refusal(message: "unreadable: \(error.localizedDescription)"))
        }
        guard let text = String(data: data, encoding: .utf8) else { return .failure(Refusal(message: "not UTF-8 text")) }
        let json: JSONValue
        do {
            json = try JSONValue(jsonText: text)
        } catch {
            return .failure(Refusal(message: "malformed JSON: \(error.description)"))
        }
        do {
            return .success(try SessionCheckpoint.parse(json, agent: agent, sessionID: sessionID, taskID: taskID, now: now))
        } catch {
            return .failure(Refusal(message: error.description))
        }
    }

    /// Moves `file` into `directory` without replacing anything there; answers the new location.
    private static func move(_ file: URL, to directory: URL) -> URL? {
        let files = FileManager.default
        guard (try? files.createDirectory(at: directory, withIntermediateDirectories: true)) != nil else { return nil }
        let base = file.deletingPathExtension().lastPathComponent
        let pathExtension = file.pathExtension
        for attempt in 1...1000 {
            let name = attempt == 1 ? file.lastPathComponent : "\(base)-\(attempt).\(pathExtension)"
            let target = directory.appendingPathComponent(name)
            if files.fileExists(atPath: target.path) { continue }
            do {
                try files.moveItem(at: file, to: target)
                return target
            } catch {
                if files.fileExists(atPath: target.path) { continue }
                return nil
            }
        }
        return nil
    }
}
