// --tls-port and --plain-port (issue #13, item 1): a run against a server with both ports runs
// every case in the mode it needs, instead of skipping the ones that need the other kind of
// connection. pop3-conformance as a process against the mock server in this process.
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <vector>

namespace {

// A case that needs implicit TLS, one that does STLS itself, one in the run's own mode.
constexpr const char* transcripts =
    "case: t/implicit\ntitle: on the implicit-TLS port\nrfc: 2595 §4\nlevel: MUST\n"
    "tls: implicit\nS: +OK*\nC: QUIT\nS: +OK*\n\n"
    "case: t/stls\ntitle: STLS from the plain port\nrfc: 2595 §4\nlevel: MUST\n"
    "tls: plain\nS: +OK*\nC: STLS\nS: +OK*\n!tls\nC: QUIT\nS: +OK*\n\n"
    "case: t/any\ntitle: the run's own mode\nrfc: 1939 §4\nlevel: MUST\n"
    "S: +OK*\nC: QUIT\nS: +OK*\n";

struct both_ports {
    pop3::test::temp_dir dir;
    pop3::mock::server server{pop3::mock::default_config(), [] {
                                  pop3::mock::server_options so;
                                  so.threads = 1;
                                  so.tls_listen = "127.0.0.1:0";
                                  so.starttls = true;
                                  return so;
                              }()};
    std::string ca;
    both_ports() {
        dir.write("t/cases.pop3", transcripts);
        server.start();
        ca = dir.write("ca.pem", server.identity().certificate).string();
    }
    std::string plain() const { return std::to_string(server.port()); }
    std::string tls() const { return std::to_string(*server.tls_port()); }
    pop3::test::program_outcome run(std::vector<std::string> args) const {
        std::vector<std::string> words{"60",
                                       POP3_CONFORMANCE_BIN,
                                       "server",
                                       "--no-color",
                                       "--transcripts",
                                       (dir.path / "t").string(),
                                       "--ca",
                                       ca};
        words.insert(words.end(), args.begin(), args.end());
        return pop3::test::run_program("/usr/bin/timeout", words);
    }
};

bool has_line(const std::string& out, const std::string& line) {
    return out.find(line) != std::string::npos;
}

} // namespace

TEST_CASE("--tls-port: a plain run also runs the cases that need implicit TLS", "[other-port]") {
    both_ports s;
    const auto target = "pop3://user:pass@127.0.0.1:" + s.plain();
    const auto alone = s.run({"--target", target});
    CHECK(has_line(alone.out, "2 passed, 0 failed, 1 skipped"));
    CHECK(has_line(alone.out, "needs the implicit-TLS port"));
    const auto both = s.run({"--target", target, "--tls-port", s.tls()});
    INFO(both.out << both.err);
    CHECK(both.status == 0);
    CHECK(has_line(both.out, "3 passed, 0 failed, 0 skipped"));
}

TEST_CASE("--plain-port: an implicit-TLS run also runs the cases that do STLS themselves",
          "[other-port]") {
    both_ports s;
    const auto target = "pop3s://user:pass@127.0.0.1:" + s.tls();
    const auto alone = s.run({"--target", target});
    CHECK(has_line(alone.out, "2 passed, 0 failed, 1 skipped"));
    CHECK(has_line(alone.out, "starts in plaintext (it does STLS itself)"));
    const auto both = s.run({"--target", target, "--plain-port", s.plain()});
    INFO(both.out << both.err);
    CHECK(both.status == 0);
    CHECK(has_line(both.out, "3 passed, 0 failed, 0 skipped"));
}

TEST_CASE("--tls-port, --plain-port and --progress: misuse is a command-line error",
          "[other-port]") {
    both_ports s;
    CHECK(s.run({"--tls-port", "995"}).status == 2); // no --target
    CHECK(s.run({"--progress"}).status == 2);        // a client-direction option
    CHECK(s.run({"--target", "pop3://u:p@127.0.0.1:" + s.plain(), "--tls-port", "0"}).status == 2);
    CHECK(s.run({"--target", "pop3s://u:p@127.0.0.1:" + s.tls(), "--tls-port", s.tls()}).status ==
          2);
    CHECK(s.run({"--target", "pop3://u:p@127.0.0.1:" + s.plain(), "--plain-port", s.plain()})
              .status == 2);
}
