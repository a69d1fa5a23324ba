// Session recording (--record DIR): each session as a transcript of C: and S: lines, with
// credentials masked on request. Format: docs/recording.md.
#pragma once

#include <filesystem>
#include <fstream>
#include <pop3/protocol/credential_mask.hpp>
#include <string>
#include <string_view>

namespace pop3::mock {

class recorder {
public:
    recorder(const std::filesystem::path& file, bool mask_credentials);
    ~recorder();
    recorder(const recorder&) = delete;
    recorder& operator=(const recorder&) = delete;

    void client_bytes(std::string_view bytes);
    void server_bytes(std::string_view part1, std::string_view part2 = {});
    void note(std::string_view text); // "# text" line
    void tls(bool started);           // "!tls" when TLS started, a note when it failed
    // False once the file could not be opened or written.
    bool good() const { return out_.good(); }

    // The masking rule, exposed for tests: PASS and APOP secrets, AUTH initial responses and
    // every client line of a SASL exchange become "****". It applies to C: lines and to the
    // notes that show client bytes: a line cut at 64 KiB, an incomplete last line.
    std::string mask_client_line(std::string_view line);

private:
    void emit(char who, std::string_view line, std::string_view bare_end);
    void feed(char who, std::string& pending, std::string_view bytes);
    std::string shown_pending(char who, std::string_view bytes, std::size_t limit);

    std::ofstream out_;
    credential_mask mask_;
    std::string client_pending_, server_pending_;
    bool client_skipping_ = false, server_skipping_ = false; // inside a line cut at max_pending
};

} // namespace pop3::mock
