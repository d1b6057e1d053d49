import Foundation
import Testing

@testable import Nightshift

/// The engine's live inbox of one run: deliveries one at a time, and its close when the runner takes
/// no more inputs (docs/inbox.md, "Live input ends").
@Suite("Live inbox", .timeLimit(.minutes(1)))
struct LiveInboxTests {
    static func input(_ id: String) -> TaskInput {
        TaskInput(
            id: id, taskID: TaskID.generate(), workspaceID: "default", seq: 1, kind: .message, text: id, decisions: nil,
            sender: "alice", idempotencyKey: nil, createdAt: Date(), delivery: .deliveredLive, deliveredAt: Date(), runID: "r")
    }

    /// The ids of what the stream yields up to its end.
    static func drain(_ stream: AsyncStream<TaskInput>) async -> [String] {
        var ids: [String] = []
        for await input in stream { ids.append(input.id) }
        return ids
    }

    @Test("closed while a delivery is under way: the stream ends after that delivery's inputs, and no delivery begins after")
    func closedDuringDelivery() async {
        let (inbox, stream) = LiveInbox.make()
        #expect(inbox.begin())
        inbox.close()
        #expect(!inbox.begin(), "the inputs of a later delivery stay pending, for the next run")
        inbox.yield([Self.input("a")])
        #expect(!inbox.again(), "asked again meanwhile, but closed: it does not go round")
        #expect(await Self.drain(stream) == ["a"])
    }

    @Test("closed between deliveries: the stream ends at once, after what was handed over")
    func closedBetweenDeliveries() async {
        let (inbox, stream) = LiveInbox.make()
        #expect(inbox.begin())
        inbox.yield([Self.input("a"), Self.input("b")])
        #expect(!inbox.again())
        inbox.close()
        #expect(!inbox.begin())
        #expect(await Self.drain(stream) == ["a", "b"])
    }

    @Test("open: a delivery asked for during another makes it go round once more")
    func coalesced() {
        let (inbox, _) = LiveInbox.make()
        #expect(inbox.begin())
        #expect(!inbox.begin())
        #expect(inbox.again())
        #expect(!inbox.again())
        #expect(inbox.begin(), "done: the next delivery begins")
    }
}
