import Foundation

// The report as Markdown and as one self-contained HTML page (inline CSS and SVG, no script,
// well-formed XML so that any XML parser can read it). Both show the same numbers as
// report.json, formatted by the helpers below.

extension ComparisonReport {
    /// Percent with two decimals, as every rate in the reports is shown.
    public static func percent(_ x: Double) -> String { String(format: "%.2f", 100 * x) }
    static func interval(_ i: ConfidenceInterval) -> String { "\(percent(i.low))–\(percent(i.high))" }
    static func seconds(_ s: Double?) -> String { s.map { String(format: "%.1f", $0) } ?? "n/a" }
    static func rtf(_ x: Double) -> String { String(format: "%.4f", x) }
    static func pValue(_ p: Double) -> String { p < 0.0001 ? "<0.0001" : String(format: "%.4f", p) }
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        return String(digits.enumerated().flatMap { i, c in (i > 0 && (digits.count - i) % 3 == 0 ? [","] : []) + [c] })
    }

    /// Rows of the summary table: one per model, cells as shown.
    var summaryRows: [(model: String, cells: [(field: String, text: String)])] {
        models.map { m in
            var cells: [(String, String)] = [("kind", m.architecture)]
            if isolatedWords {
                cells.append(("accuracy", Self.percent(m.accuracy)))
                cells.append(("accuracyInterval", Self.interval(m.accuracyInterval)))
            }
            cells.append(("wordErrorRate", Self.percent(m.wordErrorRate)))
            cells.append(("wordErrorRateInterval", Self.interval(m.wordErrorRateInterval)))
            cells.append(("sentenceErrorRate", Self.percent(m.sentenceErrorRate)))
            cells.append(("parameters", Self.grouped(m.parameters)))
            cells.append(("trainingSeconds", Self.seconds(m.trainingSeconds)))
            cells.append(("realTimeFactor", Self.rtf(m.realTimeFactor)))
            return (m.name, cells)
        }
    }

    var summaryHeader: [String] {
        ["model", "architecture"] + (isolatedWords ? ["accuracy %", "95% CI"] : [])
            + ["WER %", "95% CI", "SER %", "parameters", "training s", "decoding RTF"]
    }

    /// The test set in a line.
    var overview: String {
        String(format: "%d utterances, %d reference words, %.1f s of audio; %@ grammar", utterances, referenceWords, audioSeconds, grammar)
    }

    /// The summary table alone, in Markdown (what `compare` prints).
    public var summaryMarkdown: String {
        var lines = [row(summaryHeader), row(summaryHeader.map { _ in "---" })]
        for r in summaryRows { lines.append(row([r.model] + r.cells.map(\.text))) }
        return lines.joined(separator: "\n")
    }

    private func row(_ cells: [String]) -> String {
        "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
    }

    // MARK: Markdown

    /// `report.md`: the report's tables for a terminal or a pull request.
    public var markdown: String {
        var out = ["# Model comparison on \(testSet)", "", overview + ".", "", "## Summary", "", summaryMarkdown, ""]
        out.append("Confidence intervals: percentile bootstrap over utterances (1,000 resamples). RTF: decoding seconds (features and search) per second of audio.")
        out.append("")
        out.append("| model | features | path |")
        out.append("| --- | --- | --- |")
        for m in models { out.append(row([m.name, m.features, m.path])) }
        out.append("")
        if !notes.isEmpty {
            out.append("## Notes")
            out.append("")
            out += notes.map { "- " + $0 }
            out.append("")
        }
        if !pairwise.isEmpty {
            out.append("## Significance")
            out.append("")
            out.append(isolatedWords ? "McNemar's exact test on utterance correctness." : "Matched-pairs test on per-utterance word errors.")
            out.append("")
            out.append(row(["first", "second", "first better", "second better", "p", "significant (p < 0.05)"]))
            out.append(row(Array(repeating: "---", count: 6)))
            for p in pairwise {
                out.append(row([p.first, p.second, String(p.test.firstBetter), String(p.test.secondBetter), Self.pValue(p.test.pValue), p.significant ? "yes" : "no"]))
            }
            out.append("")
        }
        out.append("## Per speaker (\(isolatedWords ? "accuracy" : "WER") %)")
        out.append("")
        out.append(row(["speaker", "utterances"] + models.map(\.name)))
        out.append(row(Array(repeating: "---", count: models.count + 2)))
        for s in speakers {
            let n = models.first?.speakers[s]?.utterances ?? 0
            out.append(row([s, String(n)] + models.map { m in
                m.speakers[s].map { Self.percent(isolatedWords ? $0.accuracy : $0.wordErrorRate) } ?? "n/a"
            }))
        }
        out.append("")
        out.append("## Confusions")
        for m in models {
            out.append("")
            out.append("### \(m.name)")
            out.append("")
            let (rows, columns) = Self.confusionLabels(m.confusion)
            if rows.count > Self.largestMatrix {
                // A large vocabulary: the most frequent errors rather than a matrix nobody can read.
                out.append(row(["reference", "recognized", "times"]))
                out.append(row(["---", "---", "---"]))
                for e in m.mostFrequentConfusions(limit: Self.confusionsListed) { out.append(row([e.reference, e.hypothesis, String(e.count)])) }
                continue
            }
            out.append(row(["ref \\ hyp"] + columns))
            out.append(row(Array(repeating: "---", count: columns.count + 1)))
            for r in rows { out.append(row([r] + columns.map { c in m.confusion[r]?[c].map(String.init) ?? "." })) }
        }
        out.append("")
        out.append("## Training")
        out.append("")
        for m in models {
            for curve in m.curves {
                let finals = curve.series.compactMap { s in s.points.last.map { "\(s.name) \(String(format: "%.4g", $0[1]))" } }
                out.append("- \(m.name), \(curve.title): \(curve.series.first?.points.count ?? 0) \(curve.xLabel)s, final \(finals.joined(separator: ", "))")
            }
            if m.curves.isEmpty { out.append("- \(m.name): no training log") }
        }
        out.append("")
        out.append("## Disagreements (\(disagreements.count) utterances)")
        out.append("")
        if !disagreements.isEmpty {
            out.append(row(["utterance", "reference"] + models.map(\.name)))
            out.append(row(Array(repeating: "---", count: models.count + 2)))
            for d in disagreements.prefix(Self.disagreementLimit) {
                out.append(row([d.id, d.reference.joined(separator: " ")] + models.map { m in
                    let h = d.hypotheses[m.name] ?? []
                    return (h == d.reference ? "✓ " : "") + h.joined(separator: " ")
                }))
            }
            if disagreements.count > Self.disagreementLimit {
                out.append("")
                out.append("\(disagreements.count - Self.disagreementLimit) more in report.json.")
            }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static let disagreementLimit = 200

    /// Above this many rows a confusion matrix is listed as its most frequent errors instead.
    static let largestMatrix = 25
    /// Errors listed per model when the matrix is too large.
    static let confusionsListed = 20

    /// Rows (references, then `<ins>`) and columns (hypotheses, then `<del>`) of a confusion matrix.
    static func confusionLabels(_ confusion: [String: [String: Int]]) -> (rows: [String], columns: [String]) {
        let references = confusion.keys.filter { $0 != "<ins>" }.sorted()
        let hypotheses = Set(confusion.values.flatMap(\.keys)).subtracting(["<del>"])
        let columns = (Set(references).union(hypotheses)).sorted() + (confusion.values.contains { $0["<del>"] != nil } ? ["<del>"] : [])
        return (references + (confusion["<ins>"] != nil ? ["<ins>"] : []), columns)
    }

    // MARK: HTML

    /// `report.html`: one page, readable offline and without JavaScript.
    public var html: String {
        var h: [String] = []
        h.append("<!DOCTYPE html>")
        h.append("<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>\(htmlEscaped("speechlab: model comparison on \(testSet)"))</title>")
        h.append("<style>\(Self.style)</style></head><body>")
        h.append("<h1>Model comparison</h1>")
        h.append("<p class=\"meta\">Test set <code>\(htmlEscaped(testSet))</code>: \(htmlEscaped(overview)). Written \(htmlEscaped(created)).</p>")

        h.append("<h2>Summary</h2>")
        h.append("<table id=\"summary\"><thead><tr>\(summaryHeader.map { "<th>\(htmlEscaped($0))</th>" }.joined())</tr></thead><tbody>")
        let best = isolatedWords ? models.map(\.accuracy).max() : models.map(\.wordErrorRate).min()
        for (m, r) in zip(models, summaryRows) {
            let isBest = (isolatedWords ? m.accuracy : m.wordErrorRate) == best && models.count > 1
            h.append("<tr data-model=\"\(htmlEscaped(r.model))\"\(isBest ? " class=\"best\"" : "")><th>\(htmlEscaped(r.model))</th>"
                + r.cells.map { "<td data-field=\"\($0.field)\">\(htmlEscaped($0.text))</td>" }.joined() + "</tr>")
        }
        h.append("</tbody></table>")
        h.append("<p class=\"small\">95% confidence intervals: percentile bootstrap over utterances (1,000 resamples). "
            + "Decoding RTF: seconds of feature extraction and search per second of audio. Training time from each model's model.json or training log.</p>")
        h.append("<table><thead><tr><th>model</th><th>features</th><th>path</th></tr></thead><tbody>")
        for m in models { h.append("<tr><th>\(htmlEscaped(m.name))</th><td class=\"left\">\(htmlEscaped(m.features))</td><td class=\"left\"><code>\(htmlEscaped(m.path))</code></td></tr>") }
        h.append("</tbody></table>")

        if !notes.isEmpty {
            h.append("<h2>Notes</h2><ul>\(notes.map { "<li>\(htmlEscaped($0))</li>" }.joined())</ul>")
        }

        if !pairwise.isEmpty {
            h.append("<h2>Significance</h2>")
            h.append("<p>\(isolatedWords ? "McNemar's exact test on whether each utterance is right." : "Matched-pairs test (Gillick and Cox) on word errors per utterance."), two-sided.</p>")
            h.append("<table id=\"significance\"><thead><tr><th>first</th><th>second</th><th>first better</th><th>second better</th><th>p</th><th>p &lt; 0.05</th></tr></thead><tbody>")
            for p in pairwise {
                h.append("<tr><td class=\"left\">\(htmlEscaped(p.first))</td><td class=\"left\">\(htmlEscaped(p.second))</td><td>\(p.test.firstBetter)</td><td>\(p.test.secondBetter)</td>"
                    + "<td data-field=\"pValue\">\(htmlEscaped(Self.pValue(p.test.pValue)))</td><td>\(p.significant ? "<strong>yes</strong>" : "no")</td></tr>")
            }
            h.append("</tbody></table>")
        }

        h.append("<h2>Per speaker</h2>")
        h.append("<p>\(isolatedWords ? "Accuracy" : "Word error rate") in percent.</p>")
        h.append("<table id=\"speakers\"><thead><tr><th>speaker</th><th>utterances</th>\(models.map { "<th>\(htmlEscaped($0.name))</th>" }.joined())</tr></thead><tbody>")
        for s in speakers {
            let n = models.first?.speakers[s]?.utterances ?? 0
            h.append("<tr><th>\(htmlEscaped(s))</th><td>\(n)</td>" + models.map { m -> String in
                guard let score = m.speakers[s] else { return "<td>n/a</td>" }
                let errorRate = isolatedWords ? score.sentenceErrorRate : score.wordErrorRate
                let value = isolatedWords ? score.accuracy : score.wordErrorRate
                return "<td style=\"background:\(Self.errorShade(errorRate))\">\(Self.percent(value))</td>"
            }.joined() + "</tr>")
        }
        h.append("</tbody></table>")

        h.append("<h2>Confusion matrices</h2>")
        h.append("<p class=\"small\">Rows: reference words; columns: recognized words, over the edit-distance alignment of each utterance. Blue: correct; red: errors; shade: share of the row.</p>")
        h.append("<div class=\"grid\">")
        for m in models {
            let body: String
            if Self.confusionLabels(m.confusion).rows.count > Self.largestMatrix {
                body = "<table><thead><tr><th>reference</th><th>recognized</th><th>times</th></tr></thead><tbody>"
                    + m.mostFrequentConfusions(limit: Self.confusionsListed).map {
                        "<tr><td>\(htmlEscaped($0.reference))</td><td>\(htmlEscaped($0.hypothesis))</td><td>\($0.count)</td></tr>"
                    }.joined() + "</tbody></table>"
            } else {
                body = Self.heatMap(m.confusion)
            }
            h.append("<figure><figcaption>\(htmlEscaped(m.name))</figcaption>\(body)</figure>")
        }
        h.append("</div>")

        h.append("<h2>Training curves</h2><div class=\"grid\">")
        for m in models {
            if m.curves.isEmpty { h.append("<figure><figcaption>\(htmlEscaped(m.name))</figcaption><p>No training log.</p></figure>") }
            for c in m.curves { h.append("<figure><figcaption>\(htmlEscaped(m.name)): \(htmlEscaped(c.title))</figcaption>\(Self.lineChart(c))</figure>") }
        }
        h.append("</div>")

        h.append("<h2>Disagreements</h2>")
        h.append("<p>\(disagreements.count) of \(utterances) utterances get different hypotheses from the models\(disagreements.count > Self.disagreementLimit ? "; the first \(Self.disagreementLimit) are listed, all are in report.json" : "").</p>")
        if !disagreements.isEmpty {
            h.append("<table id=\"disagreements\"><thead><tr><th>utterance</th><th>reference</th>\(models.map { "<th>\(htmlEscaped($0.name))</th>" }.joined())</tr></thead><tbody>")
            for d in disagreements.prefix(Self.disagreementLimit) {
                h.append("<tr><td class=\"left\"><code>\(htmlEscaped(d.id))</code></td><td class=\"left\">\(htmlEscaped(d.reference.joined(separator: " ")))</td>" + models.map { m -> String in
                    let words = d.hypotheses[m.name] ?? []
                    return "<td class=\"left \(words == d.reference ? "right" : "wrong")\">\(htmlEscaped(words.joined(separator: " ")))</td>"
                }.joined() + "</tr>")
            }
            h.append("</tbody></table>")
        }
        h.append("<p class=\"small\">Every number on this page is in report.json beside it; report.md has the same tables.</p>")
        h.append("</body></html>")
        return h.joined(separator: "\n") + "\n"
    }

    static let style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#1f2328}\
        table{border-collapse:collapse;margin:0.5em 0 1em}th,td{border:1px solid #d0d7de;padding:0.25em 0.6em;text-align:right}\
        th{background:#f6f8fa}td.left,th.left{text-align:left}tr.best th{background:#dafbe1}\
        td.right{color:#1a7f37}td.wrong{color:#cf222e}.meta,.small{color:#57606a}.small{font-size:0.85em}\
        .grid{display:flex;flex-wrap:wrap;gap:1.5em}figure{margin:0}figcaption{font-weight:600;margin-bottom:0.3em}\
        svg text{font-family:system-ui,sans-serif}code{font-size:0.9em}
        """

    /// A pale green-to-red background for an error rate.
    static func errorShade(_ errorRate: Double) -> String {
        let t = min(1, max(0, errorRate / 0.25))
        return String(format: "rgb(%d,%d,%d)", Int(230 + 25 * t), Int(245 - 90 * t), Int(230 - 80 * t))
    }

    /// A confusion matrix as an SVG heat map.
    static func heatMap(_ confusion: [String: [String: Int]]) -> String {
        let (rows, columns) = confusionLabels(confusion)
        let cell = 26.0, left = 64.0, top = 64.0
        let width = left + cell * Double(columns.count) + 8, height = top + cell * Double(rows.count) + 8
        var s = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"]
        for (j, c) in columns.enumerated() {
            let x = left + cell * (Double(j) + 0.5)
            s.append("<text x=\"\(fmt(x))\" y=\"\(fmt(top - 6))\" font-size=\"11\" transform=\"rotate(-50 \(fmt(x)) \(fmt(top - 6)))\">\(htmlEscaped(c))</text>")
        }
        for (i, r) in rows.enumerated() {
            let total = Double(confusion[r]?.values.reduce(0, +) ?? 0)
            let y = top + cell * Double(i)
            s.append("<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y + cell * 0.65))\" font-size=\"11\" text-anchor=\"end\">\(htmlEscaped(r))</text>")
            for (j, c) in columns.enumerated() {
                let n = confusion[r]?[c] ?? 0
                let x = left + cell * Double(j)
                let share = total > 0 ? Double(n) / total : 0
                let fill = n == 0 ? "#ffffff" : (r == c ? "rgba(31,111,235,\(fmt(0.15 + 0.85 * share)))" : "rgba(207,34,46,\(fmt(0.2 + 0.8 * share)))")
                s.append("<rect x=\"\(fmt(x))\" y=\"\(fmt(y))\" width=\"\(fmt(cell))\" height=\"\(fmt(cell))\" fill=\"\(fill)\" stroke=\"#d0d7de\"><title>\(htmlEscaped("\(r) → \(c): \(n)"))</title></rect>")
                if n > 0 {
                    s.append("<text x=\"\(fmt(x + cell / 2))\" y=\"\(fmt(y + cell * 0.65))\" font-size=\"10\" text-anchor=\"middle\" fill=\"\(share > 0.55 ? "#ffffff" : "#1f2328")\">\(n)</text>")
                }
            }
        }
        s.append("</svg>")
        return s.joined()
    }

    /// A training curve as an SVG line chart with axes, ticks and a legend.
    static func lineChart(_ curve: TrainingCurve) -> String {
        let width = 420.0, height = 256.0, left = 58.0, right = 12.0, top = 10.0, bottom = 54.0
        let points = curve.series.flatMap(\.points).filter { $0.count == 2 && $0[0].isFinite && $0[1].isFinite }
        guard let x0 = points.map({ $0[0] }).min(), let x1 = points.map({ $0[0] }).max(),
              var y0 = points.map({ $0[1] }).min(), var y1 = points.map({ $0[1] }).max() else { return "<p>No points.</p>" }
        if y1 - y0 < 1e-12 { y0 -= 0.5; y1 += 0.5 }
        let pad = (y1 - y0) * 0.05
        y0 -= pad; y1 += pad
        let xSpan = max(x1 - x0, 1)
        func px(_ x: Double) -> Double { left + (x - x0) / xSpan * (width - left - right) }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom) }
        var s = ["<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\">"]
        s.append("<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(width - left - right))\" height=\"\(fmt(height - top - bottom))\" fill=\"none\" stroke=\"#d0d7de\"/>")
        for k in 0...4 {
            let y = y0 + (y1 - y0) * Double(k) / 4
            s.append("<line x1=\"\(fmt(left))\" x2=\"\(fmt(width - right))\" y1=\"\(fmt(py(y)))\" y2=\"\(fmt(py(y)))\" stroke=\"#eaeef2\"/>")
            s.append("<text x=\"\(fmt(left - 4))\" y=\"\(fmt(py(y) + 4))\" font-size=\"10\" text-anchor=\"end\">\(String(format: "%.3g", y))</text>")
        }
        let step = max(1, Int((xSpan / 8).rounded(.up)))
        var x = x0
        while x <= x1 + 1e-9 {
            s.append("<text x=\"\(fmt(px(x)))\" y=\"\(fmt(height - bottom + 14))\" font-size=\"10\" text-anchor=\"middle\">\(String(format: "%g", x))</text>")
            x += Double(step)
        }
        s.append("<text x=\"\(fmt(left + (width - left - right) / 2))\" y=\"\(fmt(height - bottom + 30))\" font-size=\"11\" text-anchor=\"middle\">\(htmlEscaped(curve.xLabel))</text>")
        var legendX = left
        let colors = ["#1f6feb", "#cf222e", "#1a7f37", "#9a6700", "#8250df"]
        for (k, series) in curve.series.enumerated() {
            let color = colors[k % colors.count]
            let path = series.points.filter { $0.count == 2 && $0[1].isFinite }.map { "\(fmt(px($0[0]))),\(fmt(py($0[1])))" }.joined(separator: " ")
            s.append("<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"/>")
            for p in series.points where p.count == 2 && p[1].isFinite {
                s.append("<circle cx=\"\(fmt(px(p[0])))\" cy=\"\(fmt(py(p[1])))\" r=\"2.5\" fill=\"\(color)\"><title>\(htmlEscaped("\(series.name) at \(String(format: "%g", p[0])): \(String(format: "%.5g", p[1]))"))</title></circle>")
            }
            // The legend runs along the bottom, where it cannot hide a line.
            let ly = height - 6
            s.append("<line x1=\"\(fmt(legendX))\" x2=\"\(fmt(legendX + 18))\" y1=\"\(fmt(ly - 4))\" y2=\"\(fmt(ly - 4))\" stroke=\"\(color)\" stroke-width=\"2\"/>")
            s.append("<text x=\"\(fmt(legendX + 22))\" y=\"\(fmt(ly))\" font-size=\"10\">\(htmlEscaped(series.name))</text>")
            legendX += 36 + 6 * Double(series.name.count)
        }
        s.append("</svg>")
        return s.joined()
    }

    static func fmt(_ x: Double) -> String { String(format: "%.1f", x) }
}

/// Escapes text for HTML and XML.
func htmlEscaped(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
        switch c {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.append(c)
        }
    }
    return out
}
