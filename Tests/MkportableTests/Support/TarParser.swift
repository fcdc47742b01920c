import Foundation

/// A minimal, strict tar reader (ustar, GNU long names 'L'/'K', pax 'x'
/// records), written for the tests so that an archive made by an
/// independent tool (sqfs2tar) can be turned into a `Manifest` without
/// trusting another tar implementation's interpretation.
public struct TarParser {
    public struct Member {
        public var path: RawPath
        public var type: UInt8
        public var mode: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var mtime: Int64
        public var size: UInt64
        public var linkName: [UInt8]
        public var device: DeviceNumber
        /// Byte range of the member's data inside the archive.
        public var dataOffset: Int
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var offset: Int
        public var message: String
        public var description: String { "tar archive malformed at byte \(offset): \(message)" }
    }

    /// Parses all members. Paths are normalized: leading "./" and trailing
    /// "/" removed, "." becomes the root.
    public static func members(of data: Data) throws -> [Member] {
        try data.withUnsafeBytes { raw in try members(of: raw) }
    }

    public static func members(of data: UnsafeRawBufferPointer) throws -> [Member] {
        var out: [Member] = []
        var offset = 0
        var longName: [UInt8]? = nil
        var longLink: [UInt8]? = nil
        var pax: [String: [UInt8]] = [:]
        var sawEnd = false
        while offset + 512 <= data.count {
            let h = UnsafeRawBufferPointer(rebasing: data[offset..<offset + 512])
            if h.allSatisfy({ $0 == 0 }) { sawEnd = true; break }
            try verifyChecksum(h, at: offset)
            let type = h[156]
            let size = try number(h, 124, 12, at: offset)
            let dataOffset = offset + 512
            let padded = Int((size + 511) / 512 * 512)
            guard dataOffset + Int(size) <= data.count else { throw Malformed(offset: offset, message: "member data runs past the end") }
            let body = UnsafeRawBufferPointer(rebasing: data[dataOffset..<dataOffset + Int(size)])
            offset = dataOffset + padded
            switch type {
            case UInt8(ascii: "L"):
                longName = trimNul(Array(body))
                continue
            case UInt8(ascii: "K"):
                longLink = trimNul(Array(body))
                continue
            case UInt8(ascii: "x"):
                pax = try parsePax(Array(body), at: offset)
                continue
            case UInt8(ascii: "g"):
                continue
            default:
                break
            }
            let magic = Array(h[257..<263])
            let isUstar = magic == Array("ustar\0".utf8)  // POSIX; GNU is "ustar " + " \0"
            var name = cString(h, 0, 100)
            if isUstar {
                let prefix = cString(h, 345, 155)
                if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + name }
            }
            if let ln = longName { name = ln }
            if let p = pax["path"] { name = p }
            var link = cString(h, 157, 100)
            if let lk = longLink { link = lk }
            if let p = pax["linkpath"] { link = p }
            var member = Member(
                path: normalize(name), type: type,
                mode: UInt32(try number(h, 100, 8, at: offset) & 0o7777),
                uid: UInt32(try number(h, 108, 8, at: offset)),
                gid: UInt32(try number(h, 116, 8, at: offset)),
                mtime: Int64(try number(h, 136, 12, at: offset)),
                size: size, linkName: link,
                device: DeviceNumber(major: UInt32(try number(h, 329, 8, at: offset)), minor: UInt32(try number(h, 337, 8, at: offset))),
                dataOffset: dataOffset)
            if let v = pax["uid"], let n = UInt32(String(decoding: v, as: UTF8.self)) { member.uid = n }
            if let v = pax["gid"], let n = UInt32(String(decoding: v, as: UTF8.self)) { member.gid = n }
            if let v = pax["mtime"], let n = Double(String(decoding: v, as: UTF8.self)) { member.mtime = Int64(n.rounded(.down)) }
            if let v = pax["size"], let n = UInt64(String(decoding: v, as: UTF8.self)) { member.size = n }
            out.append(member)
            longName = nil; longLink = nil; pax = [:]
        }
        if !sawEnd { throw Malformed(offset: offset, message: "no end-of-archive marker") }
        return out
    }

    static func normalize(_ name: [UInt8]) -> RawPath {
        var n = name[...]
        while n.starts(with: [UInt8(ascii: "."), UInt8(ascii: "/")]) { n = n.dropFirst(2) }
        while n.last == UInt8(ascii: "/") { n = n.dropLast() }
        if n.elementsEqual([UInt8(ascii: ".")]) { return .root }
        return RawPath(Array(n))
    }

    static func trimNul(_ b: [UInt8]) -> [UInt8] {
        if let i = b.firstIndex(of: 0) { return Array(b[..<i]) }
        return b
    }

    static func cString(_ h: UnsafeRawBufferPointer, _ start: Int, _ len: Int) -> [UInt8] {
        trimNul(Array(h[start..<start + len]))
    }

    /// Octal ASCII (NUL/space padded) or GNU base-256.
    static func number(_ h: UnsafeRawBufferPointer, _ start: Int, _ len: Int, at offset: Int) throws -> UInt64 {
        let f = Array(h[start..<start + len])
        if f[0] & 0x80 != 0 {
            var v: UInt64 = UInt64(f[0] & 0x7f)
            for b in f.dropFirst() { v = v << 8 | UInt64(b) }
            return v
        }
        var v: UInt64 = 0
        var seenDigit = false
        for b in f {
            if b == 0 || b == UInt8(ascii: " ") { if seenDigit { break } else { continue } }
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "7") else {
                throw Malformed(offset: offset, message: "bad octal field at header byte \(start): \(RawPath.render(f))")
            }
            v = v * 8 + UInt64(b - UInt8(ascii: "0"))
            seenDigit = true
        }
        return v
    }

    static func verifyChecksum(_ h: UnsafeRawBufferPointer, at offset: Int) throws {
        var sum: UInt64 = 0
        for i in 0..<512 { sum += (148..<156).contains(i) ? 32 : UInt64(h[i]) }
        let stored = try number(h, 148, 8, at: offset)
        if stored != sum { throw Malformed(offset: offset, message: "header checksum \(stored) != computed \(sum)") }
    }

    static func parsePax(_ body: [UInt8], at offset: Int) throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var i = 0
        while i < body.count {
            guard let sp = body[i...].firstIndex(of: UInt8(ascii: " ")),
                  let len = Int(String(decoding: body[i..<sp], as: UTF8.self)), len > 0, i + len <= body.count else {
                throw Malformed(offset: offset, message: "bad pax record")
            }
            let record = body[(sp + 1)..<(i + len - 1)]  // without trailing newline
            if let eq = record.firstIndex(of: UInt8(ascii: "=")) {
                out[String(decoding: record[record.startIndex..<eq], as: UTF8.self)] = Array(record[(eq + 1)...])
            }
            i += len
        }
        return out
    }
}
