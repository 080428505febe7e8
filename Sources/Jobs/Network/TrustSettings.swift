import Foundation
package import NIOSSL

/// The certificate authorities trusted in addition to the system's roots: `http.ca_file`, then `SSL_CERT_FILE`
/// (a PEM bundle) and `SSL_CERT_DIR` (a folder of PEM certificates), as OpenSSL-based tools read them.
///
/// Every source is read once, before the first request, so a wrong path ends the run with 78 instead of failing
/// the first handshake at 3 a.m.
package struct TrustSettings: Sendable {
    /// One place certificates came from.
    package struct Source: Sendable {
        /// `http.ca_file`, `SSL_CERT_FILE` or `SSL_CERT_DIR`.
        package var origin: String
        package var certificates: [NIOSSLCertificate]
    }

    package var sources: [Source]

    package init(sources: [Source] = []) {
        self.sources = sources
    }

    /// Reads `caFile` (the job file's, absolute) and the environment's CA settings.
    ///
    /// - Throws: ``JobFileError`` naming the key or variable and the file when one cannot be read or holds no
    ///   PEM certificate.
    package static func load(caFile: String?, environment: [String: String]) throws(JobFileError) -> TrustSettings {
        var sources: [Source] = []
        if let caFile {
            sources.append(try bundle(at: caFile, origin: "http.ca_file", fix: "point http.ca_file at a PEM file holding your CA's certificate (-----BEGIN CERTIFICATE-----)"))
        }
        if let file = environment["SSL_CERT_FILE"], !file.isEmpty {
            sources.append(try bundle(at: file, origin: "SSL_CERT_FILE", fix: "set SSL_CERT_FILE to a PEM bundle, or unset it"))
        }
        // A colon-separated list, as OpenSSL reads it.
        for folder in (environment["SSL_CERT_DIR"] ?? "").split(separator: ":") where !folder.isEmpty {
            sources.append(try directory(at: String(folder)))
        }
        return TrustSettings(sources: sources)
    }

    /// The client TLS configuration: system roots plus these certificates, peer and host name verified.
    package var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        let certificates = sources.flatMap(\.certificates)
        if !certificates.isEmpty { configuration.additionalTrustRoots = [.certificates(certificates)] }
        return configuration
    }

    private static func bundle(at path: String, origin: String, fix: String) throws(JobFileError) -> Source {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw JobFileError("\(origin): \(path) does not exist or is a folder; \(fix).")
        }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw JobFileError("\(origin): \(path) cannot be read; check its permissions.")
        }
        let certificates = (try? NIOSSLCertificate.fromPEMFile(path)) ?? []
        guard !certificates.isEmpty else {
            throw JobFileError("\(origin): \(path) holds no PEM certificate; \(fix).")
        }
        return Source(origin: origin, certificates: certificates)
    }

    /// Every file of the folder that holds PEM certificates; other files (CRLs, READMEs, DER files) are skipped,
    /// and a folder without any adds nothing, as with OpenSSL.
    private static func directory(at path: String) throws(JobFileError) -> Source {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
            let names = try? FileManager.default.contentsOfDirectory(atPath: path)
        else {
            throw JobFileError("SSL_CERT_DIR: \(path) is not a readable folder; set SSL_CERT_DIR to a folder of PEM certificates, or unset it.")
        }
        var certificates: [NIOSSLCertificate] = []
        for name in names.sorted() {
            certificates += (try? NIOSSLCertificate.fromPEMFile(path + "/" + name)) ?? []
        }
        return Source(origin: "SSL_CERT_DIR", certificates: certificates)
    }
}
