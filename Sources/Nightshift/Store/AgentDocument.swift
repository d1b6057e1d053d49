import Foundation

/// An agent as both stores keep it: its `Codable` form as one JSON document, beside the columns
/// SQL reads. A field added to ``Agent`` is carried by the document with no schema change.
package enum AgentDocument {
    /// The document of `agent` (keys sorted, so equal agents store equal text).
    package static func text(_ agent: Agent) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(agent), as: UTF8.self)
    }

    /// The agent a row holds: its document, with the workspace, the name and what it has spent
    /// taken from their columns (which the store keeps; the document's copies may be older).
    package static func agent(document: String, workspace: String, name: String, spent: Double) throws -> Agent {
        var agent = try JSONDecoder().decode(Agent.self, from: Data(document.utf8))
        agent.workspaceID = workspace
        agent.name = name
        agent.spentUSD = spent
        return agent
    }
}
