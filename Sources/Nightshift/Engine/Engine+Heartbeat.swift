import Foundation
import Logging

/// The heartbeater: keeps the leases of this node's runs alive.
extension Engine {
    /// Extends every lease this node holds, in one batch, every heartbeat interval, and stops the
    /// runs whose lease was lost.
    func heartbeatLoop() async {
        while (try? await clock.sleep(for: .seconds(configuration.heartbeatInterval))) != nil {
            let leases = state.withLock { $0.active.values.map(\.lease) }
            guard !leases.isEmpty else { continue }
            do {
                let now = clock.now
                let lost = try await store.heartbeat(leases, extendTo: now.addingTimeInterval(configuration.leaseDuration), now: now)
                for lease in lost {
                    logger.warning("lease lost; stopping the run", metadata: ["nightshift.task_id": "\(lease.taskID)"])
                    state.withLock { $0.active[lease.taskID]?.stop }?.stop(.leaseLost)
                }
            } catch {
                logger.error("heartbeat failed", metadata: ["nightshift.error": "\(error)"])
            }
            // Pause requests made on another node reach the runs here that can pause.
            let pausable = state.withLock { $0.active.filter(\.value.pausable).map(\.key) }
            if !pausable.isEmpty, let states = try? await store.states(of: pausable) {
                for (id, record) in states { state.withLock { $0.active[id]?.stop }?.requestPause(record.pauseRequested) }
            }
            // Inputs accepted by another node reach a run here that takes them live at the latest now.
            for id in state.withLock({ $0.active.filter { $0.value.live != nil }.map(\.key) }) {
                await deliverLive(id)
            }
        }
    }
}
