/// First in, first out, with the taken front dropped in batches (taking
/// is O(1) amortised): the order in which a pipeline's owner submits
/// jobs, and the one in which it writes their results.
public struct FIFO<Element> {
    private var items: [Element] = []
    private var head = 0

    public init() {}

    public var isEmpty: Bool { head == items.count }

    public var count: Int { items.count - head }

    /// The oldest element, left in place; nil when empty.
    public var first: Element? { head == items.count ? nil : items[head] }

    public mutating func append(_ e: Element) { items.append(e) }

    /// The oldest element, removed; nil when empty.
    public mutating func popFirst() -> Element? {
        if head == items.count { return nil }
        let e = items[head]
        head += 1
        if head > 64 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return e
    }

    public mutating func removeAll() {
        items = []
        head = 0
    }
}
