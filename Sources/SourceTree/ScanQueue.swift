import SystemIO

/// The scan's schedule: which directory is listed when, and on how many
/// threads (the listing itself is `DiskScanner`'s).
///
/// Rule: every directory below the root is listed exactly once, by
/// whichever thread takes it, and a listing depends on its directory alone
/// (its entries sorted bytewise, each subdirectory an empty placeholder
/// carrying its mode), so the tree put together at the end is the same
/// whatever thread listed what, and when. Directories are numbered in the
/// order they are found, a child after its parent, so the tree is put
/// together in one pass from the last number down, each listing moved into
/// its parent's placeholder: no copy, and no recursion however deep the
/// tree.
///
/// Before the first data block can be compressed the whole tree must be
/// known (tails are packed in an order over every file); listing on more
/// than one thread shortens that serial start, which is mostly system
/// calls (a `getdents` per directory, an `fstatat` per entry).
///
/// Failures: the first one stops every thread. On one thread directories
/// are listed breadth first in the order found, so the failure reported is
/// always the same one; the caller scanning on several threads scans again
/// on one to report that failure and not whichever a thread met first.
final class ScanQueue {
    /// One directory to list, and the placeholder its listing fills: its
    /// parent's number and the index of its entry there (-1 for the root).
    struct Job {
        var source: SourcePath
        var mode: UInt16
        var parent: Int32 = -1
        var entry: Int32 = -1
    }

    /// A directory's entries, and a job for each subdirectory among them
    /// (`entry` set, `parent` left to the queue).
    typealias Listing = (directory: Directory, subdirectories: [Job])

    private let list: (Job) throws(SourceTreeError) -> Listing
    private let monitor = Monitor()
    // Guarded by `monitor` while threads run.
    private var jobs: [Job]
    private var listings: [Directory]
    private var next = 0
    private var busy = 0
    private var failure: SourceTreeError?

    init(root: Job, list: @escaping (Job) throws(SourceTreeError) -> Listing) {
        self.list = list
        jobs = [root]
        listings = [Directory()]
    }

    /// Lists every directory on up to `threads` threads, this one among
    /// them (fewer if the system refuses more: that changes the speed, not
    /// the tree), and returns the root with the whole tree below it.
    func run(threads: Int) throws(SourceTreeError) -> Directory {
        var helpers: [WorkerThread] = []
        while helpers.count + 1 < threads, let t = try? WorkerThread({ [self] in work() }) {
            helpers.append(t)
        }
        work()
        for t in helpers { t.join() }
        if let failure { throw failure }
        return assemble()
    }

    /// Takes jobs until none is left and none is being listed (more may
    /// come from those), or until one failed.
    private func work() {
        monitor.lock()
        while failure == nil {
            if next < jobs.count {
                let k = next
                next += 1
                busy += 1
                let job = jobs[k]
                monitor.unlock()
                let listing: Listing?, error: SourceTreeError?
                do throws(SourceTreeError) {
                    (listing, error) = (try list(job), nil)
                } catch let e {
                    (listing, error) = (nil, e)
                }
                monitor.lock()
                busy -= 1
                if let listing { add(listing, of: k) } else { failure = error }
                monitor.broadcast()
            } else if busy == 0 {
                break
            } else {
                monitor.wait()
            }
        }
        monitor.broadcast()
        monitor.unlock()
    }

    /// Keeps job `k`'s listing and queues its subdirectories; with the
    /// monitor held.
    private func add(_ listing: Listing, of k: Int) {
        listings[k] = listing.directory
        for var sub in listing.subdirectories {
            sub.parent = Int32(k)
            jobs.append(sub)
            listings.append(Directory())
        }
    }

    /// Each listing moved into its parent's placeholder, children first.
    private func assemble() -> Directory {
        for k in stride(from: jobs.count - 1, to: 0, by: -1) {
            let child = listings[k]
            listings[k] = Directory()  // the moved listing's only reference is `child`
            listings[Int(jobs[k].parent)].entries[Int(jobs[k].entry)].node = .directory(child)
        }
        jobs = []
        return listings[0]
    }
}
