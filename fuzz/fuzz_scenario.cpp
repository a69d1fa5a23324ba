// Fuzzes the scenario file reader (pop3::mock::parse_scenario, TOML through toml++). Byte 0 picks
// the name the text is parsed under and whether an accepted scenario then runs: a mock-server
// session in memory under the scenario's rules, fed a fixed client dialogue. Invariants: only
// scenario_error escapes, its message starts with the file name; an accepted scenario obeys the
// documented rules (commands upper case, every rule changes something, hang and disconnect never
// together, user names unique and non-empty, capability lines without CR or LF); the session
// under it never crashes. Inputs are capped at 64 KiB.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/mockserver/config.hpp>
#include <pop3/mockserver/memory_driver.hpp>
#include <pop3/mockserver/scenario_file.hpp>
#include <string>

namespace {

bool has_line_break(std::string_view s) {
    return s.find_first_of("\r\n") != std::string_view::npos;
}

void check_rules(const pop3::mock::scenario_file& f) {
    FUZZ_CHECK(!f.sc.name.empty());
    if (f.sc.greeting) FUZZ_CHECK(!has_line_break(*f.sc.greeting));
    for (const auto* caps : {&f.sc.capabilities_authorization, &f.sc.capabilities_transaction})
        if (*caps)
            for (const auto& line : **caps)
                FUZZ_CHECK(!line.empty() && !has_line_break(line));
    for (const auto& r : f.sc.rules) {
        FUZZ_CHECK(r.change.any() || r.delivery.any());
        FUZZ_CHECK(!(r.delivery.hang && r.delivery.disconnect_at));
        FUZZ_CHECK(!r.command.empty());
        if (r.command != "*" && r.command != "greeting")
            for (char c : r.command)
                FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_');
        if (r.change.tls_failure) FUZZ_CHECK(r.command == "STLS");
        if (r.occurrence) FUZZ_CHECK(*r.occurrence >= 1);
        for (std::size_t i = 1; i < r.delivery.split_at.size(); ++i)
            FUZZ_CHECK(r.delivery.split_at[i - 1] < r.delivery.split_at[i]);
    }
    FUZZ_CHECK(!(f.sc.session_fault.hang && f.sc.session_fault.disconnect_at));
    for (std::size_t i = 0; i < f.users.size(); ++i) {
        FUZZ_CHECK(!f.users[i].name.empty());
        FUZZ_CHECK(!(f.users[i].maildrop && f.users[i].generate));
        for (std::size_t j = 0; j < i; ++j)
            FUZZ_CHECK(f.users[i].name != f.users[j].name);
    }
}

// Runs a session under the scenario. Rules whose effect cannot finish in memory (an endless
// body) or would allocate without bound (a huge line) are not run.
void run_session(const pop3::mock::scenario& sc, bool tls_available) {
    for (const auto& r : sc.rules)
        if (r.change.endless_body || r.change.huge_line > (std::size_t{1} << 16)) return;
    auto config = pop3::mock::default_config();
    config.faults = sc;
    pop3::mock::memory_driver driver(config, {.tls_available = tls_available});
    std::string out = driver.start();
    const std::string_view dialogue[] = {
        "CAPA\r\n",   "STLS\r\n",         "USER user\r\n", "PASS pass\r\n",
        "STAT\r\n",   "LIST\r\nUIDL\r\n", "RETR 1\r\n",    "TOP 2 1\r\n",
        "DELE 1\r\n", "RETR 1\r\n",       "RSET\r\n",      "NOOP\r\nQUIT\r\n",
    };
    for (auto line : dialogue) {
        if (driver.tls_requested()) out += driver.complete_tls(true);
        if (!driver.reading()) break;
        out += driver.send(line);
    }
    driver.disconnect();
    FUZZ_CHECK(driver.closed());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 64 * 1024) return 0;
    const auto mode = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const char* name = (mode & 1) ? "dir/fuzz.toml" : "fuzz.toml";
    try {
        const auto f = pop3::mock::parse_scenario(text, name);
        check_rules(f);
        FUZZ_CHECK(f.sc.file == name);
        if (mode & 2) run_session(f.sc, (mode & 4) != 0);
    } catch (const pop3::mock::scenario_error& e) {
        FUZZ_CHECK(std::string_view(e.what()).starts_with(name));
    }
    return 0;
}
