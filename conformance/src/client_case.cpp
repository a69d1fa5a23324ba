#include "pop3/conformance/client_case.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <pop3/mockserver/scenario_file.hpp>
#include <pop3/protocol/text.hpp>
#include <span>
#include <variant>

namespace pop3::conformance {
namespace {

namespace fs = std::filesystem;

// The names of the case files' values, one table per kind: parsed and printed from here.
template <class E>
using name_entry = std::pair<std::string_view, E>;
template <class E>
using names = std::span<const name_entry<E>>;
constexpr std::array<name_entry<client_task>, 5> task_names = {
    {{"status", client_task::status},
     {"fetch-all", client_task::fetch_all},
     {"fetch-one", client_task::fetch_one},
     {"fetch-new", client_task::fetch_new},
     {"delete-after-fetch", client_task::delete_after_fetch}}};
constexpr std::array<name_entry<client_tls>, 3> tls_names = {{{"none", client_tls::none},
                                                              {"starttls", client_tls::starttls},
                                                              {"implicit", client_tls::implicit}}};
constexpr std::array<name_entry<expectation>, 3> expectation_names = {
    {{"proceed", expectation::proceed},
     {"notice", expectation::notice},
     {"info", expectation::info}}};
constexpr std::array<name_entry<certificate_kind>, 4> certificate_names = {
    {{"good", certificate_kind::good},
     {"untrusted", certificate_kind::untrusted},
     {"expired", certificate_kind::expired},
     {"wrong-name", certificate_kind::wrong_name}}};

template <class E>
std::string_view name_of(names<E> table, E value) noexcept {
    for (auto [n, v] : table)
        if (v == value) return n;
    return "?";
}

template <class E>
std::optional<E> value_of(names<E> table, std::string_view name) noexcept {
    for (auto [n, v] : table)
        if (n == name) return v;
    return std::nullopt;
}

// Reads one case's keys, failing with FILE:LINE on the first problem.
class case_reader {
public:
    explicit case_reader(std::string file) : file_(std::move(file)) {}

    client_case read(const mock::case_table& t) const {
        client_case c;
        c.meta.dir = direction::client;
        c.meta.file = file_;
        c.meta.line = t.line;
        bool has_id = false, has_title = false, has_rfc = false, has_level = false,
             has_task = false, has_expect = false;
        for (const auto& [key, v] : t.keys) {
            if (key == "id") {
                c.meta.id = text(key, v);
                if (!c.meta.id.starts_with("client/") || c.meta.id.find(' ') != std::string::npos)
                    fail(v.line, "'id' must start with \"client/\" and have no spaces");
                has_id = true;
            } else if (key == "title") {
                c.meta.title = text(key, v);
                has_title = true;
            } else if (key == "rfc") {
                c.meta.rfc = text(key, v);
                has_rfc = true;
            } else if (key == "level") {
                const auto s = text(key, v);
                if (s == "MUST")
                    c.meta.lvl = level::must;
                else if (s == "SHOULD")
                    c.meta.lvl = level::should;
                else if (s == "MAY")
                    c.meta.lvl = level::may;
                else
                    fail(v.line, "'level' must be \"MUST\", \"SHOULD\" or \"MAY\"");
                has_level = true;
            } else if (key == "task") {
                c.task = pick<client_task>(key, v, task_names);
                has_task = true;
            } else if (key == "login") {
                c.login = text(key, v);
                if (c.login != "any" && c.login != "user" && c.login != "apop") {
                    if (!c.login.starts_with("sasl:") ||
                        !parse_sasl_mechanism(std::string_view(c.login).substr(5)))
                        fail(v.line, "'login' must be \"any\", \"user\", \"apop\" or "
                                     "\"sasl:MECH\" with a mechanism pop3kit knows");
                    c.login = "sasl:" + upper(c.login.substr(5));
                }
            } else if (key == "tls") {
                c.tls = pick<client_tls>(key, v, tls_names);
            } else if (key == "expect") {
                c.expect = pick<expectation>(key, v, expectation_names);
                has_expect = true;
            } else if (key == "breaks") {
                const auto* n = std::get_if<std::vector<std::int64_t>>(&v.value);
                if (!n) fail(v.line, "'breaks' must be an array of message numbers");
                for (auto m : *n) {
                    if (m < 1) fail(v.line, "'breaks' must be an array of message numbers");
                    c.breaks.push_back(static_cast<std::uint64_t>(m));
                }
            } else if (key == "detectable") {
                c.detectable = flag(key, v);
            } else if (key == "why") {
                c.why = text(key, v);
            } else if (key == "cve") {
                c.cve = text(key, v);
            } else if (key == "safe") {
                c.safe = text(key, v);
            } else {
                fail(v.line, "unknown key '" + key + "' in [[case]]");
            }
        }
        const auto need = [&](bool has, std::string_view key) {
            if (!has) fail(t.line, "[[case]] needs '" + std::string(key) + "'");
        };
        need(has_id, "id");
        need(has_title, "title");
        need(has_rfc, "rfc");
        need(has_level, "level");
        need(has_task, "task");
        need(has_expect, "expect");
        server(t, c.server);
        c.deviation = t.deviation;
        if (c.server.certificate != certificate_kind::good && c.tls == client_tls::none)
            fail(t.line, "a 'certificate' other than \"good\" needs tls = \"starttls\" or "
                         "\"implicit\"");
        if (c.login.starts_with("sasl:")) {
            const auto mech = *parse_sasl_mechanism(std::string_view(c.login).substr(5));
            if (std::find(c.server.mechanisms.begin(), c.server.mechanisms.end(), mech) ==
                c.server.mechanisms.end())
                fail(t.line, "login = \"" + c.login + "\" but the server does not offer it");
        }
        return c;
    }

private:
    std::string file_;

    [[noreturn]] void fail(std::size_t line, const std::string& problem) const {
        throw transcript_error(file_ + ":" + std::to_string(line) + ": " + problem);
    }

    static std::string upper(std::string s) {
        for (auto& ch : s)
            ch = ascii_upper(ch);
        return s;
    }

    std::string text(std::string_view key, const mock::case_value& v) const {
        const auto* s = std::get_if<std::string>(&v.value);
        if (!s || s->empty() || s->find_first_of("\r\n") != std::string::npos)
            fail(v.line, "'" + std::string(key) + "' must be a one-line string");
        return *s;
    }

    bool flag(std::string_view key, const mock::case_value& v) const {
        const auto* b = std::get_if<bool>(&v.value);
        if (!b) fail(v.line, "'" + std::string(key) + "' must be true or false");
        return *b;
    }

    template <class E>
    E pick(std::string_view key, const mock::case_value& v, names<E> choices) const {
        const auto s = text(key, v);
        std::string names;
        for (auto [name, value] : choices) {
            if (s == name) return value;
            names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
        }
        fail(v.line, "'" + std::string(key) + "' must be one of " + names);
    }

    void server(const mock::case_table& t, server_setup& s) const {
        for (const auto& [key, v] : t.server) {
            if (key == "pipelining")
                s.pipelining = flag(key, v);
            else if (key == "apop")
                s.apop = flag(key, v);
            else if (key == "user_command")
                s.user_command = flag(key, v);
            else if (key == "stls")
                s.stls = flag(key, v);
            else if (key == "resp_codes")
                s.resp_codes = flag(key, v);
            else if (key == "login_delay") {
                const auto* n = std::get_if<std::int64_t>(&v.value);
                if (!n || *n < 0 || *n > 86400)
                    fail(v.line, "'login_delay' must be seconds between 0 and 86400");
                s.login_delay = std::chrono::seconds(*n);
            } else if (key == "mechanisms") {
                const auto* names = std::get_if<std::vector<std::string>>(&v.value);
                if (!names) fail(v.line, "'mechanisms' must be an array of SASL mechanism names");
                s.mechanisms.clear();
                for (const auto& n : *names) {
                    const auto m = parse_sasl_mechanism(n);
                    if (!m) fail(v.line, "unknown SASL mechanism '" + n + "'");
                    s.mechanisms.push_back(*m);
                }
            } else if (key == "certificate") {
                s.certificate = pick<certificate_kind>(key, v, certificate_names);
            } else if (key == "password") {
                // It goes into URLs ({url}) and command lines ({pass}) as it is.
                s.password = text(key, v);
                if (s.password.size() > 1000 ||
                    s.password.find_first_not_of(
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") != std::string::npos)
                    fail(v.line, "'password' must be 1 to 1000 of A-Z a-z 0-9 . _ -");
            } else if (key == "maildrop") {
                s.maildrop = text(key, v);
                if (s.maildrop != "default" && s.maildrop != "dots" && s.maildrop != "empty")
                    fail(v.line, "'maildrop' must be \"default\", \"dots\" or \"empty\"");
            } else {
                fail(v.line, "unknown key '" + key + "' in [case.server]");
            }
        }
    }
};

} // namespace

std::string_view to_string(client_task t) noexcept {
    return name_of<client_task>(task_names, t);
}
std::string_view to_string(client_tls t) noexcept {
    return name_of<client_tls>(tls_names, t);
}
std::string_view to_string(expectation e) noexcept {
    return name_of<expectation>(expectation_names, e);
}
std::string_view to_string(certificate_kind c) noexcept {
    return name_of<certificate_kind>(certificate_names, c);
}
std::optional<client_task> parse_client_task(std::string_view name) noexcept {
    return value_of<client_task>(task_names, name);
}
std::optional<client_tls> parse_client_tls(std::string_view name) noexcept {
    return value_of<client_tls>(tls_names, name);
}

std::string server_setup::key() const {
    std::string k = std::string(pipelining ? "P" : "p") + (apop ? "A" : "a") +
                    (user_command ? "U" : "u") + (stls ? "S" : "s") + (resp_codes ? "R" : "r") +
                    " " + std::to_string(login_delay.count()) + " " +
                    std::string(to_string(certificate)) + " " + maildrop + " " + password;
    for (auto m : mechanisms)
        k += " " + std::string(sasl_mechanism_name(m));
    return k;
}

std::string client_case::control_key() const {
    // A bad certificate makes every run fail: its cases are judged against the control run
    // with the good one (the client must work there, and refuse here).
    server_setup control = server;
    control.certificate = certificate_kind::good;
    return std::string(to_string(task)) + " " + login + " " + std::string(to_string(tls)) + " " +
           control.key();
}

namespace {

// Appends a file's cases; ids are unique over every file added to `seen`.
void add_cases(const std::vector<mock::case_table>& tables, const std::string& file,
               std::map<std::string, std::string>& seen, std::vector<client_case>& out) {
    const case_reader reader(file);
    for (const auto& t : tables) {
        auto c = reader.read(t);
        const auto where = file + ":" + std::to_string(t.line);
        if (const auto [it, fresh] = seen.emplace(c.meta.id, where); !fresh)
            throw transcript_error(where + ": duplicate case id " + c.meta.id + " (first at " +
                                   it->second + ")");
        out.push_back(std::move(c));
    }
}

template <class Read>
std::vector<mock::case_table> tables_of(Read read) {
    try {
        return read();
    } catch (const mock::scenario_error& e) {
        throw transcript_error(e.what());
    }
}

} // namespace

std::vector<client_case> parse_client_cases(std::string_view text, const fs::path& file) {
    std::vector<client_case> out;
    std::map<std::string, std::string> seen;
    add_cases(tables_of([&] { return mock::parse_case_tables(text, file); }), file.string(), seen,
              out);
    return out;
}

std::vector<client_case> load_client_cases(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file() && it->path().extension() == ".toml") files.push_back(it->path());
    if (ec) throw transcript_error(dir.string() + ": cannot read: " + ec.message());
    std::sort(files.begin(), files.end());
    std::vector<client_case> out;
    std::map<std::string, std::string> seen; // id -> FILE:LINE
    for (const auto& f : files)
        add_cases(tables_of([&] { return mock::load_case_tables(f); }), f.string(), seen, out);
    return out;
}

} // namespace pop3::conformance
