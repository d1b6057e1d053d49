import Foundation
import Synchronization

/// A piece of work a detector found: its dedup key (a re-detected item is a no-op while the task
/// made of the earlier one is live), its priority and what the detector knows of it.
public struct WorkItem: Codable, Sendable, Hashable {
    /// What makes it the same item when found again (the task's dedup key is
    /// `detector.NAME:KEY`): 1 to 200 bytes.
    public var key: String
    /// The priority of its task (higher first).
    public var priority: Int
    /// What the detector knows of it, for the prompt and the result's processing.
    public var payload: JSONValue

    /// Creates an item.
    public init(key: String, priority: Int = 0, payload: JSONValue = .object([:])) {
        self.key = key
        self.priority = priority
        self.payload = payload
    }

    /// The most bytes a key may take.
    public static let maxKeyBytes = 200

    /// Refuses an empty or over-long key, or one holding U+0000, naming `field`.
    public func validate(field: String = "key") throws(NightshiftError) {
        guard !key.isEmpty, key.utf8.count <= Self.maxKeyBytes else {
            throw .invalid(field, "expected a string of 1 to \(Self.maxKeyBytes) bytes")
        }
        try TextRules.checkText(key, field: field)
    }

    /// An item from its JSON form `{"key": …, "priority": …, "payload": …}` (a command
    /// detector's line, a signal's item); the error names `field.MEMBER`.
    public static func parse(_ value: JSONValue, field: String) throws(NightshiftError) -> WorkItem {
        guard case .object(let members) = value else { throw .invalid(field, "expected an object with a string \"key\"") }
        if let unknown = members.keys.sorted().first(where: { !["key", "priority", "payload"].contains($0) }) {
            throw .invalid("\(field).\(unknown)", "unknown member (expected key, priority, payload)")
        }
        guard let key = members["key"]?.stringValue else { throw .invalid("\(field).key", "expected a string") }
        var priority = 0
        if let value = members["priority"] {
            guard case .int(let number) = value, let fits = Int(exactly: number) else {
                throw .invalid("\(field).priority", "expected an integer")
            }
            priority = fits
        }
        let item = WorkItem(key: key, priority: priority, payload: members["payload"] ?? .object([:]))
        try item.validate(field: "\(field).key")
        return item
    }

    /// `template` with `{{item.key}}`, `{{item.priority}}`, `{{item.payload}}` (JSON text) and
    /// `{{item.payload.NAME…}}` (a string as it is, anything else as JSON text; nothing when
    /// absent) replaced; any other reference by nothing.
    public func render(_ template: String) -> String {
        WorkflowSpec.substitute(template) { reference in
            switch Reference(reference) {
            case .key?: return key
            case .priority?: return String(priority)
            case .payload(let path)?:
                let value = path.reduce(payload as JSONValue?) { value, name in value?[name] }
                return value.map { $0.stringValue ?? $0.jsonText } ?? ""
            case nil: return ""
            }
        }
    }

    /// The `{{…}}` references of `template` that ``render(_:)`` does not know, in order.
    public static func unknownReferences(in template: String) -> [String] {
        WorkflowSpec.references(in: template).filter { Reference($0) == nil }
    }

    /// What a template's `{{…}}` names.
    enum Reference: Equatable {
        /// `{{item.key}}`.
        case key
        /// `{{item.priority}}`.
        case priority
        /// `{{item.payload}}` (an empty path) or `{{item.payload.NAME…}}`.
        case payload(path: [String])

        /// The reference `text` (trimmed) makes; `nil` for any other form.
        init?(_ text: String) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            switch (parts.first, parts.dropFirst().first) {
            case ("item", "key") where parts.count == 2: self = .key
            case ("item", "priority") where parts.count == 2: self = .priority
            case ("item", "payload"): self = .payload(path: Array(parts.dropFirst(2)))
            default: return nil
            }
        }
    }

    /// Its JSON form (the task's payload).
    public var json: JSONValue {
        .object(["key": .string(key), "priority": .int(Int64(priority)), "payload": payload])
    }
}

/// What came of an item's task, for ``WorkDetector/processResult(_:)``.
public struct DetectedWorkResult: Sendable, Hashable {
    /// The item.
    public var item: WorkItem
    /// The task that worked on it.
    public var taskID: TaskID
    /// The agent's answer.
    public var result: String?
    /// What the agent cost, in USD.
    public var costUSD: Double

    /// Creates a result value.
    public init(item: WorkItem, taskID: TaskID, result: String?, costUSD: Double) {
        self.item = item
        self.taskID = taskID
        self.result = result
        self.costUSD = costUSD
    }
}

/// Finds work and hands it to an agent: the engine scans it (``detect()``) on a ticker, on
/// `nightshift detect --force`, and takes items an outside signal brings without a scan. Each item
/// becomes a task (its prompt from ``buildPrompt(for:)``, deduplicated by the item's key while
/// it is live) that runs ``agent`` as a workflow step and then ``processResult(_:)`` as the next
/// step: recorded once done, fenced by the task's lease, so a retry does not run it again.
public protocol WorkDetector: Sendable {
    /// The agent that works on the items.
    var agent: String { get }
    /// The workspace its tasks go to (default `default`).
    var workspace: String { get }
    /// How long after a scan the next one is due (default 5 minutes).
    var interval: Duration { get }
    /// The work there is now.
    func detect() async throws -> [WorkItem]
    /// The prompt of `item`'s task.
    func buildPrompt(for item: WorkItem) -> String
    /// Acts on what the agent did (comment on the issue, close the ticket …). By default nothing.
    func processResult(_ result: DetectedWorkResult) async throws
}

extension WorkDetector {
    /// `default`.
    public var workspace: String { "default" }

    /// Five minutes.
    public var interval: Duration { .seconds(300) }

    /// Nothing.
    public func processResult(_ result: DetectedWorkResult) async throws {}
}

/// The detectors this process scans, by name (each scans on one node at a time across nodes).
/// Registering a detector also registers the workflow its items' tasks run, under its name, in
/// the ``WorkflowRegistry`` given: save an agent of that name of runner `workflow` (the engine
/// does, at start) and its tasks run here.
public final class DetectorRegistry: Sendable {
    private let entries = Mutex<[String: any WorkDetector]>([:])
    /// Where the item tasks' workflows go.
    public let workflows: WorkflowRegistry

    /// An empty registry whose detectors' workflows go to `workflows`.
    public init(workflows: WorkflowRegistry) {
        self.workflows = workflows
    }

    /// Registers `detector` as `name`. Throws `invalid_input` (field `name`) for a bad name or one
    /// taken already (by a detector or a workflow), naming both places.
    public func register(_ name: String, file: String = #fileID, line: Int = #line, _ detector: any WorkDetector) throws(NightshiftError) {
        try workflows.register(name, steps: ["work", "process_result"], file: file, line: line) { context in
            try await Self.work(detector, context)
        }
        entries.withLock { $0[name] = detector }
    }

    /// The detector `name`, if registered.
    public func detector(_ name: String) -> (any WorkDetector)? {
        entries.withLock { $0[name] }
    }

    /// The names registered, sorted.
    public var names: [String] { entries.withLock { $0.keys.sorted() } }

    /// The task of `item` found by detector `name`: to `name`'s workflow agent, the item as its
    /// payload, deduplicated by the item's key.
    public static func task(for item: WorkItem, detector name: String, _ detector: any WorkDetector, workspace: String) -> NewTask {
        var task = NewTask(agent: name, prompt: detector.buildPrompt(for: item))
        task.workspaceID = workspace
        task.payload = item.json
        task.priority = item.priority
        task.dedupKey = "detector.\(name):\(item.key)"
        task.labels = ["nightshift.detector"]
        return task
    }

    /// An item's workflow: the agent works on the prompt (a child task), then the detector
    /// processes its result (a step of its own, recorded once).
    static func work(_ detector: any WorkDetector, _ context: WorkflowContext) async throws -> String? {
        let item: WorkItem
        do {
            item = try WorkItem.parse(context.task.payload, field: "payload")
        } catch {
            throw WorkflowFailure.stepFailed(step: "item", error: error.message)
        }
        let done = try await context.agent(detector.agent, prompt: context.input, name: "work")
        let id = TaskID(done.taskID) ?? context.task.id
        _ = try await context.step("process_result") { () async throws -> Bool in
            try await detector.processResult(DetectedWorkResult(item: item, taskID: id, result: done.result, costUSD: done.costUSD))
            return true
        }
        return done.result
    }
}

/// How a scan went: what it found and what became tasks.
public struct DetectorScan: Codable, Sendable, Hashable {
    /// Items the scan (or signal) brought.
    public var found: Int
    /// Tasks made of them (the rest were live already: deduplicated).
    public var submitted: Int
    /// Why it failed, if it did.
    public var error: String?

    /// Creates a report.
    public init(found: Int, submitted: Int, error: String? = nil) {
        self.found = found
        self.submitted = submitted
        self.error = error
    }
}

/// A detector as the store keeps it: when it last scanned, what it found and when it scans next.
public struct DetectorStatus: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// Its workspace (its tasks go there).
    public var workspaceID: String
    /// When its last scan ended.
    public var lastScanAt: Date?
    /// What its last scan found (items and tasks made), and its error.
    public var lastScan: DetectorScan?
    /// When its next scan is due.
    public var nextScanAt: Date?
    /// Scans so far.
    public var scans: Int
    /// The node scanning it now, if one is.
    public var scanningNode: String?

    /// Creates a status value.
    public init(
        name: String, workspaceID: String, lastScanAt: Date?, lastScan: DetectorScan?, nextScanAt: Date?, scans: Int, scanningNode: String?
    ) {
        self.name = name
        self.workspaceID = workspaceID
        self.lastScanAt = lastScanAt
        self.lastScan = lastScan
        self.nextScanAt = nextScanAt
        self.scans = scans
        self.scanningNode = scanningNode
    }
}
