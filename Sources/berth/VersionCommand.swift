import ArgumentParser
import Berth

/// `berth version`: what `berth --version` prints, for the hands that type `docker version`.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print berth's version (as 'berth --version').")

    func run() throws {
        print(berthVersion)
    }
}
