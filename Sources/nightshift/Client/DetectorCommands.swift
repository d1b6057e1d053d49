import ArgumentParser
import Foundation
import Nightshift
import NightshiftDaemon

/// `nightshift detectors`: the work detectors registered on the daemon and their last scans.
struct DetectorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detectors",
        abstract: "List the work detectors with their last scans, what they found and their errors.",
        discussion: CLIExitCodes.discussion("With --json, prints the API's answer: {\"detectors\":[..]}."))

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let detectors = try await options.client().detectors()
        if options.json {
            CLIOutput.json(WireDetectorList(detectors: detectors))
            return
        }
        guard !detectors.isEmpty else {
            CLIOutput.line("no detectors")
            return
        }
        Self.table(detectors, now: Date()).print()
    }

    /// One line per detector: its agent, interval, last scan, what it found and made, the next
    /// scan and the last error.
    static func table(_ detectors: [WireDetector], now: Date) -> CLITable {
        var table = CLITable(["DETECTOR", "AGENT", "EVERY", "LAST SCAN", "FOUND", "NEW", "NEXT SCAN", "ERROR"], rightAligned: [4, 5])
        for detector in detectors {
            table.add([
                .init(detector.name, style: "1"), .init(detector.agent), .init(CLIOutput.duration(detector.intervalSeconds)),
                .init(detector.lastScanAt.map { CLIOutput.relative($0, now: now) } ?? "never"),
                .init(CLIOutput.text(detector.lastFound)), .init(CLIOutput.text(detector.lastSubmitted)),
                .init(detector.scanningNode.map { "scanning on \($0)" } ?? detector.nextScanAt.map { CLIOutput.relative($0, now: now) } ?? "-"),
                .init(CLIOutput.short(detector.lastError ?? "-", width: 60), style: detector.lastError == nil ? "0" : "31"),
            ])
        }
        return table
    }
}

/// `nightshift detect [--force] NAME`: scans a detector now.
struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Scan a work detector now: its new items become tasks (live ones are not repeated).",
        discussion: CLIExitCodes.discussion("""
            Without --force, scans only if the detector's interval has passed since its last scan. Exits 1 \
            if the scan failed (its error is printed), 3 if the daemon has no such detector. Prints what \
            the scan found; with --json, the API's answer {"scanned","found","submitted","error"}.
            """))

    @Flag(help: "Scan even if the detector's interval has not passed since its last scan.")
    var force = false

    @Argument(help: "The detector's name.")
    var name: String

    @OptionGroup var options: ClientOptions

    func run() async throws {
        let scan = try await options.client().scanDetector(named: name, force: force)
        if options.json {
            CLIOutput.json(scan)
        } else if !scan.scanned {
            CLIOutput.line("\(name): not scanned (not due yet, or another node is scanning it; --force scans whenever the last was)")
        } else {
            CLIOutput.line("\(CLIOutput.bold(name)): found \(scan.found), \(scan.submitted) new task\(scan.submitted == 1 ? "" : "s")")
        }
        if let error = scan.error { throw CLIFailure("\(name): the scan failed: \(error)", exitCode: 1) }
    }
}
