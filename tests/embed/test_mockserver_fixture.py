"""The pytest fixture and MockServer of embed/python/pop3kit_mockserver.py, against the real
pop3-mockserver ($POP3KIT_MOCKSERVER), as a user's test suite would use them."""

import os
import poplib
import ssl

import pytest

from pop3kit_mockserver import MockServer, MockServerError
from pop3kit_mockserver import pop3_mockserver  # noqa: F401 (the fixture, used by name)


def test_default_server_serves_its_default_maildrop(pop3_mockserver):
    server = pop3_mockserver()
    assert server.host == "127.0.0.1" and server.port > 0 and server.tls_port is None
    client = poplib.POP3(server.host, server.port, timeout=10)
    client.user("user")
    client.pass_("pass")
    count, _ = client.stat()
    assert count > 0
    response, lines, _ = client.retr(1)
    assert response.startswith(b"+OK") and lines
    client.quit()


def test_arguments_reach_the_server(pop3_mockserver):
    server = pop3_mockserver("--user", "alice:secret", "--generate", "3:100")
    client = poplib.POP3(server.host, server.port, timeout=10)
    client.user("alice")
    client.pass_("secret")
    assert client.stat()[0] == 3
    client.quit()


def test_implicit_tls_and_stls_with_the_certificate_it_wrote(pop3_mockserver):
    server = pop3_mockserver("--tls-listen", "127.0.0.1:0", cert=True)
    assert server.tls_port and server.tls_port != server.port
    context = ssl.create_default_context(cafile=server.cert_file)
    client = poplib.POP3_SSL("localhost", server.tls_port, context=context, timeout=10)
    client.user("user")
    client.pass_("pass")
    assert client.stat()[0] > 0
    client.quit()
    plain = poplib.POP3("localhost", server.port, timeout=10)
    plain.stls(context=context)
    plain.user("user")
    plain.pass_("pass")
    assert plain.stat()[0] > 0
    plain.quit()


def test_a_bad_scenario_is_reported_with_its_line(tmp_path):
    scenario = tmp_path / "bad.toml"
    scenario.write_text("[[rule]]\ncommand = \"RETR\"\nno_such_key = 1\n")
    with pytest.raises(MockServerError) as failure:
        MockServer("--scenario", scenario).start()
    assert "exited 2" in str(failure.value)
    assert f"{scenario}:" in str(failure.value)


def test_stop_ends_the_process_cleanly():
    with MockServer() as server:
        assert server.running
        pid = server._process.pid
    assert not server.running
    assert server._process.returncode == 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
