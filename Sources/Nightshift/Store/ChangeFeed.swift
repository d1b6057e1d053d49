import Foundation

/// The hook stream as a live feed: every hook event after a cursor (its seq), in order, with no
/// gap and no duplicate, and then each one as it is committed.
///
/// A store rings ``hookChanges`` when hook events may have been committed: SQLite after each of
/// its own write transactions that appended some, PostgreSQL on a `NOTIFY` that every such
/// transaction sends at commit (from any node). A slow poll (``HookStream/poll``) catches what no
/// ring announces (another process writing the same SQLite file, a notification missed while the
/// listening connection reconnected).
public protocol ChangeFeed: TaskLog {
    /// Rung when hook events may have been committed.
    var hookChanges: ChangeSignal { get }
    /// The seq of the last hook event committed (0 for none): a feed that starts after it sees
    /// only what comes next.
    func lastHookSeq() async throws -> Int64
    /// Keeps the store listening for other processes' changes while the answer lives (`nil`: a
    /// store that hears its own writes needs none). Listening costs the database a wake-up of
    /// the listening connection per notifying commit, so a store listens only while someone
    /// follows its changes: a feed's iterator, or ``TaskQueue/listenForWork(_:)``.
    func listeningInterest() -> ListeningInterest?
}

extension ChangeFeed {
    /// No listening needed.
    public func listeningInterest() -> ListeningInterest? { nil }

    /// The hook events after `seq`, then each one as it is committed, until the iterating task is
    /// cancelled. Reads the log at each ring of ``hookChanges`` and at least every `poll`; the
    /// store listens for other nodes' commits while an iterator of it lives. With `headsOnly`, the
    /// events come without their data (``TaskLog/hookEventHeads(after:limit:)``).
    public func hookStream(after seq: Int64, poll: Duration = HookStream.defaultPoll, headsOnly: Bool = false) -> HookStream {
        HookStream(after: seq, poll: poll, signal: hookChanges, interest: { [self] in listeningInterest() }) { [self] after, limit in
            headsOnly ? try await hookEventHeads(after: after, limit: limit) : try await hookEvents(after: after, limit: limit)
        }
    }
}

/// Held while someone follows a store's changes: the store listens until the last one is released.
public final class ListeningInterest: Sendable {
    private let release: @Sendable () -> Void

    /// An interest that calls `release` when it is released.
    public init(release: @escaping @Sendable () -> Void) {
        self.release = release
    }

    deinit { release() }
}

/// An `AsyncSequence` of hook events after a cursor: the log read again whenever a signal rings
/// (and at least every ``poll``). It ends when the iterating task is cancelled.
///
/// A predicate (``matching(_:)``) is applied as the log is read: events it refuses move the cursor
/// on without being yielded, so a consumer that filters by task, agent, state or workspace still
/// never sees a gap in what it asked for.
public struct HookStream: AsyncSequence, Sendable {
    /// Each a hook event.
    public typealias Element = HookEvent
    /// The store's errors.
    public typealias Failure = any Error

    /// How often a feed reads without a ring by default.
    public static let defaultPoll = Duration.seconds(1)
    /// The most events one read takes.
    static let page = 500

    /// The cursor: the stream yields the events after this seq.
    public let after: Int64
    /// How often the stream reads without a ring.
    public let poll: Duration
    let signal: ChangeSignal
    let interrupt: ChangeSignal?
    let read: @Sendable (Int64, Int) async throws -> [HookEvent]
    let predicate: (@Sendable (HookEvent) -> Bool)?
    let interest: (@Sendable () -> ListeningInterest?)?

    /// A stream of what `read(after, limit)` answers, read again when `signal` rings; each
    /// iterator holds what `interest` answers while it lives.
    public init(
        after: Int64, poll: Duration = HookStream.defaultPoll, signal: ChangeSignal,
        interest: (@Sendable () -> ListeningInterest?)? = nil,
        read: @escaping @Sendable (_ after: Int64, _ limit: Int) async throws -> [HookEvent]
    ) {
        self.init(after: after, poll: poll, signal: signal, interrupt: nil, read: read, predicate: nil, interest: interest)
    }

    private init(
        after: Int64, poll: Duration, signal: ChangeSignal, interrupt: ChangeSignal?,
        read: @escaping @Sendable (Int64, Int) async throws -> [HookEvent], predicate: (@Sendable (HookEvent) -> Bool)?,
        interest: (@Sendable () -> ListeningInterest?)?
    ) {
        self.after = after
        self.poll = poll
        self.signal = signal
        self.interrupt = interrupt
        self.read = read
        self.predicate = predicate
        self.interest = interest
    }

    /// The same stream yielding only the events `predicate` accepts (and those of any earlier
    /// predicate).
    public func matching(_ predicate: @escaping @Sendable (HookEvent) -> Bool) -> HookStream {
        var both = predicate
        if let earlier = self.predicate { both = { @Sendable event in earlier(event) && predicate(event) } }
        return HookStream(after: after, poll: poll, signal: signal, interrupt: interrupt, read: read, predicate: both, interest: interest)
    }

    /// The same stream whose ``AsyncIterator/nextBatch(timeout:)`` also returns, possibly with
    /// nothing, when `signal` rings: for a consumer with other reasons to wake (a write the hook
    /// stream does not carry, a shutdown).
    public func waking(on signal: ChangeSignal) -> HookStream {
        HookStream(after: after, poll: poll, signal: self.signal, interrupt: signal, read: read, predicate: predicate, interest: interest)
    }

    /// Starts reading after ``after``.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(stream: self, cursor: after)
    }

    /// Reads the stream batch by batch, or event by event.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let stream: HookStream
        /// The seq of the last event read from the log (yielded or refused by the predicate).
        public private(set) var cursor: Int64
        private var buffered: [HookEvent] = []
        /// The store signal's generation when the log was last read: a ring since is a commit
        /// that read may not have seen.
        private var seenSignal: UInt64?
        /// When the log was last read.
        private var lastRead: ContinuousClock.Instant?
        /// Whether the last read stopped at a full page: more is committed after the cursor.
        private var morePending = false
        /// The interrupting signal's generation when a batch was last returned (or the iterator
        /// made): a ring since is news the consumer has not read, even if it came between calls.
        private var seenInterrupt: UInt64
        /// Keeps the store listening while the iterator (or a copy of it) lives.
        private let interest: ListeningInterest?

        init(stream: HookStream, cursor: Int64) {
            self.stream = stream
            self.cursor = cursor
            seenInterrupt = stream.interrupt?.generation ?? 0
            interest = stream.interest?()
        }

        /// The next event; `nil` once the iterating task is cancelled.
        public mutating func next() async throws -> HookEvent? {
            while buffered.isEmpty {
                if Task.isCancelled { return nil }
                buffered = try await nextBatch(timeout: stream.poll)
            }
            return buffered.removeFirst()
        }

        /// The events committed since the last call (the first call: after the cursor), waiting
        /// for some at most `timeout`; empty when the timeout passes, the task is cancelled or the
        /// interrupting signal rang since the last call returned. The log is read only when the
        /// store rang since the last read or the poll interval has passed since it, so a consumer
        /// that calls often with short timeouts costs the store nothing more.
        public mutating func nextBatch(timeout: Duration) async throws -> [HookEvent] {
            if !buffered.isEmpty {
                defer { buffered = [] }
                return buffered
            }
            defer { seenInterrupt = stream.interrupt?.generation ?? 0 }
            let deadline = ContinuousClock.now + timeout
            while true {
                if readDue {
                    let events = try await readNew()
                    if !events.isEmpty || Task.isCancelled || interrupted { return events }
                }
                let pollAt = (lastRead ?? .now) + stream.poll
                guard ContinuousClock.now < deadline, !Task.isCancelled else { return [] }
                await wait(until: Swift.min(deadline, pollAt))
                if interrupted { return [] }
            }
        }

        /// Whether the log must be read: never read, more pending, a ring since the last read, or
        /// a poll due.
        private var readDue: Bool {
            guard let lastRead, let seenSignal, !morePending else { return true }
            return stream.signal.generation != seenSignal || ContinuousClock.now >= lastRead + stream.poll
        }

        /// Whether the interrupting signal rang since a batch was last returned.
        private var interrupted: Bool {
            stream.interrupt.map { $0.generation != seenInterrupt } ?? false
        }

        /// Reads every page committed after the cursor; the events the predicate accepts.
        private mutating func readNew() async throws -> [HookEvent] {
            var accepted: [HookEvent] = []
            while true {
                // The generation before the read: a ring during it is a commit it may not have seen.
                seenSignal = stream.signal.generation
                lastRead = .now
                let page = try await stream.read(cursor, HookStream.page)
                morePending = page.count == HookStream.page
                guard let last = page.last else { return accepted }
                cursor = last.seq
                accepted += stream.predicate.map { page.filter($0) } ?? page
                if !morePending || !accepted.isEmpty { return accepted }
            }
        }

        /// Waits for a ring of either signal since it was last seen, at most until `instant`.
        private func wait(until instant: ContinuousClock.Instant) async {
            let timeout = instant - .now
            guard timeout > .zero else { return }
            let stream = stream
            let seenSignal = seenSignal ?? stream.signal.generation
            guard let interrupt = stream.interrupt else {
                await stream.signal.wait(after: seenSignal, timeout: timeout)
                return
            }
            let seenInterrupt = seenInterrupt
            let either = ChangeSignal()
            let start = either.generation
            await stream.signal.relaying(to: either) {
                await interrupt.relaying(to: either) {
                    // A ring before the relays were in place shows in the generations.
                    if stream.signal.generation != seenSignal || interrupt.generation != seenInterrupt { return }
                    await either.wait(after: start, timeout: timeout)
                }
            }
        }
    }
}
