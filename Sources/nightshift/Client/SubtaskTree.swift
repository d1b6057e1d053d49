import Foundation
import Nightshift
import NightshiftDaemon

/// A task's subtasks, their subtasks and so on, as `nightshift show` draws them: read with the
/// children route level by level, at most ``maxDepth`` levels and ``maxTasks`` tasks.
struct SubtaskTree {
    /// One subtask and the subtasks under it.
    struct Node {
        /// The subtask.
        var task: WireTask
        /// Its own subtasks, oldest first.
        var children: [Node]
    }

    /// The most levels read below the task (the deepest subtasks can nest).
    static let maxDepth = SubtaskLimits().maxDepth
    /// The most subtasks read in all; a larger tree is cut, saying so.
    static let maxTasks = 200

    /// The task's subtasks, oldest first.
    var roots: [Node]
    /// Whether there are subtasks the tree leaves out (beyond ``maxTasks``).
    var cut: Bool

    /// Reads the tree under the task `id`.
    static func read(_ client: NightshiftClient, under id: String) async throws -> SubtaskTree {
        var budget = maxTasks
        var cut = false
        func level(_ id: String, depth: Int) async throws -> [Node] {
            guard depth <= maxDepth else { return [] }
            var nodes: [Node] = []
            for child in try await client.children(taskID: id) {
                guard budget > 0 else {
                    cut = true
                    break
                }
                budget -= 1
                nodes.append(Node(task: child, children: []))
            }
            for index in nodes.indices {
                nodes[index].children = try await level(nodes[index].task.id, depth: depth + 1)
            }
            return nodes
        }
        let roots = try await level(id, depth: 1)
        return SubtaskTree(roots: roots, cut: cut)
    }

    /// The tree's lines: each subtask's id, state, agent and the prompt's first line, indented
    /// two spaces a level under its parent.
    func lines() -> [String] {
        var lines: [String] = []
        func add(_ nodes: [Node], indent: String) {
            for node in nodes {
                let task = node.task
                lines.append(
                    indent + task.id + "  " + CLIOutput.state(task.state) + "  " + task.agent + "  " + CLIOutput.short(task.prompt, width: 60))
                add(node.children, indent: indent + "  ")
            }
        }
        add(roots, indent: "  ")
        if cut { lines.append(CLIOutput.dim("  … more subtasks than the \(Self.maxTasks) shown")) }
        return lines
    }
}
