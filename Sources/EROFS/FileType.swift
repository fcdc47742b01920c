/// The file_type byte of a directory entry: the generic FT_* numbers.
enum FileType: UInt8 {
    case regular = 1, directory = 2, characterDevice = 3, blockDevice = 4
    case fifo = 5, socket = 6, symlink = 7

    /// The S_IFMT bits an inode of this type carries in i_mode.
    var modeBits: UInt16 {
        switch self {
        case .regular: return 0o100000
        case .directory: return 0o040000
        case .characterDevice: return 0o020000
        case .blockDevice: return 0o060000
        case .fifo: return 0o010000
        case .socket: return 0o140000
        case .symlink: return 0o120000
        }
    }
}
