/// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held
/// (checking once more at the deadline). For tests that wait on something asynchronous.
@discardableResult
public func eventually(
    timeout: Duration = .seconds(30), poll: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: poll)
    }
    return try await condition()
}
