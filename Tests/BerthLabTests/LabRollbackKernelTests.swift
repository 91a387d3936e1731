import BerthCore
import BerthLab
import BerthLabFile
import BerthTestSupport
import Testing

/// A failed `up` whose going back fails too (fail point lab.rollback): nothing is forgotten.
extension LabKernelTests {
    @Test("a new lab whose rollback fails stays recorded with its nodes and networks; check reports it, gc finishes it",
          .enabled(if: labFailPointsCompiledIn))
    func failedRollbackOfNewLab() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, """
            name: LAB
            networks: { LABn: { subnet: 10.0.78.0/24 } }
            nodes:
              a: { network: LABn }
              b: {}
            links:
              - endpoints: [ "a:eth1", "b:eth1" ]

            """)
            let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": "lab.links,lab.rollback"])
            #expect(up.status == 1 && up.stderr.contains("fail point lab.links") && up.stderr.contains("going back failed too"), "\(up)")
            #expect(lab.namespaces() == ["a", "b"].map(lab.namespace))
            let record = try lab.state().record(named: lab.name)
            #expect(record?.pending != nil)
            #expect(record?.networks == [lab.name + "n"])
            let check = lab.lab(["check"])
            #expect(check.status == 1 && check.stderr.contains("lab \(lab.name): up: did not finish"), "\(check)")
            let gc = lab.lab(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("removed lab \(lab.name)") && gc.stdout.contains("removed network \(lab.name)n"), "\(gc)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
        }
    }

    @Test("a failed up of a lab whose first up died (pending, never applied) goes back to nothing: no record is left, and gc and check find nothing",
          .enabled(if: labFailPointsCompiledIn))
    func failedUpAfterCrashedFirstUp() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            defer { lab.down() }
            // The first up died right after recording its intent.
            let spec = try LabFileParser.parse(path: lab.file).spec
            try lab.state().save(LabRecord(name: lab.name, source: lab.file, pending: spec, nodes: Set(spec.nodes.map(\.name))))
            let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": "lab.links"])
            #expect(up.status == 1 && up.stderr.contains("fail point lab.links") && !up.stderr.contains("going back failed"), "\(up)")
            #expect(lab.namespaces().isEmpty)
            #expect(!lab.recorded)
            let ls = lab.lab(["ls"])
            #expect(ls.succeeded && !ls.stdout.contains(lab.name), "\(ls)")
            let gc = lab.lab(["gc"])
            #expect(gc.succeeded && gc.stdout == "nothing to collect\n", "\(gc)")
            #expect(lab.lab(["check"]).succeeded)
        }
    }

    @Test("a converge whose rollback fails stays unfinished; gc that cannot restore it says so and keeps it; the next gc restores it",
          .enabled(if: labFailPointsCompiledIn))
    func failedRollbackOfRunningLab() throws {
        try withHostSandbox { sandbox in
            let lab = try LabFixture(sandbox, triangleTemplate)
            try #require(lab.lab(["up", lab.file]).succeeded)
            defer { lab.down() }
            try lab.write(triangleGrown)
            let up = lab.lab(["up", lab.file], environment: ["BERTH_FAILPOINT": "lab.routes,lab.rollback"])
            #expect(up.status == 1 && up.stderr.contains("going back failed too"), "\(up)")
            #expect(try lab.state().record(named: lab.name)?.pending != nil)

            // gc's own converge fails (at lab.routes): not "restored", still unfinished.
            let failing = lab.lab(["gc"], environment: ["BERTH_FAILPOINT": "lab.routes"])
            #expect(failing.status == 1, "\(failing)")
            #expect(failing.stdout.contains("could not restore lab \(lab.name)") && !failing.stdout.contains("restored lab"), "\(failing)")
            #expect(try lab.state().record(named: lab.name)?.pending != nil)

            let gc = lab.lab(["gc"])
            #expect(gc.succeeded && gc.stdout.contains("restored lab \(lab.name)"), "\(gc)")
            #expect(lab.namespaces() == ["h1", "r1", "r2"].map(lab.namespace))
            #expect(lab.lab(["check"]).succeeded)
        }
    }
}
