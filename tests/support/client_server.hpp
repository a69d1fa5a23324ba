// The mock server a test talks to, on 127.0.0.1 with an ephemeral port and one thread, stopped
// when the test ends; the URLs and the client options that reach it (its own certificate
// trusted); rules changing commands' replies. The one copy for the client library's sync
// and async tests, pop3-client's and pop3-load's.
#pragma once

#include <chrono>
#include <pop3/client/client.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <utility>
#include <vector>

namespace pop3::test {

struct running_server {
    mock::server srv;
    explicit running_server(mock::server_config c = mock::default_config(),
                            bool implicit_tls = false, unsigned threads = 1)
        : running_server(std::move(c), listen_options(implicit_tls, threads)) {}
    running_server(mock::server_config c, mock::server_options o)
        : srv(std::move(c), std::move(o)) {
        srv.start();
    }
    // One thread; an implicit-TLS listener too when `implicit_tls`.
    static mock::server_options listen_options(bool implicit_tls = false, unsigned threads = 1) {
        mock::server_options o;
        o.threads = threads;
        if (implicit_tls) o.tls_listen = "127.0.0.1:0";
        return o;
    }
    std::string url(const std::string& userinfo = "user:pass@") const {
        return "pop3://" + userinfo + "127.0.0.1:" + std::to_string(srv.port());
    }
    std::string tls_url(const std::string& userinfo = "user:pass@") const {
        return "pop3s://" + userinfo + "127.0.0.1:" + std::to_string(*srv.tls_port());
    }
    client_options options() const {
        using namespace std::chrono_literals;
        client_options o;
        o.host = "127.0.0.1";
        o.port = srv.port();
        o.operation_timeout = 5s;
        o.connect_timeout = 5s;
        o.tls_settings.ca_pem = srv.identity().certificate;
        return o;
    }
};

// The default configuration with each command's reply changed as given.
inline mock::server_config
with_rules(const std::vector<std::pair<std::string, mock::reply_change>>& changes) {
    auto c = mock::default_config();
    for (const auto& [command, change] : changes) {
        mock::rule r;
        r.command = command;
        r.change = change;
        c.faults.rules.push_back(std::move(r));
    }
    return c;
}

// One command's reply changed, and delivered with fault `f`.
inline mock::server_config with_rule(std::string command, mock::reply_change change,
                                     mock::fault f = {}) {
    auto c = with_rules({{std::move(command), std::move(change)}});
    c.faults.rules.back().delivery = std::move(f);
    return c;
}

} // namespace pop3::test
