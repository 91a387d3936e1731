// berth-dns: the embedded resolver of Berth networks, one process per host.
//
// Lean on purpose: no argument parser, no Foundation. It answers the names of each
// network's endpoints on that network's gateway addresses and forwards the rest
// (docs/dns.md). Berth starts it (`--state DIR --detach`) at the first attach to a network
// with DNS on; its names come from that state, or from a table file.

import BerthCore
import BerthDNS
import BerthNamespace
import BerthNetwork
import CBerthDNS
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

let usage = """
    usage: berth-dns (--table FILE | --state DIR) [options]

    Answers DNS for Berth networks on their gateway addresses (UDP and TCP) and forwards
    other names upstream. Prints "ready" on stdout once it listens. SIGHUP reloads the
    table and the upstreams (so does rewriting FILE); SIGUSR1 prints statistics to stderr;
    SIGTERM and SIGINT stop it.

    options:
      --table FILE            the names to serve (see docs/dns.md for the format)
      --state DIR             serve the networks of Berth's state in DIR instead; one
                              resolver per DIR (it holds DIR/berth-dns.lock)
      --netns PATH            run in the network namespace at PATH (entered first)
      --detach                fork: print "pid N START" (the resolver's pid and start time,
                              field 22 of /proc/N/stat), then "ready"; work in /
      --port N                port on every listen address (default 53)
      --upstream SERVER       forward to SERVER (ADDR, ADDR:PORT, [V6]:PORT); repeatable;
                              default: the nameservers of --resolv-conf
      --resolv-conf PATH      where the host's nameservers are (default /etc/resolv.conf)
      --upstream-timeout MS   time one upstream has before the next is asked (default 2000)
      --ttl SECONDS           TTL of local answers (default 0)
      --max-tcp N             client TCP connections at once (default 32)
      --tcp-idle-timeout MS   idle TCP connections are closed after this (default 10000)
      --exit-when-empty       exit when a reload leaves no network
      --verbose               log every query's outcome
      -h, --help              this text

    """

func fail(_ message: String, status: Int32) -> Never {
    let line = Array("berth-dns: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(status)
}

struct Options {
    /// Relative paths made absolute against the current directory, before a detached
    /// resolver leaves it for `/`.
    mutating func makePathsAbsolute() {
        guard let cwd = getcwd(nil, 0) else { return }
        let base = String(cString: cwd)
        free(cwd)
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : base + "/" + path }
        table = table.map(absolute)
        state = state.map(absolute)
        resolvConf = absolute(resolvConf)
        if case .resolvConf = configuration.upstreams { configuration.upstreams = .resolvConf(path: resolvConf) }
    }


    var table: String?
    var state: String?
    var netns: String?
    var detach = false
    var configuration = DNSServerConfiguration()
    var upstreams: [DNSUpstream] = []
    var resolvConf = ResolvConf.hostPath
}

func parseArguments(_ arguments: ArraySlice<String>) throws(BerthError) -> Options {
    var options = Options()
    var index = arguments.startIndex
    func value(_ flag: String) throws(BerthError) -> String {
        index += 1
        guard index < arguments.endIndex else { throw .invalid("\(flag) needs a value") }
        return arguments[index]
    }
    func number<T: FixedWidthInteger>(_ flag: String, _ type: T.Type, minimum: T = 0) throws(BerthError) -> T {
        let text = try value(flag)
        guard let parsed = T(text), parsed >= minimum else { throw .invalid("\(flag) takes a number of at least \(minimum), not \"\(text)\"") }
        return parsed
    }
    while index < arguments.endIndex {
        switch arguments[index] {
        case "--table": options.table = try value("--table")
        case "--state": options.state = try value("--state")
        case "--netns": options.netns = try value("--netns")
        case "--detach": options.detach = true
        case "--port": options.configuration.port = try number("--port", UInt16.self, minimum: 1)
        case "--upstream": options.upstreams.append(try DNSUpstream(parsing: try value("--upstream")))
        case "--resolv-conf": options.resolvConf = try value("--resolv-conf")
        case "--upstream-timeout": options.configuration.upstreamTimeoutMilliseconds = try number("--upstream-timeout", Int.self, minimum: 1)
        case "--ttl": options.configuration.ttl = try number("--ttl", UInt32.self)
        case "--max-tcp": options.configuration.maxTCPConnections = try number("--max-tcp", Int.self, minimum: 1)
        case "--tcp-idle-timeout": options.configuration.tcpIdleTimeoutMilliseconds = try number("--tcp-idle-timeout", Int.self, minimum: 1)
        case "--exit-when-empty": options.configuration.exitWhenEmpty = true
        case "--verbose": options.configuration.verbose = true
        case "-h", "--help":
            print(usage, terminator: "")
            exit(0)
        case let word:
            throw .invalid("unknown argument \"\(word)\"")
        }
        index += 1
    }
    options.configuration.upstreams = options.upstreams.isEmpty ? .resolvConf(path: options.resolvConf) : .fixed(options.upstreams)
    return options
}

// All of the resolver in a function, not top-level code: Swift 6 makes top-level code the
// main actor's, and the executor checks of its closures linked Swift Concurrency and
// libdispatch into the binary, whose initializer ran at every start (perf9, as for
// berth-oci-hook and berth-cni).
func runResolver() -> Never {
    // Before anything announces this process (the pid line, the lock's pid): a SIGHUP sent
    // by an attach as soon as it sees the pid would otherwise kill it before the server's
    // signalfd exists. Blocked, it waits as pending and the signalfd reads it (a reload).
    do {
        try DNSServer.blockSignals()
    } catch {
        fail("\(error)", status: 1)
    }
    var options: Options
    do {
        options = try parseArguments(CommandLine.arguments.dropFirst())
    } catch {
        fail("\(error) (see berth-dns --help)", status: 64)
    }
    guard (options.table == nil) != (options.state == nil) else {
        fail("give one of --table FILE and --state DIR (see berth-dns --help)", status: 64)
    }
    if let netns = options.netns, berth_dns_enter_netns(netns) != 0 {
        fail("cannot enter network namespace \(netns): \(String(cString: strerror(errno)))", status: 1)
    }
    if options.detach {
        berth_dns_close_from(3)
        // A resolver lives long: it must not keep its starter's working directory (a
        // container bundle, a mount that could then not be unmounted) busy. Relative paths
        // are made absolute first.
        options.makePathsAbsolute()
        guard chdir("/") == 0 else { fail("cannot change directory to /: \(String(cString: strerror(errno)))", status: 1) }
        // The starter waits for this process; the resolver is its child, which the exit below
        // hands to init (so no long-lived starter keeps a zombie).
        let child = berth_dns_fork()
        if child < 0 { fail("fork: \(String(cString: strerror(errno)))", status: 1) }
        if child > 0 { _exit(0) }
        // The resolver says its own pid and start time, read by itself, so the starter never
        // takes another process for it, and the line always comes before its "ready".
        let identity: ProcessIdentity
        do {
            identity = try ProcessIdentity.current()
        } catch {
            fail("\(error)", status: 1)
        }
        let line = Array((ResolverLaunch.pidLine(identity) + "\n").utf8)
        _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
    }

    // The state's resolver lock, held for the process's life, by the resolver itself
    // (after the fork: a lock is its open file's, and the starter exits). What finds this
    // process when the state has no record of it (its starter was killed before its
    // COMMIT), and what refuses a second resolver for the same state by name rather than
    // by a busy address (ResolverLock, docs/dns.md). The source is given it with this
    // process's identity: an exit for want of networks clears the record and lets the
    // lock go inside one state transaction (`StateTableSource.confirmExit`).
    var resolverLock: (identity: ProcessIdentity, descriptor: Int32)?
    if let directory = options.state {
        do {
            let identity = try ProcessIdentity.current()
            resolverLock = (identity, try ResolverLock.acquire(stateDirectory: directory, as: identity))
        } catch {
            fail("\(error)", status: 1)
        }
    }

    if let directory = options.state {
        options.configuration.unboundReportPath = directory + "/" + ResolverLaunch.unboundReportName
    }

    // After the fork and the closing of inherited descriptors: a source opens its own.
    let source: any DNSTableSource
    switch (options.table, options.state) {
    case (let path?, nil): source = DNSTableFileSource(path: path)
    case (nil, let directory?):
        source = StateTableSource(directory: directory, resolver: resolverLock?.identity, lockDescriptor: resolverLock?.descriptor ?? -1)
    default: fail("give one of --table FILE and --state DIR (see berth-dns --help)", status: 64)
    }

    do {
        let server = try DNSServer(configuration: options.configuration, source: source)
        try server.run {
            // Unbuffered: whoever started the resolver waits for this line.
            let line = Array("ready\n".utf8)
            _ = line.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
            if options.detach {
                // Nobody reads stdout after "ready": point it at /dev/null so a later write
                // cannot fail on a closed pipe.
                let null = open("/dev/null", O_WRONLY)
                if null >= 0 { dup2(null, 1); close(null) }
            }
        }
    } catch {
        fail("\(error)", status: 1)
    }
    exit(0)
}

runResolver()
