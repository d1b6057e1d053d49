import Foundation
import Nightshift

/// The throughput of the Claude Code stream parser, for `nightshift bench` (workload `P`): a
/// stream of real-size lines — an assistant text, a tool call, a 4 KiB tool result, a subagent's
/// text, a quota status, a partial-message delta — split from raw bytes and parsed as a run does.
public enum StreamParserBenchmark {
    /// What one measurement saw.
    public struct Figures: Sendable {
        /// Bytes of stdout parsed.
        public var bytes: Int
        /// Lines parsed.
        public var lines: Int
        /// Task events produced.
        public var events: Int
        /// Seconds taken.
        public var seconds: Double
    }

    /// Splits and parses about `bytes` of Claude Code stream-json, as a run reads its stdout.
    public static func claude(bytes: Int) -> Figures {
        let block = Array(sampleLines.joined(separator: "\n").utf8) + [0x0A]
        var stream: [UInt8] = []
        stream.reserveCapacity(bytes + block.count)
        while stream.count < bytes { stream += block }
        var splitter = LineSplitter(limit: 1 << 20)
        var parser = ClaudeCodeStreamParser(lineLimit: 1 << 20)
        var (lines, events) = (0, 0)
        let now = Date()
        let start = ContinuousClock.now
        // Fed in 64 KiB reads, the size a pipe read returns.
        var offset = 0
        while offset < stream.count {
            let end = min(offset + (64 << 10), stream.count)
            let chunk = stream[offset..<end].withUnsafeBytes { splitter.append($0) }
            for line in chunk {
                lines += 1
                events += parser.handle(line, now: now).count
            }
            offset = end
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Figures(bytes: stream.count, lines: lines, events: events, seconds: seconds)
    }

    /// Lines in the shape and size of a real Claude Code 2.1 session (Tests/Fixtures/claude-sessions).
    static let sampleLines: [String] = {
        let session = "8f3c2a71-5d4e-4b9a-a6c1-2e7f90d4b318"
        let usage = #""usage":{"input_tokens":3,"cache_creation_input_tokens":4987,"cache_read_input_tokens":13872,"cache_creation":{"ephemeral_5m_input_tokens":4987,"ephemeral_1h_input_tokens":0},"output_tokens":61,"service_tier":"standard"}"#
        let text = String(repeating: "The invoice total is rounded half-even before tax is applied, so the test expectation changes. ", count: 8)
        let output = String(repeating: "Test Suite 'InvoiceTests' passed at 2026-11-21 08:40:22.123. Executed 12 tests, with 0 failures (0 unexpected)\\n", count: 36)
        return [
            #"{"type":"assistant","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_01Ld4WqZ8nTc2VbX7kRp3HfG","type":"message","role":"assistant","content":[{"type":"text","text":"\#(text)"}],"stop_reason":null,"stop_sequence":null,\#(usage),"context_management":null},"parent_tool_use_id":null,"session_id":"\#(session)","uuid":"7c2e9a4f-0d15-4b8e-a3c6-5f1d8b7e2a90"}"#,
            #"{"type":"assistant","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_01Ld4WqZ8nTc2VbX7kRp3HfG","type":"message","role":"assistant","content":[{"type":"tool_use","id":"toolu_01XkR7pT2mWq9LbN4vZc6HsD","name":"Bash","input":{"command":"swift test --filter InvoiceTests 2>&1 | tail -20","description":"Run the invoice tests"}}],"stop_reason":null,"stop_sequence":null,\#(usage),"context_management":null},"parent_tool_use_id":null,"session_id":"\#(session)","uuid":"7c2e9a4f-0d15-4b8e-a3c6-5f1d8b7e2a91"}"#,
            #"{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_01XkR7pT2mWq9LbN4vZc6HsD","type":"tool_result","content":"\#(output)","is_error":false}]},"parent_tool_use_id":null,"session_id":"\#(session)","uuid":"6c1e9b4f-2a73-4d08-b5e6-9f0d3a8c7e12"}"#,
            #"{"type":"assistant","message":{"model":"claude-haiku-4-5-20251001","id":"msg_01Sub4WqZ8nTc2VbX7kRp3Hf","type":"message","role":"assistant","content":[{"type":"text","text":"\#(text)"}],"stop_reason":null,"stop_sequence":null,\#(usage),"context_management":null},"parent_tool_use_id":"toolu_01AgentCallZ8nTc2VbX7kRp3","session_id":"\#(session)","uuid":"7c2e9a4f-0d15-4b8e-a3c6-5f1d8b7e2a92"}"#,
            #"{"type":"rate_limit_event","rate_limit_info":{"status":"allowed","resetsAt":1783159800,"rateLimitType":"five_hour","overageStatus":"rejected","overageDisabledReason":"org_level_disabled","isUsingOverage":false},"uuid":"d1367d5e-69bf-4480-bad8-e70edb88ecf5","session_id":"\#(session)"}"#,
            #"{"type":"stream_event","event":{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The invoice total is rounded"}},"session_id":"\#(session)","parent_tool_use_id":null,"uuid":"1e6b0c1a-5b0e-4f0e-9d8c-3f1a2b4c5d6e"}"#,
        ]
    }()
}
