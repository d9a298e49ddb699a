import Foundation

/// When a training loop saves its checkpoint: after a step once `interval` seconds have passed
/// since the last save (0: after every step). A GMM-HMM iteration on a small corpus takes a
/// tenth of a second while a checkpoint (encoding, three files made durable with `fsync`, a
/// directory swap) takes ~10 ms, and under MPI every rank waits for rank 0's: saving every
/// iteration would cost a tenth of the training to guard a second of it.
public struct CheckpointSchedule: Sendable {
    /// Seconds between checkpoints (0: every step).
    public let interval: Double
    private var lastSaved: Date

    public init(interval: Double, start: Date = Date()) {
        precondition(interval >= 0, "CheckpointSchedule: a negative interval")
        self.interval = interval
        lastSaved = start
    }

    /// Whether a checkpoint is due at `now`; if so, it counts as saved then.
    public mutating func isDue(at now: Date = Date()) -> Bool {
        guard now.timeIntervalSince(lastSaved) >= interval else { return false }
        lastSaved = now
        return true
    }
}
