#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension DNSServer {
    /// Watches resolv.conf, when the upstreams come from it, and, when it is a symbolic link
    /// (/etc/resolv.conf to resolvconf's, NetworkManager's or systemd-resolved's file), the
    /// file it names: that one is what gets rewritten. Called at start and at every reload,
    /// since the link itself may be pointed elsewhere (resolvconf or a network manager
    /// switching files, the link made anew): the target is resolved again each time and,
    /// when it moved, the watch follows it to its new directory. Without inotify, or when
    /// the new watch cannot be made, the one there is stays (SIGHUP still reloads).
    func watchResolvConf() {
        guard case .resolvConf(let path) = configuration.upstreams else { return }
        var paths = [path]
        if let real = realpath(path, nil) {
            let target = String(cString: real)
            free(real)
            if target != path { paths.append(target) }
        }
        guard paths != resolvConfWatchedPaths else { return }
        let watch = FileWatch(paths: paths)
        guard watch.descriptor >= 0 else { return }
        do {
            try register(watch.descriptor, as: .resolvConfChange, closeOnFailure: false)
        } catch {
            DNSLog.write("cannot watch \(paths.joined(separator: " and ")), keeping the watch there is: \(error)")
            return
        }
        if let old = resolvConfWatch {
            // Out of the loop here; the watch closes its descriptor when it goes.
            loop.remove(old.descriptor)
            roles[old.descriptor] = nil
        }
        if !resolvConfWatchedPaths.isEmpty {
            DNSLog.write("watching \(paths.joined(separator: " and ")) for nameserver changes")
        }
        resolvConfWatch = watch
        resolvConfWatchedPaths = paths
    }
}
