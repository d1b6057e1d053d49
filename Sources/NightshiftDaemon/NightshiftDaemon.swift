/// The daemon's front doors: the configuration file, the HTTP API and its client.
public enum NightshiftDaemon {
    /// Nightshift's version, as `nightshift --version` and the MCP server's info give it.
    public static let version = "0.1.0"
}
