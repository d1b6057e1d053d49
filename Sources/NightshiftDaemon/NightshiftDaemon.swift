/// The daemon's front doors: the configuration file, the HTTP API and its client.
public enum NightshiftDaemon {}
