import BerthCore

/// User data (comments), as nft writes it: type, length, NUL-terminated value.
extension NFTNL {
    /// One user-data record of `type` holding `text`.
    static func userdata(_ type: UInt8, _ text: String) -> [UInt8] {
        let bytes = Array(text.utf8) + [0]
        return [type, UInt8(bytes.count)] + bytes
    }

    /// The text of the first record of `type`, nil if there is none or the data is malformed.
    static func comment(in userdata: [UInt8], type: UInt8) -> String? {
        var i = 0
        while i + 2 <= userdata.count {
            let t = userdata[i], length = Int(userdata[i + 1])
            guard i + 2 + length <= userdata.count else { return nil }
            if t == type {
                return String(decoding: userdata[(i + 2)..<(i + 2 + length)].prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            i += 2 + length
        }
        return nil
    }
}
