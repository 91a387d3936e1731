// berth-bench: the attach/detach workload of scripts/bench, done through the library in one
// process, so the figures carry no process start-up, no argument parsing and no state-file
// open per operation. scripts/bench creates the namespaces and the network, starts this,
// checks the published ports while it waits, then lets it detach.
//
//   berth-bench --network NET --netns-prefix PFX --count N [--state-dir DIR]
//               [--first-ip A.B.C.D] [--host-port-base P] [--container-port P]
//               [--id-prefix ID] [--out CSV] [--pause] [--no-publish]
//
// Endpoint i (1...count) joins namespace PFX<i> with address first-ip + i - 1, id
// ID<i> and host port host-port-base + i - 1 published to container-port. Each
// operation's wall time goes to CSV as `i,attach|detach,microseconds`. With --pause it
// prints "attached" after the last attach and waits for a line on stdin before
// detaching. --no-publish attaches without the port. It ends by printing `open_us=… maxrss_kb=…`.

import Berth
import Glibc

struct Arguments {
    var network = ""
    var netnsPrefix = ""
    var count = 0
    var stateDirectory: String?
    var firstIP = IPv4Address(10, 88, 0, 2)
    var hostPortBase = 20001
    var containerPort = 80
    var idPrefix = "bb"
    var out: String?
    var pause = false
    var publish = true

    static func parse(_ words: [String]) throws(BerthError) -> Arguments {
        var a = Arguments()
        var rest = words[...]
        func value(_ flag: String) throws(BerthError) -> String {
            guard let v = rest.popFirst() else { throw .invalid("\(flag) needs a value", hint: "see the usage at the top of main.swift") }
            return v
        }
        func number(_ flag: String) throws(BerthError) -> Int {
            let text = try value(flag)
            guard let n = Int(text), n >= 0 else { throw .invalid("\(flag) wants a number, got \"\(text)\"", hint: "pass a non-negative integer") }
            return n
        }
        while let flag = rest.popFirst() {
            switch flag {
            case "--network": a.network = try value(flag)
            case "--netns-prefix": a.netnsPrefix = try value(flag)
            case "--count": a.count = try number(flag)
            case "--state-dir": a.stateDirectory = try value(flag)
            case "--first-ip": a.firstIP = try IPv4Address(parsing: try value(flag))
            case "--host-port-base": a.hostPortBase = try number(flag)
            case "--container-port": a.containerPort = try number(flag)
            case "--id-prefix": a.idPrefix = try value(flag)
            case "--out": a.out = try value(flag)
            case "--pause": a.pause = true
            case "--no-publish": a.publish = false
            default: throw .invalid("unknown argument \"\(flag)\"", hint: "see the usage at the top of main.swift")
            }
        }
        guard !a.network.isEmpty, !a.netnsPrefix.isEmpty, a.count > 0 else {
            throw .invalid("--network, --netns-prefix and --count are required", hint: "see the usage at the top of main.swift")
        }
        guard a.hostPortBase > 0, a.hostPortBase + a.count - 1 <= 65535, (1...65535).contains(a.containerPort) else {
            throw .invalid("host ports \(a.hostPortBase)+\(a.count) or container port \(a.containerPort) out of 1-65535", hint: "lower --count or the bases")
        }
        return a
    }
}

/// Monotonic microseconds.
func now() -> Int64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Int64(t.tv_sec) * 1_000_000 + Int64(t.tv_nsec) / 1000
}

/// Writes a line with write(2): unbuffered, and no shared FILE* for strict concurrency to object to.
func say(_ text: String, fd: Int32 = 1) {
    let line = text + "\n"
    _ = line.withCString { write(fd, $0, strlen($0)) }
}

/// What endpoint `i` asks for.
func options(_ i: Int, _ a: Arguments) throws(BerthError) -> AttachOptions {
    let hostPort = UInt16(a.hostPortBase + i - 1), containerPort = UInt16(a.containerPort)
    let ports = a.publish ? [try PortSpec(hostPorts: try PortRange(hostPort), containerPorts: try PortRange(containerPort))] : []
    return try AttachOptions(network: a.network, namespace: .name("\(a.netnsPrefix)\(i)"), id: "\(a.idPrefix)\(i)",
                             address: IPv4Address(a.firstIP.value + UInt32(i - 1)), ports: ports)
}

func run() throws(BerthError) {
    let a = try Arguments.parse(Array(CommandLine.arguments.dropFirst()))
    var rows: [String] = []
    rows.reserveCapacity(2 * a.count)

    let t0 = now()
    let manager = try NetworkManager(stateDirectory: a.stateDirectory)
    let openMicros = now() - t0

    for i in 1...a.count {
        let o = try options(i, a)
        let start = now()
        try manager.attach(o)
        rows.append("\(i),attach,\(now() - start)")
    }
    if a.pause {
        // print() is buffered when stdout is a pipe; the harness waits for this line.
        say("attached")
        _ = readLine()
    }
    for i in 1...a.count {
        let start = now()
        try manager.detach(id: "\(a.idPrefix)\(i)")
        rows.append("\(i),detach,\(now() - start)")
    }

    if let path = a.out {
        guard let file = fopen(path, "w") else { throw .system("fopen \(path)", Errno.current) }
        for row in rows { fputs(row + "\n", file) }
        fclose(file)
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    say("open_us=\(openMicros) maxrss_kb=\(usage.ru_maxrss)")
}

do {
    try run()
} catch {
    say("berth-bench: \(error)", fd: 2)
    exit(1)
}
