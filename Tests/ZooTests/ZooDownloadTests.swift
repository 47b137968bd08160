import Foundation
import Tensors
import TestSupport
import XCTest

/// The real `genesis zoo fetch` against a real HTTP server on 127.0.0.1 (TestHTTPServer),
/// not a mock of the client: whole transfers, cut ones resumed, wrong hashes, 404, a server
/// without range support, two processes at once, a fetcher killed mid-transfer.
final class ZooDownloadTests: XCTestCase {
    let body = testBytes(1 << 20)
    var sha: String { Checksum.sha256Hex(body) }

    func testFetchStoresTheCheckedFileAndNamesIt() throws {
        let server = try TestHTTPServer(files: ["/w/model.h5": body])
        let box = ZooSandbox()
        let r = try box.run(["zoo", "fetch", "--url", server.url("/w/model.h5"), "--sha256", sha, "--name", "mine", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let file = try XCTUnwrap((r.json?["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(file["outcome"] as? String, "stored")
        XCTAssertEqual(file["sha256"] as? String, sha)
        XCTAssertEqual(file["path"] as? String, box.home + "/models/mine/model.h5")
        XCTAssertEqual(try FileIO.read(box.home + "/models/mine/model.h5"), body)
        XCTAssertEqual(box.list("blobs"), [sha])
        XCTAssertEqual(server.requests, [.init(path: "/w/model.h5", range: nil)])

        // Fetched again: nothing is downloaded.
        let again = try box.run(["zoo", "fetch", "--url", server.url("/w/model.h5"), "--sha256", sha, "--name", "mine", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(((again.json?["files"] as? [[String: Any]])?.first)?["outcome"] as? String, "already_cached")
        XCTAssertEqual(server.requests.count, 1)
    }

    func testProgressShowsBytesRateAndETA() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body], mode: .slow(chunk: 256 << 10, delay: 0.05))
        let box = ZooSandbox()
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("fetch m.h5:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("MB/s"), r.stderr)
        XCTAssertTrue(r.stderr.contains("ETA"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1.0 of 1.0 MB"), r.stderr)
    }

    func testTransferCutHalfwayIsResumedWithARangeRequest() throws {
        let half = body.count / 2
        let server = try TestHTTPServer(files: ["/m.h5": body], mode: .cut(after: half, times: 1))
        let box = ZooSandbox()
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha, "--name", "m"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("resuming"), r.stderr)
        XCTAssertEqual(server.requests, [.init(path: "/m.h5", range: nil), .init(path: "/m.h5", range: "bytes=\(half)-")])
        XCTAssertEqual(try FileIO.read(box.home + "/blobs/" + sha), body)
        XCTAssertEqual(box.list("blobs"), [sha])
    }

    /// The hub answers `resolve/main/FILE` with a redirect to its CDN: the resume's Range header
    /// must reach the redirect's target.
    func testResumeFollowsARedirectWithItsRange() throws {
        let half = body.count / 2
        let server = try TestHTTPServer(files: ["/cdn/m.h5": body], mode: .cut(after: half, times: 1), redirects: ["/resolve/m.h5": "/cdn/m.h5"])
        let box = ZooSandbox()
        let r = try box.run(["zoo", "fetch", "--url", server.url("/resolve/m.h5"), "--sha256", sha])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(server.requests.filter { $0.path == "/cdn/m.h5" }.map(\.range), [nil, "bytes=\(half)-"], "\(server.requests) \(r.stderr)")
        XCTAssertEqual(try FileIO.read(box.home + "/blobs/" + sha), body)
    }

    func testCutThatPersistsKeepsThePartialFileAndTheNextRunResumes() throws {
        let cut = 300_000
        let server = try TestHTTPServer(files: ["/m.h5": body], mode: .cut(after: cut, times: 100))
        let box = ZooSandbox()
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha, "--size", "\(body.count)"])
        XCTAssertEqual(r.status, 2)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("genesis: error:") }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("run the same command again to resume"), r.stderr)
        // Three tries, each resuming where the last stopped; the partial file keeps what came.
        XCTAssertEqual(server.requests.map(\.range), [nil, "bytes=\(cut)-", "bytes=\(2 * cut)-"])
        XCTAssertEqual(box.list("blobs"), [sha + ".incomplete"])
        XCTAssertEqual(try FileIO.read(box.home + "/blobs/\(sha).incomplete"), Array(body.prefix(3 * cut)))

        server.setMode(.normal)
        let again = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha, "--size", "\(body.count)"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(server.requests.last?.range, "bytes=\(3 * cut)-")
        XCTAssertEqual(box.list("blobs"), [sha])
        XCTAssertEqual(try FileIO.read(box.home + "/blobs/" + sha), body)
    }

    func testWrongHashIsRefusedNamingBothHashesAndLeavesNothing() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body])
        let box = ZooSandbox()
        let wrong = Checksum.sha256Hex(Array("something else".utf8))
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", wrong, "--name", "m"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("expected \(wrong)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("found \(sha)"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.hasPrefix("genesis: error:") }.count, 1, r.stderr)
        XCTAssertEqual(box.list("blobs"), [])
        XCTAssertEqual(box.list("models"), [])
    }

    func testNotFoundNamesTheURL() throws {
        for mode in [TestHTTPServer.Mode.notFound, .normal] {
            let server = try TestHTTPServer(files: mode == .normal ? [:] : ["/m.h5": body], mode: mode)
            let box = ZooSandbox()
            let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha, "--json"])
            XCTAssertEqual(r.status, 2)
            XCTAssertTrue(r.stderr.contains(server.url("/m.h5") + ": not found on the server (HTTP 404)"), r.stderr)
            XCTAssertEqual(r.json?["exit_code"] as? Int, 2)
            XCTAssertEqual(box.list("blobs"), [])
        }
    }

    func testServerWithoutRangesRestartsFromZeroAndSaysSo() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body], mode: .cut(after: 300_000, times: 100))
        let box = ZooSandbox()
        _ = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha])
        XCTAssertEqual(box.list("blobs"), [sha + ".incomplete"])
        server.setMode(.noRanges)
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("ignored the Range request (it answered 200, not 206): restarting from zero"), r.stderr)
        XCTAssertEqual(server.requests.last?.range, "bytes=900000-")
        XCTAssertEqual(try FileIO.read(box.home + "/blobs/" + sha), body)
    }

    func testUnreachableHostIsOneLineNamingTheHost() throws {
        // A port that was just free: nothing listens there.
        let server = try TestHTTPServer(files: [:])
        let url = server.url("/m.h5")
        server.stop()
        let box = ZooSandbox()
        let r = try box.run(["zoo", "fetch", "--url", url, "--sha256", sha])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("genesis: error: cannot reach 127.0.0.1 "), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }

    func testTwoProcessesFetchingTheSameModelEndWithOneGoodCopy() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body], mode: .slow(chunk: 64 << 10, delay: 0.05))
        let box = ZooSandbox()
        let args = ["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha, "--name", "m", "--json"]
        var results: [ProcessResult?] = [nil, nil]
        DispatchQueue.concurrentPerform(iterations: 2) { i in results[i] = try? box.run(args) }
        let outcomes = try results.map { r -> String in
            let r = try XCTUnwrap(r)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try XCTUnwrap(((r.json?["files"] as? [[String: Any]])?.first)?["outcome"] as? String)
        }
        // One downloaded; the other waited on the lock, then found the blob (or started after it).
        XCTAssertTrue(outcomes.sorted() == ["completed_by_another_process", "stored"] || outcomes.sorted() == ["already_cached", "stored"], "\(outcomes)")
        XCTAssertEqual(server.requests.count, 1)
        XCTAssertEqual(box.list("blobs"), [sha])
        XCTAssertEqual(try FileIO.read(box.home + "/models/m/m.h5"), body)
    }

    func testAFetcherKilledMidTransferDoesNotBlockTheNextOne() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body], mode: .slow(chunk: 16 << 10, delay: 0.05))
        let box = ZooSandbox()
        let p = box.process(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha])
        try p.run()
        let partial = box.home + "/blobs/\(sha).incomplete"
        let deadline = Date().addingTimeInterval(30)
        while (try? FileIO.size(of: partial)) ?? 0 < 100_000, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        kill(p.processIdentifier, SIGKILL)   // it held the blob's flock; the kernel drops it
        p.waitUntilExit()
        let kept = try FileIO.size(of: partial)
        XCTAssertGreaterThanOrEqual(kept, 100_000)
        XCTAssertLessThan(kept, body.count)

        server.setMode(.normal)
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(server.requests.last?.range?.hasPrefix("bytes="), true)
        XCTAssertEqual(try FileIO.read(box.home + "/blobs/" + sha), body)
    }

    /// A partial file that is a symlink (planted in the cache) is not written through.
    func testPartialFilePlantedAsASymlinkIsNotFollowed() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body])
        let box = ZooSandbox()
        try FileManager.default.createDirectory(atPath: box.home + "/blobs", withIntermediateDirectories: true)
        let victim = box.root + "/victim"
        try FileIO.write(Array("keep me".utf8), to: victim)
        XCTAssertEqual(symlink(victim, box.home + "/blobs/\(sha).incomplete"), 0)
        let r = try box.run(["zoo", "fetch", "--url", server.url("/m.h5"), "--sha256", sha])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try FileIO.read(victim), Array("keep me".utf8))
        XCTAssertFalse(box.list("blobs").contains(sha))
    }

    func testManifestModelThroughAMirror() throws {
        let server = try TestHTTPServer(files: ["/hf/Org/Repo/resolve/main/tiny.h5": body])
        var box = ZooSandbox()
        try box.writeManifest(name: "tiny-test", file: "tiny.h5", url: "https://models.invalid/Org/Repo/resolve/main/tiny.h5", bytes: body)
        let r = try box.run(["zoo", "fetch", "tiny-test", "--mirror", server.url("/hf"), "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(server.requests.map(\.path), ["/hf/Org/Repo/resolve/main/tiny.h5"])
        let path = try box.run(["zoo", "path", "tiny-test"])
        XCTAssertEqual(path.stdout, box.home + "/models/tiny-test/tiny.h5\n")
        // The environment variable does the same.
        _ = try box.run(["zoo", "remove", "tiny-test"])
        XCTAssertEqual(box.list("blobs"), [])
        let e = try box.run(["zoo", "fetch", "tiny-test"], extraEnvironment: ["GENESIS_ZOO_MIRROR": server.url("/hf/")])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertEqual(server.requests.count, 2)
    }

    func testManifestServerSizeDisagreementIsRefusedBeforeTheBody() throws {
        let server = try TestHTTPServer(files: ["/m.h5": body])
        var box = ZooSandbox()
        try box.writeManifest(name: "short", file: "m.h5", url: server.url("/m.h5"), bytes: Array(body.prefix(1000)))
        let r = try box.run(["zoo", "fetch", "short"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("expected 1000 bytes, found \(body.count)"), r.stderr)
        XCTAssertEqual(box.list("blobs"), [])
    }

    /// A manifest that publishes no hash (as Zenodo's and Google Drive's pages do not): the first
    /// fetch prints the hash it found and records it; the next is checked against the record, and
    /// a host that later serves other bytes is refused naming both hashes.
    func testUnpublishedHashIsFoundRecordedAndThenChecked() throws {
        let server = try TestHTTPServer(files: ["/z/w.h5": body])
        var box = ZooSandbox()
        try box.writeManifest(name: "no-hash", file: "w.h5", url: server.url("/z/w.h5"), bytes: body, hashPublished: false)
        let first = try box.run(["zoo", "fetch", "no-hash"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let record = box.home + "/records/no-hash/w.h5.json"
        XCTAssertTrue(first.stdout.contains("sha256: \(sha) (none is published: this is the hash found; recorded in \(record)"), first.stdout)
        let saved = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(FileIO.read(record))) as? [String: Any])
        XCTAssertEqual(saved["sha256"] as? String, sha)
        XCTAssertEqual((saved["size"] as? NSNumber)?.intValue, body.count)
        XCTAssertEqual(saved["source"] as? String, server.url("/z/w.h5"))
        XCTAssertEqual(box.list("blobs"), [sha])
        XCTAssertEqual(try FileIO.read(box.home + "/models/no-hash/w.h5"), body)

        let again = try box.run(["zoo", "fetch", "no-hash", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let file = try XCTUnwrap((again.json?["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(file["outcome"] as? String, "already_cached")
        XCTAssertEqual(file["sha256_source"] as? String, "recorded")
        XCTAssertEqual(server.requests.count, 1)
        let verify = try box.run(["zoo", "verify", "no-hash"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("no-hash/w.h5: sha256 \(sha): ok"), verify.stdout)
        let show = try box.run(["zoo", "show", "no-hash", "--json"])
        let shown = try XCTUnwrap((show.json?["files"] as? [[String: Any]])?.first)
        XCTAssertEqual(shown["hash_published"] as? Bool, false)
        XCTAssertEqual(shown["recorded_sha256"] as? String, sha)
        XCTAssertEqual(shown["cached"] as? Bool, true)

        // The blob removed and the host now serving other bytes: refused against the record.
        _ = try box.run(["zoo", "remove", "no-hash"])
        let other = testBytes(1 << 20, seed: 7)
        let server2 = try TestHTTPServer(files: ["/z/w.h5": other])
        try box.writeManifest(name: "no-hash", file: "w.h5", url: server2.url("/z/w.h5"), bytes: other, hashPublished: false)
        let changed = try box.run(["zoo", "fetch", "no-hash"])
        XCTAssertEqual(changed.status, 2)
        XCTAssertTrue(changed.stderr.contains("SHA-256 mismatch: expected \(sha), found \(Checksum.sha256Hex(other))"), changed.stderr)
        XCTAssertEqual(box.list("blobs"), [])
    }

    /// A damaged record is said, not trusted or ignored.
    func testDamagedRecordIsOneLineExitTwo() throws {
        let server = try TestHTTPServer(files: ["/z/w.h5": body])
        var box = ZooSandbox()
        try box.writeManifest(name: "no-hash", file: "w.h5", url: server.url("/z/w.h5"), bytes: body, hashPublished: false)
        try FileManager.default.createDirectory(atPath: box.home + "/records/no-hash", withIntermediateDirectories: true)
        try FileIO.write(Array("{\"sha256\": \"nope\"}".utf8), to: box.home + "/records/no-hash/w.h5.json")
        let r = try box.run(["zoo", "fetch", "no-hash"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("records/no-hash/w.h5.json: not a hash record"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertEqual(server.requests.count, 0)
    }
}
