import Testing

@testable import Jobs

@Suite struct MSISDNTests {
    @Test(arguments: [
        ("0612345678", "31612345678"),
        ("+31612345678", "31612345678"),
        ("0031612345678", "31612345678"),
        ("31612345678", "31612345678"),
        ("+31 6 1234 5678", "31612345678"),
        ("06-12345678", "31612345678"),
        ("06.1234.5678", "31612345678"),
        ("(06) 1234 5678", "31612345678"),
        ("+31 (0)6-1234 5678", "31612345678"),
        ("0031 (0)6 12345678", "31612345678"),
        ("612345678", "31612345678"),
        ("+31 6 8123 4567", "31681234567"),
        ("+44 7911 123456", "447911123456"),
        ("+49 151 23456789", "4915123456789"),
        ("0044 7911 123456", "447911123456"),
        ("  0612345678  ", "31612345678"),
        ("06\u{00A0}1234\u{00A0}5678", "31612345678"),
        ("+31\u{202F}6\u{202F}12345678", "31612345678"),
    ])
    func normalisesAcceptedForms(input: String, expected: String) throws {
        #expect(try MSISDN.normalise(input).get() == expected)
    }

    @Test(arguments: [
        ("", MSISDN.Problem.empty),
        ("   ", .empty),
        ("0612AB5678", .invalidCharacters),
        ("06+12345678", .invalidCharacters),
        ("+", .invalidCharacters),
        ("0201234567", .notDutchMobile),
        ("0612345", .wrongLength(8)),
        ("0123456789", .notDutchMobile),
        ("012345", .nationalNonDutch),
        ("+31 6 6123 4567", .notDutchMobile),
        ("+31 6 7123 4567", .notDutchMobile),
        ("+31 6 9123 4567", .notDutchMobile),
        ("+31 6 0123 4567", .notDutchMobile),
        ("+3161234567", .wrongLength(10)),
        ("+1234567", .wrongLength(7)),
        ("+1234567890123456", .wrongLength(16)),
        ("00 0612345678", .invalidCharacters),
    ])
    func rejectsWithAReason(input: String, problem: MSISDN.Problem) {
        #expect(MSISDN.normalise(input) == .failure(problem))
    }

    @Test func everyProblemSaysWhatToDo() {
        let problems: [MSISDN.Problem] = [.empty, .invalidCharacters, .wrongLength(4), .notDutchMobile, .nationalNonDutch]
        for problem in problems {
            #expect(problem.description.contains(";"), "\(problem) should say what to do after a semicolon")
        }
    }

    @Test func masksNumbersForLogs() {
        #expect(maskedForLog("31612345678") == "3161****678")
        #expect(maskedForLog("1234567") == "*******")
    }
}
