#if canImport(Glibc)
import Glibc
#endif

/// The C allocator's settings for this process, made once at start.
enum MallocTuning {
    /// How much free memory at the top of an allocator arena glibc keeps instead of handing it back
    /// to the kernel: 8 MiB. With glibc's default (128 KiB) every store transaction on a worker
    /// thread freed its arena's top, `madvise`d it away and faulted it back in on the next one,
    /// which cost the SQLite drain about a fifth of its rate (docs/benchmarks.md). An explicit
    /// `MALLOC_TRIM_THRESHOLD_` or `GLIBC_TUNABLES` in the environment still wins.
    static let trimThreshold: Int32 = 8 << 20

    /// Applies ``trimThreshold`` unless the environment sets the threshold itself; a no-op where the
    /// C library is not glibc.
    static func apply() {
        #if canImport(Glibc)
        if getenv("MALLOC_TRIM_THRESHOLD_") != nil { return }
        if let tunables = getenv("GLIBC_TUNABLES"), String(cString: tunables).contains("trim_threshold") { return }
        // Swift's Glibc module leaves out malloc.h: the function is looked up by name instead.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(-1 /* M_TRIM_THRESHOLD */, trimThreshold)
        #endif
    }
}
