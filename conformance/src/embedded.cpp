#include "pop3/conformance/embedded.hpp"

#include <pop3/mockserver/scenario_file.hpp>

namespace pop3::conformance {

std::shared_ptr<mock::maildrop> embedded_maildrop(const std::string& spec) {
    using mock::make_message;
    if (spec == "empty") return std::make_shared<mock::maildrop>();
    if (spec == "dots") {
        // Lines starting with '.', the first line included, a lone ".", and an empty body.
        return std::make_shared<mock::maildrop>(std::vector<mock::message_ptr>{
            make_message(
                "dots-1",
                ".first line starts with a dot\r\n..two dots\r\n.\r\nmiddle\r\n...\r\n.last\r\n"),
            make_message("dots-2", "Subject: empty body\r\n\r\n"),
            make_message("dots-3", ""),
        });
    }
    if (spec.starts_with("long-line:")) {
        // One message whose body is one line of OCTETS octets (checked by the transcript
        // parser) starting with '.', printable ASCII after it, then a short line.
        const auto octets = std::stoul(spec.substr(10));
        std::string body = "Subject: one long line\r\n\r\n.";
        for (std::size_t i = 1; i < octets; ++i)
            body += static_cast<char>('!' + i % 94);
        body += "\r\nend\r\n";
        return std::make_shared<mock::maildrop>(
            std::vector<mock::message_ptr>{make_message("long-line-1", body)});
    }
    if (spec.starts_with("generate:")) {
        // The transcript parser has checked it already; the same function, the same limits.
        const auto [count, size] =
            mock::parse_count_size(std::string_view(spec).substr(9), "'maildrop: generate:'");
        return mock::maildrop::generate(count, size);
    }
    return mock::default_maildrop();
}

std::vector<mock::message_ptr> embedded_messages(const std::string& spec) {
    return embedded_maildrop(spec)->snapshot();
}

mock::server_config embedded_config(const test_case& tc,
                                    const std::filesystem::path& scenarios_dir) {
    auto config = mock::default_config();
    config.users[0].mail = embedded_maildrop(tc.maildrop);
    if (!tc.scenario.empty())
        config.faults = mock::load_scenario(scenarios_dir / (tc.scenario + ".toml")).sc;
    return config;
}

} // namespace pop3::conformance
