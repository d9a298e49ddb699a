/// A reusable buffer of plain values that owns its memory: its pointer stays valid from call to
/// call, so kernels index it directly (no `withUnsafe…` closures), and it grows only when a call
/// needs more than any before. A scratch buffer belongs to one worker: never share one between
/// threads at the same time.
public final class ScratchBuffer<Element: BitwiseCopyable & ExpressibleByIntegerLiteral>: @unchecked Sendable {
    /// The first value; valid until the next call that grows the buffer.
    public private(set) var base: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int

    public init() {
        base = .allocate(capacity: 1)
        capacity = 0
    }

    deinit { base.deallocate() }

    /// Room for `count` values, whose contents are unspecified (the old ones, when the buffer
    /// did not need to grow): for buffers a caller writes before it reads.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity {
            base.deallocate()
            base = .allocate(capacity: count)
            base.initialize(repeating: 0, count: count)
            capacity = count
        }
        return base
    }

    /// Room for `count` values, all zero: for buffers a caller accumulates into.
    @discardableResult
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Element> {
        let pointer = reserve(count)
        pointer.update(repeating: 0, count: count)
        return pointer
    }
}
