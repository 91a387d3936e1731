public import BerthCore
public import BerthNamespace
public import BerthNetlink
import Synchronization

/// Applies transactions to the kernel's nf_tables as one `NFNL_MSG_BATCH_BEGIN … END` batch
/// built with libnftnl, every message acknowledged, so a refusal names its operation; reads
/// the ruleset back through netlink dumps.
///
/// Safe for concurrent use: each batch and each dump is one request/reply cycle of its
/// transport (`NetlinkTransport`), and `destroyMode` is behind a lock. Two threads' batches
/// are applied one after the other, each atomically.
public final class KernelBackend: NFTablesBackend, Sendable {
    /// How `destroy` operations reach the kernel.
    public enum DestroyMode: Sendable {
        /// NFT_MSG_DESTROY* (Linux 6.3+); falls back to `.emulated` if the kernel refuses them.
        case native
        /// Read the ruleset and its generation, turn destroys of present objects into deletes and
        /// drop the others, and apply guarded by that generation (so the check stays atomic).
        case emulated
    }

    let transport: any NetlinkTransport
    /// How destroys reach the kernel; becomes `.emulated` when the kernel refuses native ones.
    public var destroyMode: DestroyMode {
        get { destroyModeStorage.withLock { $0 } }
        set { destroyModeStorage.withLock { $0 = newValue } }
    }
    private let destroyModeStorage: Mutex<DestroyMode>
    /// Elements per NEWSETELEM message are capped so one message stays well below 64 KiB
    /// (nested attribute lengths are 16-bit).
    static let elementBytesPerMessage = 16384

    /// Opens an nfnetlink socket inside `namespace` (the caller's if nil).
    public init(namespace: NetworkNamespace? = nil, destroyMode: DestroyMode = .native) throws(BerthError) {
        do {
            transport = try NetlinkSocket(.netfilter, in: namespace)
        } catch {
            throw error
        }
        destroyModeStorage = Mutex(destroyMode)
    }

    /// Uses an existing transport (a socket, or a recorder in tests).
    public init(transport: any NetlinkTransport, destroyMode: DestroyMode = .native) {
        self.transport = transport
        destroyModeStorage = Mutex(destroyMode)
    }

    /// The nfnetlink socket's file descriptor, when the transport is a socket.
    public var descriptor: Int32? { (transport as? NetlinkSocket)?.descriptor }

    // MARK: - Apply

    /// Applies `transaction` as one batch, unguarded (see `apply(_:generation:)`).
    public func apply(_ transaction: Transaction) throws(BerthError) {
        try apply(transaction, generation: nil)
    }

    /// Applies `transaction` only if the ruleset is still at `generation` (else `.conflict`).
    public func apply(_ transaction: Transaction, generation: UInt32?) throws(BerthError) {
        if let error = transaction.validationError { throw error }
        guard !transaction.isEmpty else { return }
        let hasDestroy = transaction.operations.contains { $0.verb == .destroy }
        if hasDestroy, destroyMode == .emulated {
            return try applyEmulatingDestroy(transaction, generation: generation)
        }
        do {
            try send(transaction.operations, generation: generation)
        } catch {
            if hasDestroy, error.netlink.errno.code == KernelErrno.invalid || error.netlink.errno.code == KernelErrno.notSupported,
               error.operation?.verb == .destroy {
                destroyMode = .emulated
                return try applyEmulatingDestroy(transaction, generation: generation)
            }
            throw explain(error, in: transaction, generation: generation)
        }
    }

    /// The ruleset's generation id (NFT_MSG_GETGEN); it changes with every committed batch.
    public func generation() throws(BerthError) -> UInt32 {
        var request = NetlinkRequest()
        try appendGenerationRequest(to: &request)
        let replies: [NetlinkMessage]
        do { replies = try transport.transact(request) } catch { throw error.berthError }
        guard let id = replies.lazy.compactMap(Self.parseGeneration).first else {
            throw BerthError(.kernel, "read the nftables generation: no NFTA_GEN_ID in the kernel's answer")
        }
        return id
    }

    /// Appends an NFT_MSG_GETGEN (acknowledged) to `request`.
    func appendGenerationRequest(to request: inout NetlinkRequest) throws(BerthError) {
        let sequence = transport.nextSequence()
        request.append(rawMessage: try NFTNL.message(type: NFTNL.MessageType.getGen, family: 0, flags: NetlinkFlags.ack, sequence: sequence) { _ in },
                       sequence: sequence, operation: "read the nftables generation", expectsAck: true, expectsReply: true)
    }

    /// The generation id of an NFT_MSG_NEWGEN answer; nil for any other message.
    static func parseGeneration(_ reply: NetlinkMessage) -> UInt32? {
        guard reply.type == (NFTNL.subsystem << 8) | NFTNL.MessageType.newGen, let id = reply.attributes(after: 4)[1]?.u32 else { return nil }
        return UInt32(bigEndian: id)
    }
}
