import Crypto
import Foundation
import Hummingbird
import HTTPTypes

extension Sandbox {
    /// PiM ID: `POST /kpn/qrcodegenerator/image` answers a Base64 SVG of a QR-like pattern derived from the
    /// request, framed as configured (bare Base64, a JSON string, or a JSON object with the Base64 in `image`).
    func addPimRoutes(to router: Router<SandboxContext>) {
        router.post("/kpn/qrcodegenerator/image") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 64 << 10)
            let bytes = Array(body.readableBytesView)
            let object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
            let subject = (object?["title"] as? String).map { String($0.prefix(200)) }
            return try await self.gateway(request, context: context, endpoint: "POST /image", subject: subject) { _ in
                guard let object else { return Self.pimError("Request body is not JSON") }
                for field in ["redirect", "width", "height"] {
                    guard let value = Self.integer(object[field]), value > 0, field == "redirect" || (50...4000).contains(value) else {
                        return Self.pimError("Invalid \(field)")
                    }
                }
                let attributes = (object["attributes"] as? String ?? "").split(separator: ",").map(String.init)
                let allowed: Set = [
                    "Email", "Mobile", "Bankaccountnumber", "NickName", "Initials", "FirstName", "FamilyNamePrefix",
                    "FamilyName", "BirthName", "DateOfBirth", "PlaceOfBirth", "Gender", "HeadShot",
                    "BankIdentificationNumber", "BankAccountHolderName",
                ]
                guard !attributes.isEmpty, attributes.allSatisfy(allowed.contains) else { return Self.pimError("Invalid attributes") }
                let svg = Self.qrLikeSVG(for: bytes, width: Self.integer(object["width"]) ?? 400, height: Self.integer(object["height"]) ?? 400)
                let base64 = Data(svg.utf8).base64EncodedString()
                switch self.configuration.imageFraming {
                case .bareBase64:
                    return (.ok, ByteBuffer(string: base64), "text/plain")
                case .jsonString:
                    return (.ok, ByteBuffer(string: "\"\(base64)\""), "application/json")
                case .jsonObject:
                    return (.ok, try self.json(["image": base64]), "application/json")
                case .notSVG:
                    let png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]).base64EncodedString()
                    return (.ok, try self.json(["image": png]), "application/json")
                }
            }
        }
    }

    private static func integer(_ value: Any?) -> Int? {
        switch value {
        case let text as String: Int(text)
        case let number as NSNumber: number.intValue
        default: nil
        }
    }

    private static func pimError(_ message: String) -> (HTTPResponse.Status, ByteBuffer, String) {
        (.badRequest, ByteBuffer(string: #"{"status":"400","name":"Bad Request","message":"\#(message)"}"#), "application/json")
    }

    /// A 29 x 29 module pattern with the three finder squares of a QR code, the rest drawn from the request's hash.
    static func qrLikeSVG(for request: [UInt8], width: Int, height: Int) -> String {
        var bits: [UInt8] = []
        var seed = Array(SHA256.hash(data: request))
        while bits.count < 29 * 29 {
            bits += seed.flatMap { byte in (0..<8).map { (byte >> $0) & 1 } }
            seed = Array(SHA256.hash(data: seed))
        }
        func isFinder(_ x: Int, _ y: Int) -> Bool? {
            for (originX, originY) in [(0, 0), (22, 0), (0, 22)] where (originX..<originX + 7).contains(x) && (originY..<originY + 7).contains(y) {
                let dx = x - originX, dy = y - originY
                return dx == 0 || dy == 0 || dx == 6 || dy == 6 || ((2...4).contains(dx) && (2...4).contains(dy))
            }
            return nil
        }
        var rects = ""
        for y in 0..<29 {
            for x in 0..<29 where isFinder(x, y) ?? (bits[y * 29 + x] == 1) {
                rects += "<rect x=\"\(x + 4)\" y=\"\(y + 4)\" width=\"1\" height=\"1\"/>"
            }
        }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 37 37" shape-rendering="crispEdges">\
            <rect width="37" height="37" fill="#fff"/><g fill="#000">\(rects)</g></svg>
            """
    }
}
