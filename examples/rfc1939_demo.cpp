// pop3-demo: feeds the RFC 1939 §10 example session through the protocol core, one byte at a
// time, and prints what each side's parsers made of it.
#include <cstdio>
#include <cstring>
#include <pop3/protocol/command.hpp>
#include <pop3/protocol/listings.hpp>
#include <pop3/protocol/reply_reader.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct exchange {
    std::string_view command; // empty for the greeting
    std::string_view reply;
};

// RFC 1939 §10, with the message placeholders as bodies.
const exchange session[] = {
    {"", "+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"},
    {"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n",
     "+OK mrose's maildrop has 2 messages (320 octets)\r\n"},
    {"STAT\r\n", "+OK 2 320\r\n"},
    {"LIST\r\n", "+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"},
    {"RETR 1\r\n", "+OK 120 octets\r\n<the POP3 server sends message 1>\r\n.\r\n"},
    {"DELE 1\r\n", "+OK message 1 deleted\r\n"},
    {"RETR 2\r\n", "+OK 200 octets\r\n<the POP3 server sends message 2>\r\n.\r\n"},
    {"DELE 2\r\n", "+OK message 2 deleted\r\n"},
    {"QUIT\r\n", "+OK dewey POP3 server signing off (maildrop empty)\r\n"},
};

void print_escaped(const char* prefix, std::string_view bytes) {
    std::printf("%s%s\n", prefix, pop3::escape_for_display(bytes, 200).c_str());
}

bool fail(const char* what, std::error_code ec, const pop3::diagnostics& diag) {
    std::printf("ERROR in %s: %s (%s)\n", what, ec.message().c_str(), diag.to_string().c_str());
    return false;
}

bool run() {
    pop3::reply_reader reader;
    pop3::diagnostics diag;
    std::error_code ec;
    for (const auto& ex : session) {
        auto shape = pop3::reply_shape::single_line;
        pop3::command_id id = pop3::command_id::unknown;
        if (!ex.command.empty()) {
            // Server side: parse the command line.
            const auto line = ex.command.substr(0, ex.command.size() - 2);
            const auto cmd = pop3::parse_command(line, ec, &diag);
            if (ec) return fail("command", ec, diag);
            id = cmd.id;
            shape = pop3::expected_reply(cmd.id, cmd.arg_count);
            std::printf("C: %-44.*s -> command %.*s, %zu argument(s), reply %s\n",
                        static_cast<int>(line.size()), line.data(),
                        static_cast<int>(cmd.info->keyword.size()), cmd.info->keyword.data(),
                        cmd.arg_count,
                        shape == pop3::reply_shape::multi_line ? "multi-line" : "single-line");
        }
        // Client side: read the reply one byte at a time, as slowly as a network can.
        reader.start(shape);
        std::string pending, body;
        for (char c : ex.reply) {
            pending += c;
            while (!reader.complete()) {
                const auto step = reader.read(pending, ec, &diag);
                body.append(step.data); // a view into `pending`: copy it before erasing
                pending.erase(0, step.consumed);
                if (ec == pop3::error::need_more) break;
                if (ec) return fail("reply", ec, diag);
            }
        }
        if (!reader.complete() || !pending.empty())
            return fail("reply", pop3::error::eof_in_reply, diag);
        const auto& st = reader.status();
        std::printf("S: %s %.*s\n", st.status == pop3::reply_status::ok ? "+OK" : "-ERR",
                    static_cast<int>(st.text.size()), st.text.data());
        if (id == pop3::command_id::stat) {
            const auto s = pop3::parse_stat(st.full_text, ec, &diag);
            if (ec) return fail("STAT", ec, diag);
            std::printf("   STAT: %llu messages, %llu octets\n",
                        static_cast<unsigned long long>(s.count),
                        static_cast<unsigned long long>(s.octets));
        }
        if (id == pop3::command_id::list) {
            std::string_view rest = body;
            while (!rest.empty()) {
                const auto eol = rest.find("\r\n");
                const auto e = pop3::parse_scan_listing(rest.substr(0, eol), ec, &diag);
                if (ec) return fail("LIST", ec, diag);
                std::printf("   message %llu: %llu octets\n",
                            static_cast<unsigned long long>(e.message),
                            static_cast<unsigned long long>(e.octets));
                rest.remove_prefix(eol + 2);
            }
        } else if (!body.empty()) {
            print_escaped("   body: ", body);
        }
    }
    return true;
}

} // namespace

int main(int argc, char** argv) {
    if (argc > 1 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::puts("usage: pop3-demo\n\nFeeds the RFC 1939 section 10 example session through the "
                  "pop3kit protocol core\n(one byte at a time) and prints what it parsed. Exit "
                  "code 0 when every line parsed.");
        return 0;
    }
    const bool ok = run();
    std::puts(ok ? "demo: the whole RFC 1939 session parsed" : "demo: FAILED");
    return ok ? 0 : 1;
}
