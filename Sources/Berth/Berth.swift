// The `Berth` library product: one import for runtimes that embed Berth.
@_exported import BerthCore
@_exported import BerthNamespace
@_exported import BerthNetlink
@_exported import BerthNFTables
@_exported import BerthNetwork
@_exported import BerthConfine
@_exported import BerthRun
@_exported import BerthCNI
@_exported import BerthOCIHook
