/// Told how far the data area of a write has got, for a progress display.
/// The writer calls `update` from its writer thread as blocks are written,
/// in order, and `finish` once the data is written; how (or whether) that
/// is shown is the caller's business. It never changes the image.
public protocol WriteProgress: AnyObject, Sendable {
    func update(done: UInt64, total: UInt64)
    func finish()
}
