import Berth

/// `berth network create -o KEY=VALUE`: the bridge driver options of `docker network create
/// -o` that Berth has an equivalent for. The bridge's name and the MTU (also podman's
/// `mtu`) map to `--bridge` and `--mtu`; masquerade and inter-container traffic are always on in Berth, so those
/// two keys are taken when they ask for that and refused when they turn it off. Any other
/// key is refused by name, as Podman refuses it.
struct NetworkDriverOptions: Equatable {
    static let bridgeName = "com.docker.network.bridge.name"
    static let mtu = "com.docker.network.driver.mtu"
    static let masquerade = "com.docker.network.bridge.enable_ip_masquerade"
    static let interContainer = "com.docker.network.bridge.enable_icc"
    /// Podman's bridge driver's name for the MTU (`podman network create -o mtu=1400`).
    static let podmanMTU = "mtu"
    static let keys = [bridgeName, mtu, podmanMTU, masquerade, interContainer]

    var bridge: String?
    var mtu: Int?

    init(bridge: String? = nil, mtu: Int? = nil) {
        self.bridge = bridge
        self.mtu = mtu
    }

    /// Reads `KEY=VALUE` options in order; a key given twice takes its last value, as
    /// Docker's map does.
    init(parsing options: [String]) throws(BerthError) {
        for option in options {
            guard let equals = option.firstIndex(of: "="), equals != option.startIndex else {
                throw BerthError.invalid("-o \"\(option)\" is not KEY=VALUE", hint: "give a driver option as KEY=VALUE, such as \(Self.mtu)=1400")
            }
            let key = String(option[..<equals]), value = String(option[option.index(after: equals)...])
            switch key {
            case Self.bridgeName:
                guard !value.isEmpty else { throw BerthError.invalid("-o \(key) has no value", hint: "give the bridge's name, such as \(key)=br-web") }
                bridge = value
            case Self.mtu, Self.podmanMTU:
                guard let number = Int(value) else {
                    throw BerthError.invalid("-o \(key)=\(value): the MTU is not a number", hint: "give a number, such as \(key)=1400")
                }
                mtu = number
            case Self.masquerade, Self.interContainer:
                guard let on = Self.bool(value) else {
                    throw BerthError.invalid("-o \(key)=\(value) is not true or false", hint: "give true or false")
                }
                guard on else {
                    let what = key == Self.masquerade
                        ? "outbound masquerade is always on in Berth (--internal turns off all traffic out, and published ports)"
                        : "containers of a network always reach each other in Berth"
                    throw BerthError(.unsupported, "unsupported bridge network option \(key)=\(value): \(what)",
                                     hint: "leave the option out" + (key == Self.masquerade ? ", or use --internal" : ""))
                }
            default:
                throw BerthError(.unsupported, "unsupported bridge network option \(key)",
                                 hint: "Berth takes -o \(Self.keys.joined(separator: ", ")); see 'berth network create --help' for its own options")
            }
        }
    }

    /// Go's strconv.ParseBool, which Docker reads these values with.
    static func bool(_ text: String) -> Bool? {
        switch text {
        case "1", "t", "T", "TRUE", "true", "True": true
        case "0", "f", "F", "FALSE", "false", "False": false
        default: nil
        }
    }

    /// `value` of an option given both as a flag and through `-o KEY`: the one given, or
    /// refused when they differ.
    static func merge<T: Equatable & CustomStringConvertible>(_ flag: T?, _ option: T?, flagName: String, key: String) throws(BerthError) -> T? {
        guard let option else { return flag }
        if let flag, flag != option {
            throw BerthError.invalid("\(flagName) \(flag) and -o \(key)=\(option) disagree", hint: "give the value once")
        }
        return option
    }
}
