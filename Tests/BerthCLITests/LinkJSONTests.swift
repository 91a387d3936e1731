@testable import berth
import BerthCore
import BerthNetlink
import BerthTestSupport
import Testing

/// `berth link ls --json` in the camelCase every other `--json` has.
@Suite("berth link ls --json")
struct LinkJSONTests {
    @Test("a veth's peer index and link netnsid are peerIndex and linkNetnsid; no snake_case key")
    func camelCase() {
        let veth = Link(index: 7, name: "vb1", kind: LinkKind(kindName: "veth"), mtu: 1500, masterIndex: 3, parentIndex: 2, linkNetNSID: 0)
        let json = LinkCommand.List.json(veth, master: "br0")
        expectGolden(json.render(), """
            {"index":7,"name":"vb1","kind":"veth","state":"UNKNOWN","up":false,"mtu":1500,"mac":null,"master":"br0","alias":null,\
            "peerIndex":2,"linkNetnsid":0}
            """)
    }
}
