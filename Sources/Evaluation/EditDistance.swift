/// One step of an alignment between a reference and a hypothesis word sequence.
public enum AlignmentStep: Equatable, Sendable, Codable {
    case match(String)
    case substitution(reference: String, hypothesis: String)
    case deletion(String)
    case insertion(String)
}

/// Minimum edit-distance alignment (Levenshtein, unit costs), with the steps that achieve it.
/// Ties prefer matches and substitutions over deletions and insertions, as sclite does.
public func align(reference: [String], hypothesis: [String]) -> [AlignmentStep] {
    let n = reference.count, m = hypothesis.count
    var cost = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
    for i in 0...n { cost[i][0] = i }
    for j in 0...m { cost[0][j] = j }
    if n > 0 && m > 0 {
        for i in 1...n {
            for j in 1...m {
                let diagonal = cost[i - 1][j - 1] + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1)
                cost[i][j] = min(diagonal, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
            }
        }
    }
    var steps: [AlignmentStep] = []
    var i = n, j = m
    while i > 0 || j > 0 {
        if i > 0 && j > 0 && cost[i][j] == cost[i - 1][j - 1] + (reference[i - 1] == hypothesis[j - 1] ? 0 : 1) {
            steps.append(reference[i - 1] == hypothesis[j - 1] ? .match(reference[i - 1]) : .substitution(reference: reference[i - 1], hypothesis: hypothesis[j - 1]))
            i -= 1; j -= 1
        } else if i > 0 && cost[i][j] == cost[i - 1][j] + 1 {
            steps.append(.deletion(reference[i - 1]))
            i -= 1
        } else {
            steps.append(.insertion(hypothesis[j - 1]))
            j -= 1
        }
    }
    return steps.reversed()
}
