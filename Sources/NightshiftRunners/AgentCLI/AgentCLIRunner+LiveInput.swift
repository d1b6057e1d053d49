import Nightshift

/// Live input to an agent CLI that reads user messages from stdin until it closes (Claude Code with
/// `input = "live"`): the inputs sent to the running task are written as they come, and the run
/// takes inputs until the end of the CLI's first turn.
///
/// Why stdin closes at the first `result`, and not once every message written was answered: the
/// CLI may fold a message that arrives during a turn into that turn (Claude Code 2.1.283 does, one
/// `result` for both) or answer it in a turn of its own (older releases), so counting messages and
/// results cannot tell when it is done. It answers every message it has read before it exits at
/// the end of input, so closing at the first result never leaves it waiting and loses no message
/// written. Inputs sent later wait in the inbox and the next run takes them by resume.
extension AgentCLIRunner {
    /// Whether runs of `agent` take live input: its config asks for it and the CLI can.
    func takesLiveInput(_ agent: Agent) -> Bool {
        guard let settings = try? Self.settings(agent) else { return false }
        return Dialect.liveInputLine(settings.own) != nil
    }

    /// What a live run writes to stdin after its prompt (the inputs the engine hands over), and what
    /// ends them at a `result` event: the engine takes no more for the run, the stream ends after
    /// those already handed over, and the execution closes stdin once they are written.
    static func liveInputs(_ context: RunContext) -> (inputs: AsyncStream<TaskInput>, end: @Sendable () -> Void) {
        // A context without the engine's stream (a run started by hand) closes stdin then all the same.
        let (idle, ending) = AsyncStream.makeStream(of: TaskInput.self)
        return (context.liveInputs ?? idle, {
            context.endLiveInputs()
            ending.finish()
        })
    }
}
