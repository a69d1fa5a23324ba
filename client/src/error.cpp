#include "pop3/client/error.hpp"

#include <string>

namespace pop3 {
namespace {

class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "pop3.client"; }

    std::string message(int value) const override {
        switch (static_cast<client_error>(value)) {
        case client_error::server_error: return "the server answered -ERR";
        case client_error::connection_unusable: return "connection unusable after an earlier error";
        case client_error::stls_unavailable:
            return "STLS not available: refusing to continue in plaintext";
        case client_error::tls_already_active: return "TLS is already active";
        case client_error::plaintext_after_stls: return "plaintext received after the STLS reply";
        case client_error::connection_closed: return "the server closed the connection";
        case client_error::timeout: return "operation timed out";
        case client_error::reply_too_large: return "reply exceeds the configured size limit";
        }
        return "unknown pop3 client error";
    }
};

} // namespace

const std::error_category& client_error_category() noexcept {
    static const category instance;
    return instance;
}

} // namespace pop3
