// The client direction: the client under test, either pop3kit's client library in process or
// an external program, asked to do what a case's `client:` line says.
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
// commands capa, stat, list [N], uidl [N], retr N, top N L, dele N, noop, rset, quit (QUIT
// is sent at the end unless a command failed). `ca_pem` is trusted for TLS.
client_outcome run_library_client(const std::string& url, const std::string& args,
                                  const std::string& ca_pem, std::chrono::milliseconds timeout);

// The same over an in-memory transport instead of a socket (memory_pipe): plaintext only.
client_outcome run_library_client(const std::string& url, const std::string& args,
                                  const std::string& ca_pem, std::chrono::milliseconds timeout,
                                  std::unique_ptr<client_transport> transport);

// A client-direction case passes only when its dialogue matched and the client ended as the
// case's expect-client: says.
void judge_client_outcome(case_result& r, const client_outcome& outcome);

// Runs `command` with /bin/sh after replacing {url}, {port}, {ca} (a PEM file) and {args};
// ok when it exits 0 within `timeout` (it is killed after that).
client_outcome run_external_client(std::string command, const std::string& url, unsigned port,
                                   const std::string& ca_file, const std::string& args,
                                   std::chrono::milliseconds timeout);

} // namespace pop3::conformance
