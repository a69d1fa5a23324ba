// The mock server the client tests talk to, on 127.0.0.1 with an ephemeral port, and the
// client options that reach it (its own certificate trusted); one rule changing one command's
// reply. Shared by the sync and the async client tests.
#pragma once

#include <chrono>
#include <pop3/client/client.hpp>
#include <pop3/mockserver/server.hpp>
#include <string>
#include <utility>

namespace pop3::test {

struct running_server {
    mock::server srv;
    explicit running_server(mock::server_config c = mock::default_config(),
                            bool implicit_tls = false, unsigned threads = 1)
        : srv(std::move(c), [&] {
              mock::server_options o;
              o.threads = threads;
              if (implicit_tls) o.tls_listen = "127.0.0.1:0";
              return o;
          }()) {
        srv.start();
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

inline mock::server_config with_rule(std::string command, mock::reply_change change,
                                     mock::fault f = {}) {
    auto c = mock::default_config();
    mock::rule r;
    r.command = std::move(command);
    r.change = std::move(change);
    r.delivery = std::move(f);
    c.faults.rules.push_back(std::move(r));
    return c;
}

} // namespace pop3::test
