#include "pop3/mockserver/listing.hpp"

#include <utility>

namespace pop3::mock {

listing_builder& listing_builder::line(std::string_view text) {
    if (text.starts_with('.')) wire_ += '.';
    wire_.append(text);
    wire_ += "\r\n";
    ++lines_;
    return *this;
}

std::string listing_builder::finish() {
    wire_ += ".\r\n";
    lines_ = 0;
    return std::exchange(wire_, {});
}

std::string listing_body(std::span<const std::string> lines) {
    listing_builder b;
    for (const auto& l : lines)
        b.line(l);
    return b.finish();
}

std::string listing_body(std::span<const std::string_view> lines) {
    listing_builder b;
    for (auto l : lines)
        b.line(l);
    return b.finish();
}

std::string announced_octets(std::uint64_t octets, std::int64_t delta) {
    return std::to_string(static_cast<std::int64_t>(octets) + delta);
}

std::string scan_listing(std::span<const message_ptr> messages, const std::vector<bool>& deleted,
                         std::int64_t octet_delta, std::size_t* listed) {
    listing_builder b;
    for (std::size_t i = 0; i < messages.size(); ++i)
        if (!deleted[i])
            b.line(std::to_string(i + 1) + " " +
                   announced_octets(messages[i]->octets(), octet_delta));
    if (listed) *listed = b.lines();
    return b.finish();
}

std::string uid_listing(std::span<const message_ptr> messages, const std::vector<bool>& deleted) {
    listing_builder b;
    for (std::size_t i = 0; i < messages.size(); ++i)
        if (!deleted[i]) b.line(std::to_string(i + 1) + " " + messages[i]->uid);
    return b.finish();
}

} // namespace pop3::mock
