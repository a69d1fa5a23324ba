// Conformance transcripts: RFC-style dialogues (C: and S: lines) with metadata, patterns,
// captures and directives. The format is a contract, documented in docs/transcripts.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance {

enum class level : std::uint8_t { must, should, may };
// Which side is under test: a server (the runner is the client) or a client (the runner is
// the server).
enum class direction : std::uint8_t { server, client };
// What the client under test must report at the end of a client-direction case.
enum class client_expectation : std::uint8_t { ok, error, any };
// How a case's connection starts. `any`: as the run says (plain, --starttls or --tls);
// `plain`: in plaintext only (the case does STLS itself), skipped on a TLS run; `implicit`: on
// the implicit-TLS port (POP3S).
enum class start_tls_mode : std::uint8_t { any, plain, implicit };

// One step of a dialogue.
struct step {
    enum class kind : std::uint8_t {
        send,         // C: / C+: / C=: — bytes for the server (`text`, escapes resolved later)
        expect,       // S: — one server line matching `text`
        expect_any,   // S*: — zero or more server lines matching `text` (never a lone ".")
        tls,          // !tls — TLS handshake now
        tls_or_close, // !tls-or-close — TLS now, or the handshake fails and the case ends, passed
        close,        // !close — the peer must close the connection next
        may_close,    // !may-close — the peer may close here: if it has, the case ends, passed
        hangup,       // !hangup — the runner closes the connection
        no_reply,     // !no-reply MS — no bytes for `millis`
        wait,         // !wait MS
    };
    kind what = kind::send;
    std::string text;          // raw, as written (escapes and {…} are resolved when run)
    bool crlf = true;          // send: append CRLF (C: and C+:), not for C=:
    bool same_segment = false; // send: written together with the previous send (C+:)
    unsigned millis = 0;
    std::size_t line = 0; // in the transcript file
};

struct test_case {
    std::string id; // "rfc1939/5/LIST/2"
    std::string title;
    std::string rfc; // "1939 §5"
    level lvl = level::must;
    std::vector<std::string> requirements; // "capa:UIDL", "messages>=2", "tls", "sasl:PLAIN", ...
    start_tls_mode tls = start_tls_mode::any;
    std::string maildrop = "default"; // what the embedded server serves: default, empty, dots,
                                      // long-line:OCTETS, generate:COUNT:SIZE
    std::string scenario; // embedded server only: misbehave as mockserver/scenarios/NAME.toml
    direction dir = direction::server;
    // Client direction: what the client is asked to do, in pop3-client's words after the URL
    // ("--starttls stat retr 1"), and how it must end.
    std::string client_args;
    client_expectation client_outcome = client_expectation::ok;
    std::vector<step> steps;
    std::filesystem::path file;
    std::size_t line = 0; // of the "case:" line
};

class transcript_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Parses one transcript file's text. Errors throw transcript_error "FILE:LINE: problem".
std::vector<test_case> parse_transcript(std::string_view text, const std::filesystem::path& file);
// Every *.pop3 file under `dir`, in path order.
std::vector<test_case> load_transcripts(const std::filesystem::path& dir);

std::string_view to_string(level l) noexcept;

} // namespace pop3::conformance
