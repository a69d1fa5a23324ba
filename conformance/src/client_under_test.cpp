#include "pop3/conformance/client_under_test.hpp"

#include <pop3/client/client.hpp>
#include <pop3/protocol/text.hpp>
#include <sstream>
#include <vector>

namespace pop3::conformance {
namespace {

std::vector<std::string> words(const std::string& s) {
    std::istringstream in(s);
    std::vector<std::string> out;
    for (std::string w; in >> w;)
        out.push_back(w);
    return out;
}

} // namespace

client_outcome run_library_client(const std::string& url, const std::string& args,
                                  const std::string& ca_pem, std::chrono::milliseconds timeout) {
    return run_library_client(url, args, ca_pem, timeout, nullptr);
}

client_outcome run_library_client(const std::string& url, const std::string& args,
                                  const std::string& ca_pem, std::chrono::milliseconds timeout,
                                  std::unique_ptr<client_transport> transport) {
    try {
        const auto u = parse_pop_url(url);
        client_options o;
        o.host = u.host;
        o.port = u.port;
        o.connect_timeout = o.operation_timeout = timeout;
        o.tls_settings.ca_pem = ca_pem;
        const auto w = words(args);
        std::size_t i = 0;
        std::optional<sasl_mechanism> mech;
        bool apop = false;
        for (; i < w.size() && w[i].starts_with("--"); ++i) {
            if (w[i] == "--starttls")
                o.tls = tls_mode::starttls;
            else if (w[i] == "--tls")
                o.tls = tls_mode::implicit;
            else if (w[i] == "--auth" && i + 1 < w.size()) {
                const auto& name = w[++i];
                if (iequals(name, "APOP") || iequals(name, "+APOP"))
                    apop = true;
                else if (!(mech = parse_sasl_mechanism(name)))
                    return {false, "client: unknown mechanism " + name};
            } else
                return {false, "client: unknown option " + w[i]};
        }
        auto connected = [&] {
            return transport ? std::make_unique<client>(o, std::move(transport))
                             : std::make_unique<client>(o);
        }();
        client& c = *connected;
        if (!u.user.empty()) {
            if (mech)
                c.auth(*mech, u.user, u.password);
            else if (apop)
                c.apop(u.user, u.password);
            else {
                c.user(u.user);
                c.pass_(u.password);
            }
        }
        auto number = [&](std::size_t at) -> std::string {
            if (at >= w.size())
                throw std::invalid_argument("client: missing number after " + w[at - 1]);
            return w[at];
        };
        bool quit_sent = false;
        for (; i < w.size(); ++i) {
            const auto& cmd = w[i];
            const bool has_arg = i + 1 < w.size() && parse_decimal(w[i + 1]).has_value();
            if (cmd == "capa")
                c.capa();
            else if (cmd == "stat")
                c.stat();
            else if (cmd == "list")
                has_arg ? (void)c.list_one(w[++i]) : (void)c.list();
            else if (cmd == "uidl")
                has_arg ? (void)c.uidl_one(w[++i]) : (void)c.uidl();
            else if (cmd == "retr")
                c.retr(number(++i));
            else if (cmd == "top") {
                const auto n = number(++i);
                c.top(n, *parse_decimal(number(++i)));
            } else if (cmd == "dele")
                c.dele(number(++i));
            else if (cmd == "noop")
                c.noop();
            else if (cmd == "rset")
                c.rset();
            else if (cmd == "quit") {
                c.quit();
                quit_sent = true;
            } else
                return {false, "client: unknown command " + cmd};
        }
        if (!quit_sent) c.quit();
        return {true, {}};
    } catch (const std::exception& e) {
        return {false, e.what()};
    }
}

void judge_client_outcome(case_result& r, const client_outcome& outcome) {
    if (r.v != verdict::pass) return;
    const auto expected = r.tc->client_outcome;
    if (expected == client_expectation::ok && !outcome.ok) {
        r.v = verdict::fail;
        r.reason = "the client reported an error: " + outcome.message;
    } else if (expected == client_expectation::error && outcome.ok) {
        r.v = verdict::fail;
        r.reason = "the client reported success; it must refuse";
    }
}

} // namespace pop3::conformance
