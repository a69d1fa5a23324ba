#include "pop3/mockserver/session.hpp"

#include "pop3/mockserver/listing.hpp"
#include "pop3/mockserver/planted_bug.hpp"

#include <algorithm>
#include <cstdlib>
#include <pop3/protocol/apop.hpp>
#include <pop3/protocol/base64.hpp>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/digest.hpp>
#include <pop3/protocol/dot_codec.hpp>
#include <pop3/protocol/line.hpp>
#include <pop3/protocol/text.hpp>
#include <utility>

namespace pop3::mock {
namespace {

// An AUTH challenge line ("+ BASE64\r\n") holding a SCRAM server-first, with its iteration
// count replaced (the nonce and salt kept); nullopt for any other line.
std::optional<std::string> with_scram_iterations(const std::string& line,
                                                 std::uint32_t iterations) {
    if (!line.starts_with("+ ") || !line.ends_with("\r\n")) return std::nullopt;
    std::string first;
    std::error_code ec;
    if (!base64_decode(std::string_view(line).substr(2, line.size() - 4), first, ec) ||
        !first.starts_with("r="))
        return std::nullopt;
    const auto at = first.find(",i=");
    if (at == std::string::npos) return std::nullopt;
    const auto end = first.find(',', at + 3);
    first.replace(at + 3, (end == std::string::npos ? first.size() : end) - (at + 3),
                  std::to_string(iterations));
    return "+ " + base64_encode(first) + "\r\n";
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = ascii_upper(c);
    return out;
}

std::string replace_crlf_with_lf(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') continue;
        out += s[i];
    }
    return out;
}

// A message-number argument as a number: "0001" -> "1" (parse_command validated it).
std::string canonical(std::string_view arg) {
    return std::to_string(*parse_message_number(arg));
}

std::string_view state_name(session_state s) noexcept {
    switch (s) {
    case session_state::authorization: return "AUTHORIZATION";
    case session_state::transaction: return "TRANSACTION";
    case session_state::update: return "UPDATE";
    }
    return "UPDATE";
}

constexpr std::string_view dot_terminator = ".\r\n";

server_action just(server_action::type what) {
    server_action a;
    a.what = what;
    return a;
}

// Merges a rule's delivery over the session-wide one: the rule wins where it says something.
fault merge(const fault& session_wide, const fault& specific) {
    fault f = session_wide;
    if (specific.delay.count()) f.delay = specific.delay;
    if (specific.drip_bytes) {
        f.drip_bytes = specific.drip_bytes;
        f.drip_pause = specific.drip_pause;
    }
    if (!specific.split_at.empty()) f.split_at = specific.split_at;
    if (specific.disconnect_at) f.disconnect_at = specific.disconnect_at;
    f.hang = f.hang || specific.hang;
    return f;
}

#if POP3_PLANTED_BUGS
// ---- planted bugs (planted_bug.hpp): helpers of the blocks marked "Planted bug" below ------

bool planted(const server_config& c, planted_bug bug) noexcept {
    return std::find(c.planted.begin(), c.planted.end(), bug) != c.planted.end();
}

// pass-crash-300: a PASS line past the command-line limit is read on, to its end or to its
// 300th argument octet (then the process dies). True while it waits for more of the line; at
// most 306 octets are kept.
bool long_pass_pending(const server_config& c, session_state state, std::string_view input) {
    if (state != session_state::authorization || !planted(c, planted_bug::pass_crash_300) ||
        !iequals(input.substr(0, 5), "PASS "))
        return false;
    const auto lf = input.find('\n');
    auto line = input.substr(0, lf);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (planted_crash_due(c.planted, state, line)) std::abort();
    return lf == std::string_view::npos;
}

// number-wraps-2^32: a message number of 2^32 or more as a 32-bit unsigned integer holds it.
std::optional<std::string> wrapped_2_32(std::string_view arg) {
    const auto n = parse_message_number(arg);
    if (!n || *n <= 0xffff'ffffu) return std::nullopt;
    return std::to_string(*n & 0xffff'ffffu);
}

// unstuffed-dot: a message of 100 to 120 octets goes out as it is, not dot-stuffed.
bool sent_unstuffed(const server_config& c, const message& m) noexcept {
    return planted(c, planted_bug::unstuffed_dot) && m.octets() >= 100 && m.octets() <= 120;
}
#endif

} // namespace

session::session(const server_config& config, session_context context)
    : config_(config), context_(std::move(context)) {
    timestamp_ = "<" + context_.timestamp_seed + "@" + config_.hostname + ">";
}

session::~session() {
    on_disconnect();
}

void session::on_disconnect() {
    if (locked_) {
        locked_->unlock(); // a dropped connection deletes nothing (RFC 1939 §6)
        locked_.reset();
    }
}

server_action session::start() {
    std::string text = config_.faults.greeting.value_or(config_.greeting_text);
    if (config_.apop && !config_.faults.greeting) text += " " + timestamp_;
    reply("greeting", "+OK " + text);
    return next_action();
}

server_action session::on_read(std::string_view bytes) {
    input_.append(bytes);
    process_input();
    return next_action();
}

server_action session::on_write_done() {
    if (!output_.empty()) {
        if (output_.front().streaming()) {
            // A huge line: the next chunk of it, then the rest of the reply.
            constexpr std::size_t chunk = 64 * 1024;
            auto& o = output_.front();
            queued_octets_ -= o.head.size();
            o.head.clear();
            o.body = {};
            o.delivery = config_.faults.session_fault;
            if (o.filler) {
                if (filler_chunk_.empty()) filler_chunk_.assign(chunk, 'x');
                const auto n = std::min(o.filler, chunk);
                o.body = std::string_view(filler_chunk_).substr(0, n);
                o.filler -= n;
            } else {
                o.head = std::exchange(o.after_filler, {});
                queued_octets_ += o.head.size();
            }
            return next_action();
        }
        if (output_.front().endless) {
            // A body that never ends: keep the same item and send more lines.
            auto& o = output_.front();
            queued_octets_ -= o.head.size();
            o.head.clear();
            o.body_owner.reset();
            o.tail = {};
            o.delivery = config_.faults.session_fault; // the session-wide fault still applies
            if (endless_chunk_.empty())
                for (int i = 0; i < 64; ++i)
                    endless_chunk_ += "this body never ends, line " + std::to_string(i) + "\r\n";
            o.body = endless_chunk_;
            return next_action();
        }
        // A gathered write covered several replies.
        for (std::size_t n = std::max<std::size_t>(gathered_, 1); n > 0 && !output_.empty(); --n) {
            queued_octets_ -= output_.front().head.size();
            output_.pop_front();
        }
        gathered_ = 0;
    }
    if (output_.empty() && after_ == after_output::read && !stop_processing_) process_input();
    return next_action();
}

server_action session::on_tls_done(bool ok) {
    if (!ok) return just(server_action::type::close);
    context_.tls_active = true;
    after_ = after_output::read;
    stop_processing_ = false;
    process_input(); // empty, unless a scenario kept the plaintext (stls_keeps_plaintext)
    return next_action();
}

server_action session::next_action() {
    if (!output_.empty()) {
        const auto add_parts = [this](const outgoing& item) {
            for (auto p : {std::string_view(item.head), item.body, item.tail})
                if (!p.empty()) parts_.push_back(p);
        };
        const auto& o = output_.front();
        parts_.clear();
        gathered_ = 0;
        // Replies without faults that are ready together (pipelined commands) go out in one
        // gathered write: one system call instead of one per reply.
        if (!o.delivery.any() && !o.endless && !o.unsolicited && !o.streaming() &&
            output_.size() > 1) {
            for (const auto& item : output_) {
                if (item.delivery.any() || item.endless || item.unsolicited || item.streaming() ||
                    gathered_ == max_gathered)
                    break;
                add_parts(item);
                ++gathered_;
            }
            if (gathered_ > 1) {
                auto a = just(server_action::type::write);
                a.parts = parts_;
                a.replies = gathered_;
                return a;
            }
            parts_.clear();
            gathered_ = 0;
        }
        add_parts(o);
        auto a = just(o.delivery.hang ? server_action::type::hang : server_action::type::write);
        a.parts = parts_;
        a.delivery = o.delivery;
        const bool goes_on = o.endless || o.streaming();
        a.replies = goes_on ? 0 : 1;
        a.unsolicited = goes_on ? 0 : o.unsolicited;
        return a;
    }
    switch (after_) {
    case after_output::read: {
        auto a = just(server_action::type::read);
        a.idle_timeout = config_.idle_timeout;
        return a;
    }
    case after_output::close: return just(server_action::type::close);
    case after_output::hang: return just(server_action::type::hang);
    case after_output::start_tls: return just(server_action::type::start_tls);
    case after_output::update: return just(server_action::type::update);
    case after_output::tls_garbage:
        // The handshake is answered with bytes that are not TLS, then the connection closes.
        after_ = after_output::close;
        push(plain(std::string("\x15\x03\x03\x00\x02\x02\x28 this is not TLS\r\n", 25),
                   config_.faults.session_fault));
        return next_action();
    }
    return just(server_action::type::close);
}

void session::process_input() {
    // Lines are handled in order, pipelined or not, until something stops the session from
    // reading on in plaintext (STLS, QUIT, a hang or a forced close), or until the replies
    // waiting to go out are large enough: the rest waits until they are written (back-pressure
    // on a client that pipelines without reading).
    while (!stop_processing_ && after_ == after_output::read &&
           queued_octets_ < config_.max_queued_output) {
        if (discarding_) {
            const auto lf = input_.find('\n');
            if (lf == std::string::npos) {
                input_.clear();
                return;
            }
            input_.erase(0, lf + 1);
            discarding_ = false;
        }
        line_policy policy;
        policy.allow_bare_lf = true; // be liberal in what we accept: telnet users send LF
        const auto limit = sasl_ ? config_.protocol_limits.max_sasl_line
                                 : config_.protocol_limits.max_command_line;
        std::error_code ec;
        const auto line = frame_line(input_, limit, policy, ec);
        if (ec == error::need_more) return;
        if (ec == error::line_too_long) {
#if POP3_PLANTED_BUGS
            // Planted bug pass-crash-300, on a PASS line longer than the limit.
            if (!sasl_ && long_pass_pending(config_, state_, input_)) return;
#endif
            // Skip the rest of the line, which may not have arrived yet.
            const auto lf = input_.find('\n');
            discarding_ = lf == std::string::npos;
            input_.erase(0, discarding_ ? input_.size() : lf + 1);
            sasl_.reset();
            err("", "line too long (limit " + std::to_string(limit) + " octets including CRLF)");
            continue;
        }
        if (ec) {
            input_.erase(0, input_.find('\n') == std::string::npos ? input_.size()
                                                                   : input_.find('\n') + 1);
            sasl_.reset();
            err("", std::string(make_error_code(static_cast<error>(ec.value())).message()));
            continue;
        }
        const std::string text(line.text);
        input_.erase(0, line.consumed);
        handle_line(text);
    }
}

void session::handle_line(std::string_view line) {
    if (sasl_) return handle_sasl_line(line);
#if POP3_PLANTED_BUGS
    // Planted bugs list-crash-2g and pass-crash-300: the process dies.
    if (planted_crash_due(config_.planted, state_, line)) std::abort();
#endif
    dispatch(line);
}

void session::dispatch(std::string_view line) {
    std::error_code ec;
    diagnostics diag;
    auto cmd = parse_command(line, ec, &diag);
    const std::string keyword = upper(cmd.keyword.empty() ? line.substr(0, 4) : cmd.keyword);
    last_command_ = keyword;
    // Scenario rules match the state in which the command arrived, not the one it leads to
    // (a successful PASS is an AUTHORIZATION reply).
    command_state_ = state_;
    const bool pending_user = pending_user_.has_value();
    if (cmd.id != command_id::pass || ec) pending_user_.reset(); // PASS must follow USER directly
#if POP3_PLANTED_BUGS
    // Planted bug long-err-echo: the offending line quoted twice, however long.
    if (ec && planted(config_, planted_bug::long_err_echo))
        return err(keyword, diag.message + ": \"" + std::string(line) + "\" (you sent \"" +
                                std::string(line) + "\")");
#endif
    if (ec) return err(keyword, diag.message);

#if POP3_PLANTED_BUGS
    // Planted bug number-wraps-2^32: message numbers are taken modulo 2^32.
    std::string wrapped;
    if (cmd.arg_count > 0 && (cmd.info->message_number_args & 1) &&
        planted(config_, planted_bug::number_wraps_2_32))
        if (auto w = wrapped_2_32(cmd.args[0])) {
            wrapped = std::move(*w);
            cmd.args[0] = wrapped;
        }
#endif
    command_message_.reset();
    command_has_argument_ = cmd.arg_count > 0;
    if (cmd.arg_count > 0 && (cmd.info->message_number_args & 1))
        command_message_ = parse_message_number(cmd.args[0]);
    if (cmd.id == command_id::auth) auth_replies_ = 0;

    // A scenario rule whose replacement is an -ERR refuses the command: its effects do not
    // happen, so the server's state matches what the client was told.
    if (refused_by_rule(keyword)) return reply(keyword, {});

    // Where each command is valid is the command table's (command_info::states).
    if (!cmd.info->valid_in(state_))
        return err(keyword,
                   "command not valid in the " + std::string(state_name(state_)) + " state");

    const auto arg = [&](std::size_t i) {
        return i < cmd.arg_count ? cmd.args[i] : std::string_view{};
    };
    switch (cmd.id) {
    case command_id::user: return cmd_user(keyword, arg(0));
    case command_id::pass:
        if (!pending_user) return err(keyword, "PASS must follow USER");
        return cmd_pass(keyword, arg(0));
    case command_id::apop: return cmd_apop(keyword, arg(0), arg(1));
    case command_id::auth: return cmd_auth(keyword, cmd.arg_count, arg(0), arg(1));
    case command_id::rpop: return err(keyword, "RPOP is not supported");
    case command_id::stat: return cmd_stat(keyword);
    case command_id::list: return cmd_list(keyword, cmd.arg_count, arg(0));
    case command_id::retr: return cmd_retr(keyword, arg(0));
    case command_id::dele: return cmd_dele(keyword, arg(0));
    case command_id::noop:
#if POP3_PLANTED_BUGS
        // Planted bug noop-leak: 64 KiB kept for ever by every NOOP.
        if (planted(config_, planted_bug::noop_leak)) planted_noop_leak();
#endif
        return ok(keyword, "");
    case command_id::rset: return cmd_rset(keyword);
    case command_id::top: return cmd_top(keyword, arg(0), arg(1));
    case command_id::uidl: return cmd_uidl(keyword, cmd.arg_count, arg(0));
    case command_id::quit: return cmd_quit(keyword);
    case command_id::capa: return cmd_capa(keyword);
    case command_id::stls: return cmd_stls(keyword);
    case command_id::utf8: return cmd_utf8(keyword);
    case command_id::lang: return cmd_lang(keyword, cmd.arg_count, arg(0));
    case command_id::unknown: break; // parse_command refused it
    }
    err(keyword, "unknown command");
}

// ---- replies -------------------------------------------------------------------------------

void session::ok(std::string_view command, std::string_view text) {
    reply(command, text.empty() ? std::string("+OK") : "+OK " + std::string(text));
}

void session::err(std::string_view command, std::string_view text) {
    reply(command, text.empty() ? std::string("-ERR") : "-ERR " + std::string(text));
}

void session::reply(std::string_view command, std::string status_line) {
    const bool is_error = status_line.starts_with("-ERR");
    queue(command, status_line + "\r\n", {}, {}, nullptr, false, is_error);
}

void session::reply_multi(std::string_view command, std::string status_line,
                          std::string body_wire) {
    queue(command, std::move(status_line) + "\r\n" + std::move(body_wire), {}, {}, nullptr, true,
          false);
}

void session::reply_shared(std::string_view command, std::string status_line, std::string_view body,
                           std::string_view tail, message_ptr owner) {
    queue(command, std::move(status_line) + "\r\n", body, tail, std::move(owner), true, false);
}

void session::queue(std::string_view command, std::string head, std::string_view body,
                    std::string_view tail, message_ptr owner, bool multi_line, bool is_error) {
    const std::string key = command.empty() ? last_command_ : std::string(command);
    const auto context = next_reply(key, head);
    const rule* r = config_.faults.match(context);
    // A rule whose only changes are for multi-line replies does not match a single-line one
    // (LIST 1 for a rule meant for the listing): it waits for a reply it can change.
    if (r && !multi_line && !r->change.replace && r->change.append.empty() && !r->change.bare_lf &&
        !r->change.octet_delta && !r->change.tls_failure && !r->change.scram_iterations &&
        !r->delivery.any())
        r = nullptr;
    // An iteration count is changed in the SCRAM server-first only: the rule waits for it.
    if (r && r->change.scram_iterations && !with_scram_iterations(head, 1)) r = nullptr;
    count_reply(context);
    if (r) r->served->fetch_add(1);
    outgoing o = plain(std::move(head), config_.faults.session_fault);
    o.body_owner = std::move(owner);
    o.body = body;
    o.tail = tail;
    bool replaced_error = false;
    if (r) {
        const auto& c = r->change;
        o.delivery = merge(config_.faults.session_fault, r->delivery);
        if (c.replace) {
            o.head = *c.replace;
            o.body = {};
            o.tail = {};
            o.body_owner.reset();
            replaced_error = c.replace->starts_with("-ERR");
        } else if (multi_line && (c.drop_terminator || c.huge_line || c.endless_body)) {
            std::string all = o.head + std::string(o.body) + std::string(o.tail);
            o.body = {};
            o.tail = {};
            o.body_owner.reset();
            const auto first_eol = all.find("\r\n") + 2;
            if (c.drop_terminator || c.endless_body) all.resize(all.size() - 3); // ".\r\n"
            // A huge line goes out in chunks after the status line (a gigabyte is never
            // built), unless a delivery fault needs the whole reply's offsets.
            if (c.huge_line && !o.delivery.any() && !c.endless_body) {
                o.after_filler = "\r\n" + all.substr(first_eol);
                all.resize(first_eol);
                o.filler = c.huge_line;
            } else if (c.huge_line) {
                all.insert(first_eol, std::string(c.huge_line, 'x') + "\r\n");
            }
            o.head = std::move(all);
            o.endless = c.endless_body;
        }
        if (c.scram_iterations)
            if (auto changed = with_scram_iterations(o.head, c.scram_iterations))
                o.head = std::move(*changed);
        if (c.bare_lf) {
            o.head = replace_crlf_with_lf(o.head + std::string(o.body) + std::string(o.tail));
            o.after_filler = replace_crlf_with_lf(o.after_filler);
            o.body = {};
            o.tail = {};
            o.body_owner.reset();
        }
        (o.streaming() ? o.after_filler : o.head) += c.append;
        o.unsolicited = c.append.size();
        if (c.tls_failure && after_ == after_output::start_tls) after_ = after_output::tls_garbage;
        if (o.delivery.hang) {
            after_ = after_output::hang;
            stop_processing_ = true;
        }
        if (o.delivery.disconnect_at) {
            after_ = after_output::close;
            stop_processing_ = true;
        }
    }
    push(std::move(o));

    if (is_error || replaced_error) {
        if (++consecutive_errors_ >= config_.max_consecutive_errors &&
            after_ == after_output::read) {
            push(plain("-ERR too many errors, closing the connection\r\n",
                       config_.faults.session_fault));
            after_ = after_output::close;
            stop_processing_ = true;
        }
    } else {
        consecutive_errors_ = 0;
    }
}

void session::push(outgoing o) {
    queued_octets_ += o.head.size();
    output_.push_back(std::move(o));
}

reply_context session::next_reply(std::string_view key,
                                  std::optional<std::string_view> status_line) const {
    reply_context c;
    c.command = key;
    const bool greeting = key == "greeting";
    c.state = greeting ? session_state::authorization : command_state_;
    const auto it = occurrences_.find(std::string(key));
    c.occurrence = (it == occurrences_.end() ? 0 : it->second) + 1;
    c.role = greeting ? reply_role::greeting : role_of_command(key);
    const bool auth = key == "AUTH";
    // AUTH's replies are challenges ("+ ") until the one that ends the exchange; before a reply
    // is made (status_line unknown) it counts as a challenge.
    if (auth && status_line && !status_line->starts_with("+ ")) c.role = reply_role::login;
    c.login_first = key == "USER" || key == "APOP" || (auth && auth_replies_ == 0);
    c.role_occurrence = role_replies_[static_cast<std::size_t>(c.role)] + 1;
    c.login_first_occurrence = c.login_first ? login_first_replies_ + 1 : 0;
    if (!greeting && key == last_command_) {
        c.message = command_message_;
        c.has_argument = command_has_argument_;
    }
    c.tls_active = context_.tls_active;
    return c;
}

void session::count_reply(const reply_context& c) {
    // Bounded: a client sending endless distinct keywords cannot grow the map forever; past
    // the bound, new keywords count as their first occurrence.
    const std::string key(c.command);
    if (const auto it = occurrences_.find(key); it != occurrences_.end())
        ++it->second;
    else if (occurrences_.size() < max_tracked_keywords)
        occurrences_.emplace(key, 1);
    ++role_replies_[static_cast<std::size_t>(c.role)];
    if (c.login_first) ++login_first_replies_;
    if (c.command == "AUTH") ++auth_replies_;
}

bool session::refused_by_rule(std::string_view key,
                              std::optional<std::string_view> status_line) const {
    const rule* r = config_.faults.match(next_reply(key, status_line));
    return r && r->change.replace && r->change.replace->starts_with("-ERR");
}

std::int64_t session::octet_delta(std::string_view command) const {
    const rule* r = config_.faults.match(next_reply(command, std::nullopt));
    return r ? r->change.octet_delta : 0;
}

// ---- AUTHORIZATION -------------------------------------------------------------------------

const user* session::find_user(std::string_view name) const noexcept {
    return mock::find_user(config_.users, name);
}

void session::login(std::string_view cmd, const user* who) {
    if (!who) return err(cmd, "[AUTH] invalid user name or password");
    auto mail = who->mail ? who->mail : std::shared_ptr<maildrop>();
    if (!mail) return err(cmd, "[SYS/PERM] user has no maildrop");
    if (!mail->try_lock()) return err(cmd, "[IN-USE] maildrop already locked by another session");
    locked_ = mail;
    user_ = who;
    messages_ = mail->snapshot();
    deleted_.assign(messages_.size(), false);
    state_ = session_state::transaction;
    std::uint64_t octets = 0;
    for (const auto& m : messages_)
        octets += m->octets();
    ok(cmd, "maildrop has " + std::to_string(messages_.size()) + " messages (" +
                std::to_string(octets) + " octets)");
}

void session::cmd_user(std::string_view cmd, std::string_view name) {
    if (!config_.user_command) return err(cmd, "USER is not enabled, use AUTH or APOP");
    pending_user_ = std::string(name);
    // Whether the name exists is not revealed here; PASS fails either way.
    ok(cmd, "send PASS");
}

void session::cmd_pass(std::string_view cmd, std::string_view password) {
    const user* who = find_user(*pending_user_);
    pending_user_.reset();
    if (!who || !constant_time_equal(who->password, password))
        return login_failed(cmd, "[AUTH] invalid user name or password");
    login(cmd, who);
}

void session::cmd_apop(std::string_view cmd, std::string_view name, std::string_view digest) {
    if (!config_.apop) return err(cmd, "APOP is not enabled");
    const user* who = find_user(name);
    if (!who || !constant_time_equal(apop_digest(timestamp_, who->password), digest))
        return login_failed(cmd, "[AUTH] invalid user name or digest");
    login(cmd, who);
}

void session::cmd_auth(std::string_view cmd, std::size_t argc, std::string_view mech_name,
                       std::string_view initial) {
    if (argc == 0) { // list mechanisms (a common extension that predates CAPA)
        listing_builder body;
        for (auto m : config_.mechanisms)
            body.line(sasl_mechanism_name(m));
        return reply_multi(cmd, "+OK list of SASL mechanisms follows", body.finish());
    }
    const auto mech = parse_sasl_mechanism(mech_name);
    if (!mech || std::find(config_.mechanisms.begin(), config_.mechanisms.end(), *mech) ==
                     config_.mechanisms.end())
        return err(cmd, "unsupported authentication mechanism");
    sasl_.emplace(*mech, config_.users, context_.timestamp_seed, config_.hostname);
    answer_sasl(cmd, sasl_->start(argc == 2 ? std::optional(initial) : std::nullopt));
}

void session::handle_sasl_line(std::string_view line) {
    answer_sasl("AUTH", sasl_->on_line(line));
}

void session::answer_sasl(std::string_view cmd, sasl_step step) {
    switch (step.what) {
    case sasl_step::type::challenge: return reply(cmd, "+ " + step.text);
    case sasl_step::type::success: return finish_sasl(cmd, step.who, {});
    case sasl_step::type::failure: return finish_sasl(cmd, nullptr, step.text);
    }
}

void session::finish_sasl(std::string_view cmd, const user* who, std::string_view failure) {
    sasl_.reset();
    // As for other commands: a rule that answers the outcome with -ERR refuses the login.
    if (who && refused_by_rule(cmd, "+OK")) return reply(cmd, {});
    if (!who) return login_failed(cmd, failure);
    login(cmd, who);
}

void session::login_failed(std::string_view cmd, std::string_view text) {
    // Counted on their own: a USER answered +OK between two wrong passwords resets the
    // consecutive-error count, so that alone would let a client guess passwords forever.
    if (++failed_logins_ < config_.max_failed_logins || after_ != after_output::read)
        return err(cmd, text);
    after_ = after_output::close; // first: no "too many errors" line after this one
    stop_processing_ = true;
    err(cmd, std::string(text) + " (" + std::to_string(failed_logins_) +
                 " failed logins, closing the connection)");
}

void session::cmd_stls(std::string_view cmd) {
    if (context_.tls_active) return err(cmd, "command not permitted when TLS active");
    if (!context_.tls_available) return err(cmd, "TLS is not available");
    after_ = after_output::start_tls; // before ok(): a tls_failure rule turns this into garbage
    stop_processing_ = true;
    // RFC 2595 §4: plaintext pipelined after STLS is dropped (the injection class of
    // CVE-2011-0411) — unless a scenario asks for the flaw.
    bool keep_plaintext = config_.faults.stls_keeps_plaintext;
#if POP3_PLANTED_BUGS
    // Planted bug stls-keeps-plaintext: the scenario's flaw, planted.
    keep_plaintext = keep_plaintext || planted(config_, planted_bug::stls_keeps_plaintext);
#endif
    if (!keep_plaintext) input_.clear();
    ok(cmd, "begin TLS negotiation");
}

void session::cmd_utf8(std::string_view cmd) {
    if (!config_.utf8) return err(cmd, "UTF8 is not supported");
    utf8_ = true;
    ok(cmd, "UTF8 enabled");
}

void session::cmd_lang(std::string_view cmd, std::size_t argc, std::string_view arg) {
    if (config_.languages.empty()) return err(cmd, "LANG is not supported");
    if (argc == 0)
        return reply_multi(cmd, "+OK language listing follows", listing_body(config_.languages));
    for (const auto& l : config_.languages) {
        const std::string_view tag = std::string_view(l).substr(0, l.find(' '));
        if (arg == "*" || iequals(tag, arg)) {
            language_ = std::string(tag);
            return ok(cmd, l);
        }
    }
    err(cmd, "invalid language " + std::string(arg));
}

std::vector<std::string> session::capability_lines() const {
    const bool auth = state_ == session_state::authorization;
    if (auth && config_.faults.capabilities_authorization)
        return *config_.faults.capabilities_authorization;
    if (!auth && config_.faults.capabilities_transaction)
        return *config_.faults.capabilities_transaction;
    std::vector<std::string> caps;
    if (config_.top) caps.emplace_back("TOP");
    // RFC 2449 §5: what is announced in AUTHORIZATION is announced in both states (RFC 5034 §3
    // keeps SASL after AUTH too); only STLS depends on the state, being permitted only before
    // login (RFC 2595 §4: "permitted in the current state").
    if (config_.user_command) caps.emplace_back("USER");
    if (!config_.mechanisms.empty()) {
        std::string sasl = "SASL";
        for (auto m : config_.mechanisms)
            sasl += " " + std::string(sasl_mechanism_name(m));
        caps.push_back(sasl);
    }
    if (config_.resp_codes) {
        caps.emplace_back("RESP-CODES");
        caps.emplace_back("AUTH-RESP-CODE");
    }
    if (config_.pipelining) caps.emplace_back("PIPELINING");
    if (!config_.expire.empty()) caps.push_back("EXPIRE " + config_.expire);
    if (config_.login_delay.count())
        caps.push_back("LOGIN-DELAY " + std::to_string(config_.login_delay.count()));
    if (config_.uidl) caps.emplace_back("UIDL");
    if (auth && context_.tls_available && !context_.tls_active) caps.emplace_back("STLS");
    if (config_.utf8) caps.emplace_back("UTF8");
    if (!config_.languages.empty()) caps.emplace_back("LANG");
    if (!config_.implementation.empty()) caps.push_back("IMPLEMENTATION " + config_.implementation);
    return caps;
}

void session::cmd_capa(std::string_view cmd) {
    auto body = listing_body(capability_lines());
#if POP3_PLANTED_BUGS
    // Planted bug capa-unterminated-transaction: no ".\r\n" after CAPA in TRANSACTION.
    if (state_ == session_state::transaction &&
        planted(config_, planted_bug::capa_unterminated_transaction))
        body.resize(body.size() - dot_terminator.size());
#endif
    reply_multi(cmd, "+OK capability list follows", std::move(body));
}

void session::cmd_quit(std::string_view cmd) {
    after_ = after_output::close;
    stop_processing_ = true;
    if (state_ != session_state::transaction) return ok(cmd, "pop3kit signing off");
    state_ = session_state::update;
    quit_keyword_ = std::string(cmd);
    // Only writing deletions back to files can block; an in-memory commit is done here, without
    // the driver's round trip to its blocking pool.
    if (config_.persist && std::find(deleted_.begin(), deleted_.end(), true) != deleted_.end()) {
        after_ = after_output::update; // the reply waits for run_update
        return;
    }
    run_update();
    on_update_done();
}

void session::run_update() noexcept {
    std::vector<message_ptr> gone; // by identity: uids say nothing about which file to delete
    for (std::size_t i = 0; i < messages_.size(); ++i)
        if (deleted_[i]) gone.push_back(messages_[i]);
    try {
        locked_->commit_deletions(gone, config_.persist);
        left_after_ = messages_.size() - gone.size();
    } catch (const std::exception&) {
        left_after_.reset();
    }
    locked_->unlock();
    locked_.reset();
}

server_action session::on_update_done() {
    after_ = after_output::close;
    if (left_after_)
        ok(quit_keyword_,
           "pop3kit signing off (" + std::to_string(*left_after_) + " messages left)");
    else
        err(quit_keyword_, "[SYS/PERM] some deleted messages not removed");
    return next_action();
}

// ---- TRANSACTION ---------------------------------------------------------------------------

const message* session::message_arg(std::string_view cmd, std::string_view arg) {
    const auto n = parse_message_number(arg);
    if (!n || *n > messages_.size()) {
        err(cmd, "no such message");
        return nullptr;
    }
    if (deleted_[*n - 1]) {
        err(cmd, "message " + std::to_string(*n) + " already deleted");
        return nullptr;
    }
    return messages_[*n - 1].get();
}

void session::cmd_stat(std::string_view cmd) {
    const std::vector<bool>* deleted = &deleted_;
#if POP3_PLANTED_BUGS
    // Planted bug stat-counts-deleted: the deletion marks are not looked at.
    const std::vector<bool> none(deleted_.size(), false);
    if (planted(config_, planted_bug::stat_counts_deleted)) deleted = &none;
#endif
    std::uint64_t count = 0, octets = 0;
    for (std::size_t i = 0; i < messages_.size(); ++i) {
        if ((*deleted)[i]) continue;
        ++count;
        octets += messages_[i]->octets();
    }
    const auto delta = octet_delta(cmd);
    ok(cmd, std::to_string(count) + " " + announced_octets(octets, delta));
}

void session::cmd_list(std::string_view cmd, std::size_t argc, std::string_view arg) {
    const auto delta = octet_delta(cmd);
    if (argc == 1) {
        // The scan listing names the message-number (RFC 1939 §5), not the argument as typed.
        if (const message* m = message_arg(cmd, arg))
            ok(cmd, canonical(arg) + " " + announced_octets(m->octets(), delta));
        return;
    }
    std::size_t count = 0;
    const std::vector<bool>* deleted = &deleted_;
#if POP3_PLANTED_BUGS
    // Planted bug list-shows-deleted: the deletion marks are not looked at.
    const std::vector<bool> none(deleted_.size(), false);
    if (planted(config_, planted_bug::list_shows_deleted)) deleted = &none;
#endif
    auto body = scan_listing(messages_, *deleted, delta, &count);
#if POP3_PLANTED_BUGS
    // Planted bug bare-lf-listing: each scan listing ends in LF; the terminator keeps its CRLF.
    if (planted(config_, planted_bug::bare_lf_listing))
        body = replace_crlf_with_lf(
                   std::string_view(body).substr(0, body.size() - dot_terminator.size())) +
               std::string(dot_terminator);
#endif
    reply_multi(cmd, "+OK " + std::to_string(count) + " messages", std::move(body));
}

void session::cmd_uidl(std::string_view cmd, std::size_t argc, std::string_view arg) {
    if (!config_.uidl) return err(cmd, "UIDL is not supported");
#if POP3_PLANTED_BUGS
    // Planted bug uidl-changes-after-rset: once an RSET was answered +OK, every uid changes.
    if (reset_answered_ && planted(config_, planted_bug::uidl_changes_after_rset)) {
        if (argc == 1) {
            if (const message* m = message_arg(cmd, arg))
                ok(cmd, canonical(arg) + " " + m->uid + "-1");
            return;
        }
        listing_builder body;
        for (std::size_t i = 0; i < messages_.size(); ++i)
            if (!deleted_[i]) body.line(std::to_string(i + 1) + " " + messages_[i]->uid + "-1");
        return reply_multi(cmd, "+OK unique-id listing follows", body.finish());
    }
#endif
    if (argc == 1) {
        if (const message* m = message_arg(cmd, arg)) ok(cmd, canonical(arg) + " " + m->uid);
        return;
    }
    reply_multi(cmd, "+OK unique-id listing follows", uid_listing(messages_, deleted_));
}

void session::cmd_retr(std::string_view cmd, std::string_view arg) {
    const message* m = message_arg(cmd, arg);
    if (!m) return;
    const auto octets = announced_octets(m->octets(), octet_delta(cmd));
    const auto n = *parse_message_number(arg);
#if POP3_PLANTED_BUGS
    // Planted bug unstuffed-dot.
    if (sent_unstuffed(config_, *m))
        return reply_shared(cmd, "+OK " + octets + " octets", m->content, dot_terminator,
                            messages_[n - 1]);
#endif
    reply_shared(cmd, "+OK " + octets + " octets", m->wire, {}, messages_[n - 1]);
}

void session::cmd_top(std::string_view cmd, std::string_view arg, std::string_view lines_arg) {
    if (!config_.top) return err(cmd, "TOP is not supported");
    const message* m = message_arg(cmd, arg);
    if (!m) return;
    // The reply is a prefix of the message's stuffed wire form (stuffing works line by line, so
    // the stuffed headers and first lines are a prefix of the stuffed whole), shared with the
    // maildrop: pipelined TOPs of a large message copy nothing.
    std::string_view wire = m->wire;
    std::size_t body_end = wire.size() - dot_terminator.size();
#if POP3_PLANTED_BUGS
    // Planted bug unstuffed-dot: the prefix is taken from the unstuffed message.
    if (sent_unstuffed(config_, *m)) {
        wire = m->content;
        body_end = wire.size();
    }
#endif
    const auto blank = wire.find("\r\n\r\n");
    std::size_t end = blank == std::string_view::npos ? body_end : blank + 4;
    for (auto lines = *parse_decimal(lines_arg); lines > 0 && end < body_end; --lines) {
        const auto eol = wire.find('\n', end);
        end = eol == std::string_view::npos || eol >= body_end ? body_end : eol + 1;
    }
    reply_shared(cmd, "+OK top of message follows", wire.substr(0, end), dot_terminator,
                 messages_[*parse_message_number(arg) - 1]);
}

void session::cmd_dele(std::string_view cmd, std::string_view arg) {
#if POP3_PLANTED_BUGS
    // Planted bug dele-twice-ok: a message deleted in this session is deleted again, +OK.
    if (const auto n = parse_message_number(arg); n && *n <= messages_.size() && deleted_[*n - 1] &&
                                                  planted(config_, planted_bug::dele_twice_ok))
        return ok(cmd, "message " + canonical(arg) + " deleted");
#endif
    if (!message_arg(cmd, arg)) return;
    deleted_[*parse_message_number(arg) - 1] = true;
    ok(cmd, "message " + canonical(arg) + " deleted");
}

void session::cmd_rset(std::string_view cmd) {
    ++rsets_;
#if POP3_PLANTED_BUGS
    // Planted bug rset-hang-3: the third RSET gets no reply, and the session reads no more.
    if (rsets_ == 3 && planted(config_, planted_bug::rset_hang_3)) {
        after_ = after_output::hang;
        stop_processing_ = true;
        return;
    }
#endif
    std::fill(deleted_.begin(), deleted_.end(), false);
    std::uint64_t octets = 0;
    for (const auto& m : messages_)
        octets += m->octets();
    ok(cmd, "maildrop has " + std::to_string(messages_.size()) + " messages (" +
                std::to_string(octets) + " octets)");
    reset_answered_ = true;
}

} // namespace pop3::mock
