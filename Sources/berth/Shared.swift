import BerthCommandLine

// What this target shares with the lean `berth` binary lives in BerthCommandLine; these
// names let every file here (and `@testable import berth` in tests) use it as before,
// without importing BerthCommandLine file by file.
typealias Output = BerthCommandLine.Output
typealias CLIHints = BerthCommandLine.CLIHints
typealias HotPath = BerthCommandLine.HotPath
let berthVersion = BerthCommandLine.berthVersion
typealias LeanBerth = BerthCommandLine.LeanBerth
