// Client-conformance cases (docs/client-conformance.md): what a client is asked to do, how the
// correct server is set up, the one deviation, and what is expected of the client. Read from
// the TOML files of conformance/client-cases/.
#pragma once

#include "pop3/conformance/transcript.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <pop3/mockserver/scenario.hpp>
#include <pop3/protocol/sasl.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace pop3::conformance {

enum class client_task : std::uint8_t {
    status,
    fetch_all,
    fetch_one,
    fetch_new,
    delete_after_fetch
};
enum class client_tls : std::uint8_t { none, starttls, implicit };
enum class expectation : std::uint8_t { proceed, notice, info };
enum class certificate_kind : std::uint8_t { good, untrusted, expired, wrong_name };

std::string_view to_string(client_task t) noexcept;
std::string_view to_string(client_tls t) noexcept;
std::string_view to_string(expectation e) noexcept;
std::string_view to_string(certificate_kind c) noexcept;
// The names of to_string; nullopt for any other.
std::optional<client_task> parse_client_task(std::string_view name) noexcept;
std::optional<client_tls> parse_client_tls(std::string_view name) noexcept;

// The message fetch-one asks for: the faulty one is placed second of three.
inline constexpr std::uint64_t fetch_one_message = 2;

// The correct server's set-up for a case ([case.server]).
struct server_setup {
    bool pipelining = false;
    bool apop = true;
    bool user_command = true;
    bool stls = true;
    bool resp_codes = true;
    std::vector<sasl_mechanism> mechanisms = {sasl_mechanism::plain, sasl_mechanism::login,
                                              sasl_mechanism::cram_md5,
                                              sasl_mechanism::scram_sha_256};
    std::chrono::seconds login_delay{0};
    certificate_kind certificate = certificate_kind::good;
    std::string maildrop = "default"; // default, dots, empty
    std::string password = "pass";    // the user's (the user is "user")

    // Equal set-ups share a control run.
    std::string key() const;
};

struct client_case {
    test_case meta; // id, title, rfc, level, file and line, for reports and baselines
    client_task task = client_task::fetch_all;
    std::string login = "any"; // any, user, apop, sasl:MECH
    client_tls tls = client_tls::none;
    expectation expect = expectation::proceed;
    std::vector<std::uint64_t> breaks; // messages the deviation damages
    // False when no client can tell the damage (a lone "." ends a body early): the
    // exact-or-absent rule does not apply to this case.
    bool detectable = true;
    std::string why, cve, safe;
    server_setup server;
    std::optional<mock::rule> deviation;

    // The control run this case is judged against: task, login, TLS and set-up.
    std::string control_key() const;
};

// Every *.toml file under `dir` (path order), cases in file order. Mistakes throw
// transcript_error "FILE:LINE: problem" (duplicate ids over all files too).
std::vector<client_case> load_client_cases(const std::filesystem::path& dir);
std::vector<client_case> parse_client_cases(std::string_view text,
                                            const std::filesystem::path& file);

} // namespace pop3::conformance
