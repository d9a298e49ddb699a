import Foundation

/// A value shared between threads behind a lock: what `Synchronization.Mutex` does, on a
/// pthread mutex (`NSLock`), which ThreadSanitizer understands (it does not see the futex that
/// `Mutex` uses on Linux, and reports every access the lock protects as a race).
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, holding the lock.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
