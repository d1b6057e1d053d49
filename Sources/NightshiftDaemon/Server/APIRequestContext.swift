import Hummingbird

/// What a route's handler knows about its request besides the request itself: Hummingbird's core
/// context (logger, path parameters). What the API learns about a request on its way in — the
/// authenticated principal, say — is a field here, set by the middleware that learns it.
public struct APIRequestContext: RequestContext {
    /// Hummingbird's per-request storage: logger, path parameters, body size limit.
    public var coreContext: CoreRequestContextStorage

    /// The context of a request that just arrived.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }
}
