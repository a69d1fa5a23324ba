// The client-direction transcripts' client: pop3kit's client library asked to do what a case's
// `client:` line says, in process (the tests replay the transcripts over a memory pipe and over
// sockets). pop3-conformance client runs the client cases instead (client_runner.hpp).
#pragma once

#include "pop3/conformance/runner.hpp"

#include <chrono>
#include <memory>
#include <pop3/client/client.hpp>
#include <string>

namespace pop3::conformance {

struct client_outcome {
    bool ok = false;
    std::string message; // the error, when not ok
};

// Runs pop3kit's client library against `url` (pop3://user:pass@127.0.0.1:PORT) doing `args`:
// pop3-client's words after the URL — options --starttls, --tls, --auth MECH (or APOP), then
// commands capa, stat, list [N], uidl [N], retr N, top N L, dele N, noop, rset, quit, parsed by
// pop3/client/words.hpp (raw is not offered; QUIT is sent at the end unless a command failed or
// quit sent it). `ca_pem` is trusted for TLS.
client_outcome run_library_client(const std::string& url, const std::string& args,
                                  const std::string& ca_pem, std::chrono::milliseconds timeout);

// The same over an in-memory transport instead of a socket (memory_pipe): plaintext only.
client_outcome run_library_client(const std::string& url, const std::string& args,
                                  const std::string& ca_pem, std::chrono::milliseconds timeout,
                                  std::unique_ptr<client_transport> transport);

// A client-direction case passes only when its dialogue matched and the client ended as the
// case's expect-client: says.
void judge_client_outcome(case_result& r, const client_outcome& outcome);

} // namespace pop3::conformance
