import Dispatch
import Synchronization

/// Runs `body(&state, i)` for every `i` in `0..<count` on up to `workers` threads, each taking
/// the next index from one shared counter (so a slow item never holds up the others), each
/// with its own `state` made once by `makeState` (scratch buffers, a feature computer,
/// statistics to merge). Returns the workers' final states, in no particular order.
public func parallelForEach<State>(_ count: Int, workers: Int, state makeState: @Sendable () -> State,
                                   _ body: @Sendable (inout State, Int) -> Void) -> [State] {
    let next = Atomic(0)
    let states = Locked([State]())
    DispatchQueue.concurrentPerform(iterations: min(max(workers, 1), max(count, 1))) { _ in
        var state = makeState()
        while case let i = next.add(1, ordering: .relaxed).oldValue, i < count { body(&state, i) }
        states.withLock { [state] in $0.append(state) }
    }
    return states.withLock { $0 }
}

/// Runs `body(i)` for every `i` in `0..<count` on up to `workers` threads.
public func parallelForEach(_ count: Int, workers: Int, _ body: @Sendable (Int) -> Void) {
    _ = parallelForEach(count, workers: workers, state: { () }) { _, i in body(i) }
}

/// `body(i)` for every `i` in `0..<count` on up to `workers` threads, the results in order.
public func parallelMap<T: Sendable>(_ count: Int, workers: Int, _ body: @Sendable (Int) -> T) -> [T] {
    let results = Locked([T?](repeating: nil, count: count))
    parallelForEach(count, workers: workers) { i in
        let value = body(i)
        results.withLock { $0[i] = value }
    }
    return results.withLock { $0.map { $0! } }
}
