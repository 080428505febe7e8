import Foundation
import Testing

@testable import Jobs

/// Known secrets leave server text in every form a request carries them, and only they do.
@Suite struct SecretScrubberTests {
    @Test func aSecretIsScrubbedAsItIsAndFormEncoded() {
        let scrubber = SecretScrubber()
        scrubber.register(secret: "s3cr3t/with+plus")
        #expect(scrubber.scrub("echo: client_secret=s3cr3t%2Fwith%2Bplus&x=1") == "echo: client_secret=[secret]&x=1")
        #expect(scrubber.scrub("raw s3cr3t/with+plus twice s3cr3t/with+plus") == "raw [secret] twice [secret]")
        #expect(scrubber.scrub("nothing here") == "nothing here")
    }

    @Test func aProxyPasswordIsScrubbedInItsBasicCredentialsToo() {
        let scrubber = SecretScrubber()
        scrubber.register(proxyUser: "ops", password: "pr0xy-pass")
        let basic = Data("ops:pr0xy-pass".utf8).base64EncodedString()
        #expect(scrubber.scrub("Proxy-Authorization: Basic \(basic)") == "Proxy-Authorization: Basic [secret]")
    }

    @Test func shortValuesAreNotSecretsAndOnlyRecentTokensAreKept() {
        let scrubber = SecretScrubber()
        scrubber.register(secret: "abc")
        #expect(scrubber.scrub("abc") == "abc")
        for index in 0...SecretScrubber.tokensKept { scrubber.register(token: "token-\(index)-xyz") }
        #expect(scrubber.scrub("token-0-xyz") == "token-0-xyz", "the oldest token was let go")
        #expect(scrubber.scrub("Bearer token-\(SecretScrubber.tokensKept)-xyz") == "Bearer [secret]")
    }
}
