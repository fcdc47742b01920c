/// How far a fixed-output encoder built on a streaming compressor (zstd,
/// deflate) advances before it next measures its output: the input it
/// took so far, over the output that took, estimates how much more input
/// the room left will hold; the next step is a `fraction` of that, so a
/// step seldom overflows, the room shrinks geometrically, and a cluster
/// is measured about log(room / minimum) times, not once per byte. Steps
/// never fall below `minimum` input bytes (the search ends instead) and
/// never pass the input's end. The steps depend on the input and the
/// library's output alone.
struct FillSteps {
    /// Of the input the room is estimated to hold, how much the next step
    /// takes, as numerator over 64.
    let fraction: Int
    /// The smallest step worth measuring, in input bytes.
    let minimum: Int

    /// The first step, before any output is known: as many input bytes as
    /// the room holds output bytes (the ratio of data that does not
    /// compress), or the whole input when that is less.
    func first(room: Int, input: Int) -> Int {
        min(room, input)
    }

    /// The step after a measurement that fit: `taken` input bytes made
    /// `written` output bytes and `room` output bytes are left; nil when
    /// the next step would be under the minimum.
    func next(taken: Int, written: Int, room: Int, left: Int) -> Int? {
        guard left > 0, room > 0 else { return nil }
        let estimate = room * max(taken, 1) / max(written, 1) * fraction / 64
        let step = min(estimate, left)
        return step >= min(minimum, left) ? max(step, min(minimum, left)) : nil
    }

    /// The step to retry with after one of `step` bytes overflowed; nil
    /// when it would be under the minimum.
    func retry(after step: Int) -> Int? {
        step / 2 >= minimum ? step / 2 : nil
    }
}
