/// Encodes a message with name compression and truncation to a size limit.
///
/// Compression keys are lower-cased name suffixes, so `WEB.net` in an answer points at
/// `web.net` in the question while the question keeps its own case. Only offsets below
/// 0x4000 can be pointed at (14 bits). A record that would cross the limit is rolled back
/// together with the compression targets it added.
struct DNSWriter {
    let limit: Int
    private(set) var buffer: [UInt8] = []
    private var targets: [[UInt8]: Int] = [:]
    private var targetLog: [[UInt8]] = []

    init(limit: Int) {
        self.limit = limit
        buffer.reserveCapacity(min(limit, 512))
    }

    mutating func write(_ message: DNSMessage) -> [UInt8] {
        buffer = [UInt8](repeating: 0, count: DNSHeader.size)
        var header = message.header
        let optSize = message.edns.map { 11 + $0.options.reduce(0) { $0 + 4 + $1.data.count } } ?? 0
        let budget = limit - optSize
        var truncated = false

        var questionCount = 0
        for question in message.questions {
            let mark = self.mark
            writeName(question.name)
            writeUInt16(question.type.rawValue)
            writeUInt16(question.recordClass.rawValue)
            if buffer.count > budget { rollBack(to: mark); truncated = true; break }
            questionCount += 1
        }
        let answerCount = truncated ? 0 : writeRecords(message.answers, budget: budget, truncated: &truncated)
        let authorityCount = truncated ? 0 : writeRecords(message.authorities, budget: budget, truncated: &truncated)
        var ignored = false
        var additionalCount = truncated ? 0 : writeRecords(message.additionals, budget: budget, truncated: &ignored)
        if let edns = message.edns {
            writeOPT(edns)
            additionalCount += 1
        }

        header.isTruncated = header.isTruncated || truncated
        header.questionCount = UInt16(questionCount)
        header.answerCount = UInt16(answerCount)
        header.authorityCount = UInt16(authorityCount)
        header.additionalCount = UInt16(additionalCount)
        buffer.replaceSubrange(0..<DNSHeader.size, with: header.bytes)
        return buffer
    }

    private mutating func writeRecords(_ records: [DNSRecord], budget: Int, truncated: inout Bool) -> Int {
        var count = 0
        for record in records {
            let mark = self.mark
            writeRecord(record)
            if buffer.count > budget {
                rollBack(to: mark)
                truncated = true
                break
            }
            count += 1
        }
        return count
    }

    private mutating func writeRecord(_ record: DNSRecord) {
        writeName(record.name)
        writeUInt16(record.type.rawValue)
        writeUInt16(record.recordClass.rawValue)
        writeUInt32(record.ttl)
        let lengthAt = buffer.count
        writeUInt16(0)
        switch record.data {
        case .a(let address): buffer.append(contentsOf: address.bytes)
        case .aaaa(let address): buffer.append(contentsOf: address.bytes)
        case .ns(let name), .cname(let name), .ptr(let name): writeName(name)
        case .mx(let preference, let exchange):
            writeUInt16(preference)
            writeName(exchange)
        case .soa(let soa):
            writeName(soa.primaryServer)
            writeName(soa.responsible)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { writeUInt32(value) }
        case .opaque(_, let bytes): buffer.append(contentsOf: bytes)
        }
        // Record data over 65,535 bytes cannot be encoded; the whole message could not
        // hold it either, so the caller's limit has already rolled it back.
        patchUInt16(at: lengthAt, UInt16(clamping: buffer.count - lengthAt - 2))
    }

    private mutating func writeOPT(_ edns: DNSEDNS) {
        buffer.append(0)
        writeUInt16(DNSRecordType.opt.rawValue)
        writeUInt16(edns.udpPayloadSize)
        writeUInt32(UInt32(edns.extendedResponseCode) << 24 | UInt32(edns.version) << 16 | (edns.dnssecOK ? 0x8000 : 0))
        let lengthAt = buffer.count
        writeUInt16(0)
        for option in edns.options {
            writeUInt16(option.code)
            writeUInt16(UInt16(clamping: option.data.count))
            buffer.append(contentsOf: option.data)
        }
        patchUInt16(at: lengthAt, UInt16(clamping: buffer.count - lengthAt - 2))
    }

    /// Writes `name`, pointing at the longest suffix already written.
    private mutating func writeName(_ name: DNSName) {
        let wire = name.wire
        let folded = wire.map(DNSName.fold)
        var index = 0
        while wire[index] != 0 {
            let suffix = Array(folded[index...])
            if let offset = targets[suffix] {
                writeUInt16(0xC000 | UInt16(offset))
                return
            }
            if buffer.count < 0x4000 {
                targets[suffix] = buffer.count
                targetLog.append(suffix)
            }
            let length = Int(wire[index])
            buffer.append(contentsOf: wire[index...(index + length)])
            index += 1 + length
        }
        buffer.append(0)
    }

    private struct Mark {
        let size: Int
        let targets: Int
    }

    private var mark: Mark { Mark(size: buffer.count, targets: targetLog.count) }

    private mutating func rollBack(to mark: Mark) {
        buffer.removeSubrange(mark.size...)
        while targetLog.count > mark.targets {
            targets[targetLog.removeLast()] = nil
        }
    }

    private mutating func writeUInt16(_ value: UInt16) {
        buffer.append(UInt8(value >> 8))
        buffer.append(UInt8(truncatingIfNeeded: value))
    }

    private mutating func writeUInt32(_ value: UInt32) {
        writeUInt16(UInt16(value >> 16))
        writeUInt16(UInt16(truncatingIfNeeded: value))
    }

    private mutating func patchUInt16(at offset: Int, _ value: UInt16) {
        buffer[offset] = UInt8(value >> 8)
        buffer[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}
