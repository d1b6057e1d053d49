import Foundation
import Nightshift
@testable import NightshiftDaemon
import Testing

/// The wire format has one authority, the `Wire…` types: the server writes them, the client reads
/// them, and these tests hold the OpenAPI document to them (docs/wire-format.md).
@Suite("Wire format")
struct WireFormatTests {
    static let document = OpenAPIDocument.document
    static let validator = JSONSchemaValidator(document: document)

    /// Each answer's component schema and the type the server writes for it.
    nonisolated(unsafe) static let answers: [(schema: String, type: any Decodable.Type)] = [
        ("Health", WireHealth.self), ("Error", WireErrorBody.self), ("Task", WireTask.self), ("TaskList", WireTaskPage.self),
        ("Event", WireEvent.self), ("EventList", WireEventPage.self), ("Run", WireRun.self), ("RunList", WireRunList.self), ("Step", WireStep.self), ("StepList", WireStepList.self),
        ("Agent", WireAgent.self), ("AgentList", WireAgentList.self), ("AgentStats", WireAgentStats.self),
        ("AgentStatus", WireAgentStatus.self), ("ActiveRun", WireActiveRun.self), ("Status", WireStatus.self),
        ("Pacing", WirePacing.self), ("Diff", WireDiff.self), ("ArtifactList", WireArtifactList.self),
        ("Checkpoint", SessionCheckpoint.self), ("CheckpointList", WireCheckpointList.self),
        ("Quarantined", WireQuarantined.self), ("QuarantineList", WireQuarantineList.self),
        ("CleanupResult", WireCleanupResult.self), ("Memory", Memory.self), ("MemoryList", WireMemoryList.self),
        ("Token", WireToken.self), ("NewTokenAnswer", WireIssuedToken.self), ("TokenList", WireTokenList.self),
        ("Workspace", WireWorkspace.self), ("WorkspaceList", WireWorkspaceList.self),
        ("HookEvent", WireHookEvent.self), ("HookEventList", WireHookEventPage.self),
        ("Input", WireInput.self), ("InputList", WireInputList.self), ("WaitingFor", WireWaitingFor.self),
        ("BlockedTask", WireBlockedTask.self), ("SubtaskList", WireSubtaskList.self),
        ("Schedule", WireSchedule.self), ("ScheduleList", WireScheduleList.self), ("Lane", WireLane.self), ("LaneList", WireLaneList.self),
        ("HookConsumer", WireHookConsumer.self), ("HookConsumerList", WireHookConsumerList.self), ("DerivedSignal", WireDerivedSignal.self),
        ("HookPoll", WireHookPoll.self), ("AcceptedHookEvent", WireAcceptedHookEvent.self),
        ("Webhook", WireWebhook.self), ("WebhookList", WireWebhookList.self), ("WebhookDelivery", WireWebhookDelivery.self),
        ("WebhookDeliveryList", WireWebhookDeliveryList.self), ("AgentRunStats", WireAgentRunStats.self), ("RunFigures", WireRunFigures.self),
        ("Detector", WireDetector.self), ("DetectorList", WireDetectorList.self), ("DetectorScan", WireDetectorScan.self),
    ]

    /// Each request body's component schema and the type the server reads it as (the client writes it).
    nonisolated(unsafe) static let requests: [(schema: String, type: any Decodable.Type)] = [
        ("NewTask", WireNewTask.self), ("TaskPatch", WireTaskPatch.self), ("NewAgent", WireAgentWrite.self),
        ("AgentWrite", WireAgentWrite.self), ("MemoryWrite", WireMemoryWrite.self), ("Cleanup", WireCleanup.self),
        ("NewToken", WireTokenCreate.self), ("NewWorkspace", WireWorkspaceCreate.self),
        ("NewInput", WireInputRequest.self), ("Wake", WireWakeRequest.self), ("Reason", WireDropRequest.self),
        ("ScheduleWrite", WireScheduleWrite.self), ("LaneWrite", WireLaneWrite.self),
        ("HookAck", WireHookAck.self), ("NewHookEvent", WireNewHookEvent.self), ("WebhookWrite", WireWebhookWrite.self),
        ("Redeliver", WireRedeliver.self), ("DetectorSignal", WireDetectorSignal.self),
    ]

    static func schema(_ name: String) -> JSONValue? { document["components"]?["schemas"]?[name] }

    /// Why `schema` does not describe `shape`: for answers, exactly the members, every one
    /// required, null allowed exactly where the type has an optional; for requests, the members
    /// and their types.
    static func mismatches(_ shape: WireShape, _ schema: JSONValue, at path: String, answer: Bool) -> [String] {
        var schema = schema
        if let reference = schema["$ref"]?.stringValue, let target = validator.resolve(reference) { schema = target }
        // `oneOf: [X, {type: null}]` is a nullable X.
        if case .array(let options)? = schema["oneOf"], let other = options.first(where: { $0 != ["type": "null"] }) {
            return mismatches(shape, other, at: path, answer: answer)
        }
        let types = (JSONValueSchema.types(schema) ?? []).subtracting(["null"])
        switch shape {
        case .any:
            return schema["properties"] == nil ? [] : ["\(path): any JSON in the type, members in the schema"]
        case .string, .integer, .number, .boolean:
            return types == ["\(shape)"] ? [] : ["\(path): \(shape) in the type, \(types.sorted()) in the schema"]
        case .time:
            return types == ["string"] && schema["format"] == "date-time" ? [] : ["\(path): a time in the type, not in the schema"]
        case .array(let item):
            guard types == ["array"], let items = schema["items"] else { return ["\(path): an array in the type, \(types.sorted()) in the schema"] }
            return mismatches(item, items, at: path + "[]", answer: answer)
        case .map(let value):
            guard types == ["object"] else { return ["\(path): an object in the type, \(types.sorted()) in the schema"] }
            return (schema["properties"]?.objectValue ?? [:]).flatMap { mismatches(value, $0.value, at: "\(path).\($0.key)", answer: answer) }
        case .object(let members):
            guard types == ["object"], let properties = schema["properties"]?.objectValue else {
                return ["\(path): an object with members in the type, not in the schema"]
            }
            var found: [String] = []
            if Set(members.keys) != Set(properties.keys) {
                found.append("\(path): members \(members.keys.sorted()) in the type, \(properties.keys.sorted()) in the schema")
            }
            if answer {
                var required: Set<String> = []
                if case .array(let names)? = schema["required"] { required = Set(names.compactMap(\.stringValue)) }
                if required != Set(members.keys) { found.append("\(path): required \(required.sorted()), but every member is written") }
                if schema["additionalProperties"] != false { found.append("\(path): an answer's object must refuse other members") }
            }
            for (name, member) in members.sorted(by: { $0.key < $1.key }) {
                guard let property = properties[name] else { continue }
                found += mismatches(member.shape, property, at: "\(path).\(name)", answer: answer)
                // Any JSON may be null: only a typed member says whether it may.
                if answer, member.shape != .any, member.nullable != JSONValueSchema.allowsNull(property, validator) {
                    found.append("\(path).\(name): \(member.nullable ? "optional" : "not optional") in the type, \(member.nullable ? "not " : "")nullable in the schema")
                }
            }
            return found
        }
    }

    @Test("every answer's schema lists exactly the members its wire type writes, with their types, all required, null where optional")
    func answerSchemas() throws {
        for (name, type) in Self.answers {
            let schema = try #require(Self.schema(name), "no component schema \(name)")
            let problems = Self.mismatches(try WireShape.of(type), schema, at: name, answer: true)
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test("every request body's schema lists exactly the members its wire type reads, with their types")
    func requestSchemas() throws {
        for (name, type) in Self.requests {
            let schema = try #require(Self.schema(name), "no component schema \(name)")
            let problems = Self.mismatches(try WireShape.of(type), schema, at: name, answer: false)
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        }
    }

    @Test("every component schema is held to a wire type (CheckpointWrite is the core's checkpoint parser's)")
    func everySchemaChecked() {
        let checked = Set((Self.answers + Self.requests).map(\.schema) + ["CheckpointWrite"])
        #expect(Set(Self.document["components"]?["schemas"]?.objectValue?.keys.map { $0 } ?? []) == checked)
    }

    @Test("the shape check catches drift: a member added to a type, a wrong type, a lost null")
    func shapeCheckCatchesDrift() throws {
        struct Drifted: Decodable {
            var status: String
            var extra: Int?
        }
        let health = try #require(Self.schema("Health"))
        #expect(!Self.mismatches(try WireShape.of(Drifted.self), health, at: "Health", answer: true).isEmpty)
        struct WrongType: Decodable { var status: Int }
        #expect(!Self.mismatches(try WireShape.of(WrongType.self), health, at: "Health", answer: true).isEmpty)
        struct LostNull: Decodable { var status: String? }
        #expect(!Self.mismatches(try WireShape.of(LostNull.self), health, at: "Health", answer: true).isEmpty)
        #expect(Self.mismatches(try WireShape.of(WireHealth.self), health, at: "Health", answer: true).isEmpty)
    }

    // MARK: The validator

    @Test("the validator refuses an undocumented member, a missing required one, a wrong type, a bad time and a null where none is allowed")
    func validatorRefusesBadBodies() throws {
        let task = WireTask(AgentTask.sample).json
        let schema: JSONValue = ["$ref": "#/components/schemas/Task"]
        #expect(Self.validator.violations(of: task, against: schema).isEmpty)
        var extra = try #require(task.objectValue)
        extra["surprise"] = 1
        #expect(Self.validator.violations(of: .object(extra), against: schema) == ["$: the member surprise is not documented"])
        var missing = try #require(task.objectValue)
        missing["state"] = nil
        #expect(Self.validator.violations(of: .object(missing), against: schema) == ["$: the required member state is missing"])
        var wrong = try #require(task.objectValue)
        wrong["priority"] = "high"
        #expect(Self.validator.violations(of: .object(wrong), against: schema) == ["$.priority: expected integer, got a string"])
        var time = try #require(task.objectValue)
        time["created_at"] = "yesterday"
        #expect(Self.validator.violations(of: .object(time), against: schema).count == 1)
        var null = try #require(task.objectValue)
        null["agent"] = .null
        #expect(Self.validator.violations(of: .object(null), against: schema) == ["$.agent: expected string, got null"])
        var state = try #require(task.objectValue)
        state["state"] = "sleeping"
        #expect(Self.validator.violations(of: .object(state), against: schema).count == 1)
        let nested: JSONValue = ["tasks": [.object(extra)], "next_cursor": .null]
        #expect(Self.validator.violations(of: nested, against: ["$ref": "#/components/schemas/TaskList"]) == ["$.tasks[0]: the member surprise is not documented"])
    }

    // MARK: The codec

    @Test("answers: every member written, nil as null, times RFC 3339 with milliseconds; the client reads back what the server wrote")
    func roundTrip() throws {
        let task = WireTask(AgentTask.sample)
        let json = task.json
        #expect(json["lane"] == .null && json["finished_at"] == .null && json["origin"] == .null)
        #expect(json["created_at"] == JSONTime.json(AgentTask.sample.createdAt))
        #expect(json["payload"] == AgentTask.sample.payload)
        #expect(try WireTask(json: try JSONValue(jsonText: json.jsonText)) == task)
        let checkpoint = Sampled.fullCheckpoint
        #expect(try SessionCheckpoint(json: checkpoint.json) == checkpoint)
        #expect(checkpoint.json == (checkpoint as any WireValue).json)
    }

    @Test("request bodies: an unknown member, a wrong type, a missing required member, each named", arguments: [
        (#"{"agent":"a","prompt":"p","prio":1}"#, "prio", "unknown field; expected one of agent, ask, budget_usd, dedup_key"),
        (#"{"agent":"a","prompt":5}"#, "prompt", "expected a string, got an integer"),
        (#"{"agent":"a"}"#, "prompt", "is required (a string)"),
        (#"{"agent":"a","prompt":null}"#, "prompt", "is required (a string)"),
        (#"{"agent":"a","prompt":"p","labels":["x",3]}"#, "labels[1]", "expected a string, got an integer"),
        (#"{"agent":"a","prompt":"p","labels":"x"}"#, "labels", "expected an array of strings, got a string"),
        (#"{"agent":"a","prompt":"p","priority":1.5}"#, "priority", "expected an integer, got a number"),
        (#"{"agent":"a","prompt":"p","timeout":"long"}"#, "timeout", "expected a number, got a string"),
        (#"[1]"#, "body", "expected a JSON object as the request body"),
    ])
    func requestErrors(body: String, field: String, message: String) throws {
        do {
            _ = try WireNewTask(body: try JSONValue(jsonText: body))
            Issue.record("\(body) was accepted")
        } catch let error as NightshiftError {
            #expect(error.code == .invalidInput && error.field == field && error.message.hasPrefix(message), "\(error)")
        }
    }

    @Test("request bodies: an integral number is an integer, null is as if absent, the client's body reads back whole")
    func requestReading() throws {
        let read = try WireNewTask(body: try JSONValue(jsonText: #"{"agent":"a","prompt":"p","priority":3.0,"lane":null,"payload":{"n":1.0}}"#))
        #expect(read.priority == 3 && read.lane == nil && read.payload == ["n": 1])
        let sent = WireNewTask(agent: "a", prompt: "p", payload: ["k": [1, "x"]], labels: ["l"], idempotencyKey: "i", delay: 2)
        #expect(try WireNewTask(body: sent.json) == sent)
    }
}

/// Reading the `type` keyword.
enum JSONValueSchema {
    static func types(_ schema: JSONValue) -> Set<String>? { JSONSchemaValidator.types(schema) }

    /// Whether `schema` (a `$ref` followed, a `oneOf` looked into) accepts null.
    static func allowsNull(_ schema: JSONValue, _ validator: JSONSchemaValidator) -> Bool {
        validator.violations(of: .null, against: schema).isEmpty
    }
}

extension AgentTask {
    /// A task with every member set that can be, for the codec's tests.
    static let sample = AgentTask(
        id: TaskID.generate(), workspaceID: "default", agent: "echo", prompt: "hi", payload: ["notes": ["a", 1.5, true]],
        priority: 3, lane: nil, labels: ["x", "y"], origin: nil, idempotencyKey: "k", dedupKey: nil, budgetUSD: 1.25,
        timeout: nil, retry: RetryPolicy(maxAttempts: 2), availableAt: time, state: .queued, attempt: 0, failures: 0,
        createdAt: time, updatedAt: time, finishedAt: nil, result: nil, error: nil, costUSD: 0)

    /// A time in whole milliseconds, as the wire keeps it.
    static let time = Date(timeIntervalSince1970: 1_790_000_000.123)
}
