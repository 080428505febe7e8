import Testing

@testable import RateLimiter

/// The numbers in flight as requests left, matched to their answers by ticket.
@Suite struct SendLevelsTests {
    @Test func aRefusalIsTakenOffTheLevelsOfTheRequestsSentAfterIt() {
        var levels = SendLevels<Int>()
        let first = levels.append(1, sentAt: 0)
        let second = levels.append(2, sentAt: 1)
        let third = levels.append(3, sentAt: 2)
        // The gateway refused the second: it never held it open, so the third left with two open, not three.
        let refused = levels.refused(second)
        let thirdAnswered = levels.admitted(third)
        let firstAnswered = levels.admitted(first)
        let firstAgain = levels.admitted(first)
        #expect(refused?.level == 2)
        #expect(thirdAnswered?.level == 2 && thirdAnswered?.sentAt == 2)
        #expect(firstAnswered?.level == 1, "sent before the refused one, it never counted it")
        #expect(firstAgain == nil, "each ticket is answered once")
    }

    @Test func withoutATicketARefusalIsTheNewestsAndAnAnswerTheOldests() {
        var levels = SendLevels<Int>()
        for level in 1...3 { _ = levels.append(level, sentAt: level * 10) }
        let refused = levels.refused(nil)
        let answered = levels.admitted(nil)
        levels.forget(nil, orNewest: false)
        let none = levels.admitted(nil)
        #expect(refused?.level == 3 && refused?.sentAt == 30)
        #expect(answered?.level == 1 && answered?.sentAt == 10)
        #expect(none == nil)
    }

    @Test func theQueueKeepsTheNewest4096() {
        var levels = SendLevels<Int>()
        let oldest = levels.append(1, sentAt: 0)
        for index in 1...4_096 { _ = levels.append(1, sentAt: index) }
        let dropped = levels.admitted(oldest)
        let kept = levels.admitted(nil)
        #expect(dropped == nil)
        #expect(kept?.sentAt == 1)
    }
}
