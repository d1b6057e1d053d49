import Foundation
import Nightshift
import Synchronization
import Testing

@Suite("Deadlines on store calls")
struct DeadlineTests {
    @Test("an answer within the deadline passes through, errors included, without waiting for the timer")
    func answered() async throws {
        let start = ContinuousClock.now
        #expect(try await answer(within: .seconds(60)) { 42 } == 42)
        await #expect(throws: NightshiftError.self) {
            try await answer(within: .seconds(60)) { () async throws -> Int in throw NightshiftError.invalid("x", "expected y") }
        }
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test("a call that hangs fails with store_unavailable at the deadline and is cancelled")
    func hangs() async throws {
        let cancelled = Mutex(false)
        let error = await #expect(throws: NightshiftError.self) {
            try await answer(within: .milliseconds(100)) { () async throws -> Int in
                do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.withLock { $0 = true } }
                return 1
            }
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("no answer within") == true)
        // The body is cancelled, not waited for: it sees the cancellation soon after.
        for _ in 0..<100 where !cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(cancelled.withLock { $0 })
    }
}
