#include "pop3/conformance/client_under_test.hpp"

#include <pop3/client/client.hpp>
#include <pop3/client/words.hpp>
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
        // The commands, in pop3-client's words (pop3/client/words.hpp), quit included and raw
        // not; each runs before the next is parsed, as the words are read.
        const std::vector<std::string_view> command_words(w.begin() + static_cast<long>(i),
                                                          w.end());
        bool quit_sent = false;
        for (std::size_t at = 0; at < command_words.size();) {
            const auto s = parse_client_step(command_words, at, {.raw = false, .quit = true});
            switch (s.word) {
            case client_word::capa: c.capa(); break;
            case client_word::stat: c.stat(); break;
            case client_word::list:
                s.number.empty() ? (void)c.list() : (void)c.list_one(s.number);
                break;
            case client_word::uidl:
                s.number.empty() ? (void)c.uidl() : (void)c.uidl_one(s.number);
                break;
            case client_word::retr: c.retr(s.number); break;
            case client_word::top: c.top(s.number, s.lines); break;
            case client_word::dele: c.dele(s.number); break;
            case client_word::noop: c.noop(); break;
            case client_word::rset: c.rset(); break;
            case client_word::quit:
                c.quit();
                quit_sent = true;
                break;
            case client_word::raw: c.raw(s.line); break; // not offered
            }
        }
        if (!quit_sent) c.quit();
        return {true, {}};
    } catch (const client_words_error& e) {
        return {false, std::string("client: ") + e.what()};
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
