extension BatchJob {
    /// What completes each row of a run: ``complete(_:client:journal:storedFields:)`` with the job's result
    /// columns laid out once, not once per row.
    func makeRowCompleter(client: APIClient, journal: SendJournal, inFlight: RowsInFlight? = nil) -> @Sendable (WorkItem) async throws -> WorkCompletion {
        let storedFields = makeStoredFields()
        return { item in try await complete(item, client: client, journal: journal, inFlight: inFlight, storedFields: storedFields) }
    }

    /// Performs `item` and turns every way it can end into a completion to commit: the one failure path of every
    /// job kind. A request that failed for good fails the row; one that may have reached the service without an
    /// answer leaves it `unknown`, with the job's advice.
    ///
    /// - Throws: ``ServiceError`` when the run must stop; `CancellationError`; a local failure (writing a file).
    func complete(
        _ item: WorkItem, client: APIClient, journal: SendJournal, inFlight: RowsInFlight? = nil,
        storedFields: (Result) -> [String]
    ) async throws -> WorkCompletion {
        let context = RowContext(item: item, client: client, journal: journal, inFlight: inFlight)
        let outcome: RowOutcome<Result>
        do {
            outcome = try await perform(item, context: context)
        } catch let failure as RequestFailure {
            outcome = .failed(failure.message)
        } catch let failure as AmbiguousFailure {
            outcome = .unknown("\(failure.message); \(unknownAdvice)")
        }
        var completion = WorkCompletion(id: item.id, state: .failed, attempts: context.attempts, result: nil, error: nil)
        switch outcome {
        case .succeeded(let result, let note, let files):
            (completion.state, completion.error, completion.files) = (.succeeded, note, files)
            completion.result = storedFields(result)
        case .failed(let reason):
            completion.error = reason
        case .unknown(let reason):
            (completion.state, completion.error) = (.unknown, reason)
        case .notFound:
            completion.state = .notFound
        }
        // Answers are the services' text: a secret one echoes back is never stored or written.
        let scrubber = SecretScrubber.shared
        completion.error = scrubber.scrub(completion.error)
        completion.result = completion.result?.map { scrubber.scrub($0) }
        return completion
    }
}
