import Synchronization

/// What a job's ``BatchJob/perform(_:context:)`` works with for one work item: the API client, the send journal
/// and the engine's clock. It counts the attempts of the row's requests, so the engine records them in one place
/// whether the row succeeds or a request fails for good.
package final class RowContext: Sendable {
    package let item: WorkItem
    private let client: APIClient
    private let journal: SendJournal
    private let inFlight: RowsInFlight?
    private let counted = Mutex(0)

    /// - Parameter inFlight: Where the row enters right before its first request leaves (a run's stop waits for
    ///   the rows there); nil outside a run.
    package init(item: WorkItem, client: APIClient, journal: SendJournal, inFlight: RowsInFlight? = nil) {
        self.item = item
        self.client = client
        self.journal = journal
        self.inFlight = inFlight
    }

    /// The clock to wait on (polling).
    package var clock: EngineClock { client.clock }

    /// Attempts of the row's requests so far, including those of a request that failed for good.
    package var attempts: Int { counted.withLock { $0 } }

    /// Sends `request` until it is settled (see ``APIClient/send(_:)``).
    ///
    /// - Parameter countsAttempts: Whether its sends count as the row's attempts once it is answered (polls do
    ///   not). A request that fails for good always adds its attempts: they are why the row failed.
    package func send(_ request: APIRequest, countsAttempts: Bool = true) async throws -> APIAnswer {
        var request = request
        if let inFlight {
            // Right before the first send, after any wait for the quota: a row that gets there after a stop gives up.
            let (id, announce) = (item.id, request.beforeFirstSend)
            request.beforeFirstSend = {
                guard inFlight.enter(id) else { throw NotSentAfterStop() }
                try await announce?()
            }
        }
        do {
            let answer = try await client.send(request)
            if countsAttempts { counted.withLock { $0 += answer.attempts } }
            return answer
        } catch let failure as RequestFailure {
            counted.withLock { $0 += failure.attempts }
            throw failure
        } catch let failure as AmbiguousFailure {
            counted.withLock { $0 += failure.attempts }
            throw failure
        }
    }

    /// Records, durably, that the item's non-idempotent request may reach the service from now on.
    package func markSending() async throws {
        try await journal.markSending(item.id)
    }
}
