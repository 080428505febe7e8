import Crypto
package import Foundation
import SwiftASN1
import X509

/// Certificates made at test time (none is committed): a CA, and server certificates it signs, written as PEM
/// files into `folder`.
///
/// ```swift
/// let certificates = try TestCertificates(folder: workspace.folder)
/// let server = try certificates.server(named: "localhost")   // certificate and key paths
/// ```
package struct TestCertificates {
    package let folder: String
    /// The CA's certificate, a PEM file: what `http.ca_file` or `SSL_CERT_FILE` name to trust it.
    package let caPath: String
    private let caKey: P256.Signing.PrivateKey
    private let caName: DistinguishedName

    /// A server certificate and its key, both PEM files.
    package struct Server {
        package var certificatePath: String
        package var keyPath: String
    }

    package init(folder: String, caName commonName: String = "batch-runner test CA") throws {
        self.folder = folder
        caKey = P256.Signing.PrivateKey()
        caName = try DistinguishedName {
            OrganizationName("batch-runner tests")
            CommonName(commonName)
        }
        let now = Date()
        let ca = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 86_400, issuer: caName, subject: caName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: .init(caKey)
        )
        caPath = folder + "/\(commonName.filter { $0.isLetter || $0.isNumber }).pem"
        try ca.serializeAsPEM().pemString.write(toFile: caPath, atomically: true, encoding: .utf8)
    }

    /// A server certificate signed by this CA for `names` (host names; `127.0.0.1` and `::1` become IP entries).
    ///
    /// - Parameter validity: When the certificate is valid; the default covers the test's run. Give a past
    ///   range for an expired certificate.
    package func server(named names: [String] = ["localhost", "127.0.0.1"], validity: ClosedRange<Date>? = nil, file: String = "server") throws -> Server {
        let key = P256.Signing.PrivateKey()
        let now = Date()
        let range = validity ?? (now - 3600)...(now + 86_400)
        let alternativeNames = SubjectAlternativeNames(names.map { name -> GeneralName in
            if let address = IPv4Address(name) { return .ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))) }
            return .dnsName(name)
        })
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: range.lowerBound, notValidAfter: range.upperBound, issuer: caName,
            subject: try DistinguishedName { CommonName(names.first ?? "server") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                alternativeNames
            },
            issuerPrivateKey: .init(caKey)
        )
        let server = Server(certificatePath: folder + "/\(file).pem", keyPath: folder + "/\(file)-key.pem")
        try certificate.serializeAsPEM().pemString.write(toFile: server.certificatePath, atomically: true, encoding: .utf8)
        try Certificate.PrivateKey(key).serializeAsPEM().pemString.write(toFile: server.keyPath, atomically: true, encoding: .utf8)
        return server
    }
}

/// The four bytes of a dotted IPv4 address.
private func IPv4Address(_ text: String) -> [UInt8]? {
    let parts = text.split(separator: ".")
    guard parts.count == 4 else { return nil }
    let bytes = parts.compactMap { UInt8($0) }
    return bytes.count == 4 ? bytes : nil
}
