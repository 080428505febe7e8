import Foundation
import Jobs

/// Reads credentials from the environment variables a job file names. The CLI is the only place that reads the
/// environment; the libraries get the values.
enum Credentials {
    static func resolve(_ names: JobConfiguration.Credentials) throws(JobFileError) -> ClientCredentials {
        let environment = ProcessInfo.processInfo.environment
        var missing: [String] = []
        let id = environment[names.clientIDVariable] ?? ""
        let secret = environment[names.clientSecretVariable] ?? ""
        if id.isEmpty { missing.append(names.clientIDVariable) }
        if secret.isEmpty { missing.append(names.clientSecretVariable) }
        guard missing.isEmpty else {
            throw JobFileError("The environment variable\(missing.count > 1 ? "s" : "") \(missing.joined(separator: " and ")) \(missing.count > 1 ? "are" : "is") not set; export the credentials there (or name other variables under `credentials` in the job file), or use --sandbox.")
        }
        return ClientCredentials(id: id, secret: secret)
    }
}
