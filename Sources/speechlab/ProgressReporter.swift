import Foundation
import SpeechBase

/// Progress of long work on standard error: a redrawn bar on a terminal, a plain line every
/// tenth of the way otherwise (logs, CI).
final class ProgressReporter: Sendable {
    private struct State {
        var done = 0
        var lastDrawn = Date.distantPast
        var lastDecile = 0
    }

    let label: String
    let total: Int
    private let started = Date()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let state = Locked(State())

    init(label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
    }

    /// Records that `done` items are finished (with an optional detail, such as the loss);
    /// safe from any thread.
    func update(_ done: Int, detail: String = "") {
        state.withLock { state in
            state.done = max(state.done, done)
            let now = Date()
            if isTerminal {
                guard now.timeIntervalSince(state.lastDrawn) > 0.1 || done == total else { return }
                state.lastDrawn = now
                printError("\r" + line(done: state.done, now: now) + (detail.isEmpty ? "" : ", " + detail), terminator: "")
            } else {
                let decile = state.done * 10 / total
                guard decile > state.lastDecile else { return }
                state.lastDecile = decile
                printError(line(done: state.done, now: now) + (detail.isEmpty ? "" : ", " + detail))
            }
        }
    }

    /// Ends the bar's line.
    func finish() {
        if isTerminal { printError("") }
    }

    private func line(done: Int, now: Date) -> String {
        let fraction = Double(done) / Double(total)
        let elapsed = now.timeIntervalSince(started)
        let left = done > 0 ? elapsed / fraction - elapsed : 0
        let time = done >= total ? String(format: "%.1f s", elapsed) : String(format: "%.0f s left", left)
        if isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: max(0, width - filled - 1))
            return "\(label) [\(bar)] \(done)/\(total) \(Int(fraction * 100))% \(time)"
        }
        return "\(label): \(done) of \(total) (\(Int(fraction * 100))%), \(time)"
    }
}

/// Prints to standard error.
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}
