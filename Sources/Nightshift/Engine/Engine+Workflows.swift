import Foundation

extension Engine {
    /// On start: the tasks that wait because no node registered their workflow, and whose workflow
    /// this node registers, wake at once (rather than at their next retry), so that a node that
    /// brings a workflow back takes its tasks on as it starts. Answers how many it woke.
    @discardableResult
    func wakeRegisteredWorkflows() async -> Int {
        guard let runner = runners.runner(for: .workflow) as? WorkflowRunner else { return 0 }
        let reasons = Set(runner.registry.names.map(WorkflowRunner.unregisteredReason))
        guard !reasons.isEmpty else { return 0 }
        var query = TaskQuery()
        query.states = [.waiting]
        query.archived = nil
        query.limit = 500
        var woken = 0
        do {
            while true {
                let page = try await store.listTasks(query)
                for task in page.tasks where task.waitingFor?.question.map(reasons.contains) == true {
                    // A task woken meanwhile (its retry came due, another node took it) is left as it is.
                    if (try? await transition(task.id, .wake)) != nil { woken += 1 }
                }
                guard let next = page.nextCursor else { break }
                query.cursor = next
            }
        } catch {
            logger.warning("could not look for tasks of this node's workflows", metadata: ["nightshift.error": "\(error)"])
        }
        if woken > 0 { logger.info("woke the tasks of workflows registered here", metadata: ["nightshift.count": "\(woken)"]) }
        return woken
    }
}
