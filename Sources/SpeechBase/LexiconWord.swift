/// A lexicon line's word without CMUdict's mark of an alternate pronunciation: `read(2)` →
/// `read`; any other spelling (`word(x)`, `(2)`) is kept as it is. Shared by the pronunciation
/// lexicon and the language model's vocabulary reader.
public func lexiconWord(_ field: String) -> String {
    guard field.hasSuffix(")"), let open = field.lastIndex(of: "("), open != field.startIndex,
          field[field.index(after: open)..<field.index(before: field.endIndex)].allSatisfy(\.isNumber) else { return field }
    return String(field[..<open])
}
