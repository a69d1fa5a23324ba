#include "pop3/protocol/credential_mask.hpp"

#include "pop3/protocol/text.hpp"

namespace pop3 {

std::string credential_mask::client_line(std::string_view line) {
    std::string_view rest = line;
    const auto keyword = next_token(rest);
    if (in_sasl_) return enabled_ ? "****" : std::string(line);
    if (iequals(keyword, "AUTH")) {
        const auto mech = next_token(rest);
        in_sasl_ = !mech.empty(); // a bare AUTH only lists the mechanisms
        if (enabled_ && !rest.empty())
            return std::string(keyword) + " " + std::string(mech) + " ****";
        return std::string(line);
    }
    if (!enabled_) return std::string(line);
    if (iequals(keyword, "PASS")) return std::string(keyword) + " ****";
    if (iequals(keyword, "APOP"))
        return std::string(keyword) + " " + std::string(next_token(rest)) + " ****";
    return std::string(line);
}

void credential_mask::server_line(std::string_view line) noexcept {
    if (in_sasl_ && (line.starts_with("+OK") || line.starts_with("-ERR"))) in_sasl_ = false;
}

} // namespace pop3
