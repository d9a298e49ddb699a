import Dispatch
import TensorCore

/// Data-parallel gradients on several threads: each worker has a replica of the model that
/// shares the master's weights (copy-on-write arrays: no copy is made), computes the loss and
/// gradients of its shard of the batch, and the shards' gradients are summed into the
/// master's. BLAS runs single-threaded inside the workers.
///
/// Buffers (batch-norm running statistics) are copied from the master to the replicas before
/// each step and from the first replica back after it, as PyTorch's `DataParallel` keeps them.
public final class DataParallel<Model: Layer> {
    public let master: Model
    public let replicas: [Model]

    /// - Parameters:
    ///   - workers: threads (and replicas).
    ///   - makeReplica: a model of the same architecture (its initial weights do not matter).
    public init(master: Model, workers: Int, makeReplica: () -> Model) {
        precondition(workers >= 1, "DataParallel: at least one worker")
        self.master = master
        replicas = (0..<workers).map { _ in makeReplica() }
        let names = master.parameters.map(\.name)
        for replica in replicas {
            precondition(replica.parameters.map(\.name) == names, "DataParallel: a replica's parameters differ from the master's")
        }
    }

    public var workerCount: Int { replicas.count }

    /// `body(replica, i)` for `i` in `0..<count`, spread over the workers' replicas (each
    /// refreshed to the master's current weights and mode first), results in order: a forward
    /// pass over many batches (validation) on every core.
    public func map<T>(_ count: Int, _ body: @escaping @Sendable (Model, Int) -> T) -> [T] {
        synchronizeReplicas()
        let results = SharedSlots<T>(count: count)
        let replicas = SharedSlots<Model>(self.replicas)
        let workers = replicas.count
        let previousThreads = BLAS.threadCount
        if workers > 1 { BLAS.setThreadCount(1) }
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            for i in stride(from: w, to: count, by: workers) { results[i] = body(replicas[w], i) }
        }
        if workers > 1 { BLAS.setThreadCount(previousThreads) }
        return (0..<count).map { results[$0] }
    }

    /// Points every replica's parameters and buffers at the master's values (shared storage
    /// until written) and copies its training mode.
    private func synchronizeReplicas() {
        let masterParameters = master.parameters.map(\.tensor)
        let masterBuffers = master.buffers.map(\.tensor)
        for replica in replicas {
            for (r, m) in zip(replica.parameters.map(\.tensor), masterParameters) {
                r.values = m.values
                r.requiresGrad = m.requiresGrad
                r.grad = nil
            }
            for (r, m) in zip(replica.buffers.map(\.tensor), masterBuffers) { r.values = m.values }
            replica.isTraining = master.isTraining
        }
    }

    /// Computes `Σ_shard loss(replica, shard)` and accumulates its gradient into the master's
    /// parameters (added to any gradient already there, as `backward` does).
    ///
    /// - Parameter loss: the loss of one shard, already weighted so that the shards' losses add
    ///   up to the batch's (for a mean over the batch: the shard's mean times its share).
    ///   Called on worker threads, shard `0..<workerCount`, each with its own replica.
    /// - Returns: the summed loss.
    public func accumulateGradients(_ loss: @escaping @Sendable (Model, Int) -> Tensor<Model.Scalar>) -> Model.Scalar {
        synchronizeReplicas()
        let masterParameters = master.parameters.map(\.tensor)
        let masterBuffers = master.buffers.map(\.tensor)
        let results = SharedSlots<Model.Scalar>(count: replicas.count)
        let replicas = SharedSlots<Model>(self.replicas)
        let previousThreads = BLAS.threadCount
        if replicas.count > 1 { BLAS.setThreadCount(1) }
        DispatchQueue.concurrentPerform(iterations: replicas.count) { shard in
            let value = loss(replicas[shard], shard)
            if value.requiresGrad { value.backward() }  // an empty shard has nothing to send back
            results[shard] = value.item
        }
        if replicas.count > 1 { BLAS.setThreadCount(previousThreads) }
        for (index, m) in masterParameters.enumerated() where m.requiresGrad {
            for replica in self.replicas {
                guard let g = replica.parameters[index].tensor.grad else { continue }
                if let existing = m.grad {
                    existing.values.withUnsafeMutableBufferPointer { e in
                        g.values.withUnsafeBufferPointer { r in Model.Scalar.add(r, into: e) }
                    }
                } else {
                    m.grad = Tensor(shape: m.shape, values: g.values)
                }
                replica.parameters[index].tensor.grad = nil
            }
        }
        for (m, r) in zip(masterBuffers, self.replicas[0].buffers.map(\.tensor)) { m.values = r.values }
        return (0..<results.count).reduce(0) { $0 + results[$1] }
    }
}

/// Fixed slots that worker threads read, or write one each (shard i only slot i): raw
/// storage, so that no array's copy-on-write bookkeeping is shared between threads.
final class SharedSlots<Value>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Value?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    convenience init(_ values: [Value]) {
        self.init(count: values.count)
        for (i, v) in values.enumerated() { slots[i] = v }
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    var count: Int { slots.count }

    subscript(i: Int) -> Value {
        get { slots[i]! }
        set { slots[i] = newValue }
    }
}
