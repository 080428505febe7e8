import Testing

@testable import Jobs

/// The settings a state records of the job that read its rows: compared as values, in either recorded form.
@Suite struct IntakeSettingsTests {
    private let pim = IntakeSettings(kind: "pim-qr", [
        "key": "customer_id", "redirect": "1", "title": "Confirm; your details={first_name}", "description": "Scan",
        "attributes": "Email,Mobile", "size": "300x300",
    ])

    @Test func theStoredFormIsVersionedJSONThatReadsBackAsTheSameSettings() {
        let stored = pim.stored
        #expect(stored.hasPrefix(#"{"kind":"pim-qr","settings":[["key","customer_id"],["redirect","1"]"#), "\(stored)")
        #expect(stored.hasSuffix(#""version":1}"#), "\(stored)")
        #expect(pim.compared(with: stored) == .same)
    }

    @Test func theOrderInWhichAKindListsItsSettingsIsNoChange() {
        let reordered = IntakeSettings(kind: "number-verify", ["key": "customer_id", "msisdn": "msisdn"])
        let listed = IntakeSettings(kind: "number-verify", ["msisdn": "msisdn", "key": "customer_id"])
        #expect(reordered == listed)
        #expect(reordered.compared(with: listed.stored) == .same)
    }

    /// The exact text the releases before 0.10 recorded, pinned: their states compare against it.
    @Test func thePreviousReleasesTextIsWrittenExactly() {
        let numberVerify = IntakeSettings(kind: "number-verify", ["msisdn": "msisdn", "key": "customer_id"])
        #expect(numberVerify.previousReleaseText == "number-verify;msisdn=msisdn;key=customer_id")
        #expect(pim.previousReleaseText == "pim-qr;key=customer_id;redirect=1;title=Confirm; your details={first_name};description=Scan;attributes=Email,Mobile;size=300x300")
    }

    @Test func aStateThePreviousReleaseMadeIsTheSameJobEvenWithFreeTextThatDoesNotReadBack() {
        #expect(pim.compared(with: pim.previousReleaseText) == .same)
    }

    @Test func aChangeIsNamedInEitherForm() {
        let before = IntakeSettings(kind: "number-verify", ["msisdn": "msisdn", "key": "customer_id"])
        let after = IntakeSettings(kind: "number-verify", ["msisdn": "phone", "key": "customer_id"])
        let named = IntakeSettings.Comparison.changed([#"msisdn: was "msisdn", now "phone""#])
        #expect(after.compared(with: before.stored) == named)
        #expect(after.compared(with: before.previousReleaseText) == named)
    }

    @Test func aSettingAddedOrDroppedIsNamedAsNotSet() {
        let before = IntakeSettings(kind: "idscan-create", ["key": "customer_id"])
        let after = IntakeSettings(kind: "idscan-create", ["key": "customer_id", "locale": "nl-NL"])
        #expect(after.compared(with: before.stored) == .changed([#"locale: was not set, now "nl-NL""#]))
        #expect(before.compared(with: after.stored) == .changed([#"locale: was "nl-NL", now not set"#]))
    }

    @Test func whatCannotBeReadBackDiffersWithoutSayingHow() {
        var changedTitle = pim.previousReleaseText
        changedTitle.replace("Confirm", with: "Check")
        #expect(pim.compared(with: changedTitle) == .changed([]), "the title's `;` hides which setting changed")
        #expect(pim.compared(with: #"{"kind":"pim-qr","settings":[],"version":2}"#) == .changed([]))
        #expect(pim.compared(with: IntakeSettings(kind: "number-verify", ["key": "customer_id"]).stored) == .changed([]))
    }

    @Test func aProvenanceComparesItsRecordedSettingsAsValues() {
        let recorded = StateProvenance(kind: "pim-qr", rowSettings: pim.previousReleaseText, jobFile: "/old/job.yml", manifest: "/old/m.csv", origins: [], sandbox: true)
        let current = StateProvenance(kind: "pim-qr", rowSettings: pim.stored, jobFile: "/new/job.yml", manifest: "/new/m.csv", origins: [], sandbox: true)
        #expect(recorded.isSameJob(as: current), "the job file and manifest may move; the settings are the same")
    }
}
