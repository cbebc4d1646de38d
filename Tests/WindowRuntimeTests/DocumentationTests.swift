import Foundation
import Testing

/// The commands the README and the docs give write nowhere but `out/`, a temporary
/// directory or /dev/null, so following them leaves the clone clean.
@Suite struct DocumentationTests {
    static var documents: [URL] {
        let root = ExecutableTests.repositoryRoot
        let docs = root.appendingPathComponent("docs")
        let files = (try? FileManager.default.contentsOfDirectory(at: docs, includingPropertiesForKeys: nil)) ?? []
        return [root.appendingPathComponent("README.md")] + files.filter { $0.pathExtension == "md" }
    }

    /// The files a shell command line writes: `> F`, `>> F` and `--expect F`.
    static func written(_ line: Substring) -> [String] {
        let words = line.split(separator: " ").map(String.init)
        var out: [String] = []
        for (i, w) in words.enumerated() where i + 1 < words.count {
            if w == ">" || w == ">>" || w == "--expect" || w == "--rejects" || w == "--state" { out.append(words[i + 1]) }
        }
        return out
    }

    static func isClean(_ path: String) -> Bool {
        path.hasPrefix("out/") || path.hasPrefix("/") || path.hasPrefix("\"$") || path.hasPrefix("$")
            || path.hasPrefix("FILE") || path == "my.ndjson"
    }

    @Test func commands_writeOnlyIntoOutOrElsewhere() throws {
        #expect(Self.documents.count >= 2)
        for doc in Self.documents {
            let text = try String(contentsOf: doc, encoding: .utf8)
            var inShell = false
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("```") { inShell = line.hasPrefix("```sh"); continue }
                guard inShell else { continue }
                for path in Self.written(line) {
                    #expect(Self.isClean(path), "\(doc.lastPathComponent): \(line) writes \(path) into the clone")
                }
            }
        }
    }

    @Test func outputFolderAndSimulatorFiles_areIgnoredByGit() throws {
        let ignore = try String(contentsOf: ExecutableTests.repositoryRoot.appendingPathComponent(".gitignore"), encoding: .utf8)
        let lines = Set(ignore.split(separator: "\n").map(String.init))
        #expect(lines.contains("/out/"))
        #expect(lines.contains("/expected.ndjson"))
        #expect(lines.contains("/actual.ndjson"))
    }
}
