import Foundation
import HTTPTypes
import Hummingbird
import Nightshift
import NIOCore

/// What runs leave behind: the worktree diff and the kept artifacts (docs/worktrees.md).
extension APIServer {
    /// `GET /v1/tasks/{id}/diff`: the last run's `diff` (commits, stat, patch against the base);
    /// with `Accept: text/x-diff`, the patch alone. 404 when no run of the task left one.
    func diff(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let id = try await task(context).id
        guard let event = try await scope(context).events(task: id, type: "diff", limit: 1).first else {
            throw APIFailure(
                .notFound, code: "not_found", message: "task \(id) has no diff: its agent has no repo, or none of its runs has ended", field: "id")
        }
        if request.headers[.accept]?.contains("text/x-diff") == true {
            return Response(
                status: .ok, headers: [.contentType: "text/x-diff; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: event.data["patch"]?.stringValue ?? "")))
        }
        return Self.reply(WireDiff(event))
    }

    /// `GET /v1/tasks/{id}/artifacts`: the files the task's runs kept, newest first, one per name.
    func artifacts(_ context: APIRequestContext) async throws -> Response {
        let id = try await task(context).id
        let saved = try await scope(context).events(task: id, type: "artifact_saved", limit: 1000)
        var seen = Set<String>()
        var list: [WireArtifact] = []
        for event in saved {
            guard let name = event.data["name"]?.stringValue, seen.insert(name).inserted else { continue }
            list.append(WireArtifact(
                name: name, path: event.data["path"]?.stringValue ?? "", bytes: event.data["bytes"]?.doubleValue.map { Int($0) } ?? 0,
                time: event.time))
        }
        return Self.reply(WireArtifactList(artifacts: list))
    }

    /// `GET /v1/tasks/{id}/artifacts/{name}`: the file's bytes, from the node that kept it.
    func artifact(_ context: APIRequestContext) async throws -> Response {
        let id = try await task(context).id
        let name = context.parameters.get("name") ?? ""
        guard let file = engine.artifactFile(id, named: name), let data = FileManager.default.contents(atPath: file.path) else {
            throw APIFailure(.notFound, code: "not_found", message: "task \(id) has no artifact '\(name)' on this node", field: "name")
        }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream", .contentDisposition: "attachment; filename=\"\(name)\""],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
