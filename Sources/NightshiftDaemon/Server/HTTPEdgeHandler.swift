import HTTPTypes
import Nightshift
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// What the HTTP layer answers before a request reaches the router: `100 Continue` to a client
/// that waits for it before sending its body, and the JSON error shape (not an empty 400) for a
/// request the parser refused — bad header bytes, oversized headers (431) — before the
/// connection is closed.
final class HTTPEdgeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data), head.headerFields[.expect]?.lowercased() == "100-continue" {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let (status, message): (HTTPResponse.Status, String) = switch parse {
        case .headerOverflow: (.requestHeaderFieldsTooLarge, "the request head is larger than 80 KiB")
        default: (.badRequest, "the request is not valid HTTP/1.1 (\(parse))")
        }
        let body = APIFailure(status, code: "bad_request", message: message).json.jsonText
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8", .connection: "close"]
        fields[.contentLength] = "\(body.utf8.count)"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}
