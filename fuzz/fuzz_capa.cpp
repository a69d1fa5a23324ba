// Fuzzes the CAPA list (capabilities::add_line) over each line of the input. Byte 0 picks how
// lines are cut (CRLF or LF) and whether the list is cleared between groups. Invariants: the
// list matches a simple model (ordered, keywords unique case-insensitively, a repeat replaces
// the arguments in place), a refused line changes nothing, lookups agree with the entries, and
// every error is bad_capa_line.
#include "fuzz_check.hpp"

#include <cstdint>
#include <pop3/protocol/listings.hpp>
#include <string>
#include <vector>

namespace {

char upper(char c) {
    return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
}

bool same_keyword(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (upper(a[i]) != upper(b[i])) return false;
    return true;
}

// The model: what add_line should do with `line`; false when it must be refused.
bool model_add(std::vector<pop3::capabilities::entry>& model, std::string_view line) {
    const auto sp = line.find(' ');
    const std::string_view keyword = line.substr(0, sp);
    if (keyword.empty()) return false;
    for (char ch : keyword) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7e) return false;
    }
    std::vector<std::string> args;
    if (sp != std::string_view::npos) {
        std::string_view rest = line.substr(sp + 1);
        while (!rest.empty()) {
            const auto next = rest.find(' ');
            if (next != 0) args.emplace_back(rest.substr(0, next));
            rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
        }
    }
    for (auto& e : model) {
        if (same_keyword(e.first, keyword)) {
            e.second = std::move(args);
            return true;
        }
    }
    model.emplace_back(std::string(keyword), std::move(args));
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const auto mode = data[0];
    const std::string_view sep = (mode & 1) ? std::string_view("\n") : std::string_view("\r\n");
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    pop3::capabilities caps;
    std::vector<pop3::capabilities::entry> model;
    while (!input.empty()) {
        const auto end = input.find(sep);
        const auto line = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view{} : input.substr(end + sep.size());
        if ((mode & 2) && line == ".") { // a terminator starts a new list
            caps.clear();
            model.clear();
            FUZZ_CHECK(caps.empty());
            continue;
        }

        std::error_code ec;
        pop3::diagnostics diag;
        caps.add_line(line, ec, &diag);
        const bool accepted = model_add(model, line);
        FUZZ_CHECK(accepted == !ec);
        if (ec) {
            FUZZ_CHECK(ec == pop3::error::bad_capa_line);
            FUZZ_CHECK(!diag.message.empty());
        }
        FUZZ_CHECK(caps.entries() == model);
        FUZZ_CHECK(caps.empty() == model.empty());
    }
    for (const auto& [keyword, args] : model) {
        std::string shouted;
        for (char c : keyword)
            shouted += upper(c);
        FUZZ_CHECK(caps.has(shouted));
        const auto* found = caps.find(shouted);
        FUZZ_CHECK(found != nullptr && *found == args);
        for (const auto& a : args)
            FUZZ_CHECK(caps.has_argument(keyword, a));
        FUZZ_CHECK(!caps.has_argument(keyword, ""));
    }
    return 0;
}
