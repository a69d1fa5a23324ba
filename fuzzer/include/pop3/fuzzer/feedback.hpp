// Black-box feedback: which (session state, command keyword, reply class) transitions a target
// has shown. An input that shows a transition not seen before joins the corpus, as AFLNet keeps
// inputs by response code.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_set>
#include <vector>

namespace pop3::fuzzer {

struct transition {
    std::string state;   // "AUTHORIZATION", "TRANSACTION", "SASL"; "+TLS" once after STLS
    std::string keyword; // upper case, "UNKNOWN" for a line that is not certain
    std::string reply;   // "+OK", "-ERR", "+ " (continuation); " [CODE]"; " multi-line"
    std::string key() const { return state + " " + keyword + " " + reply; }
};

class transition_set {
public:
    // How many of `ts` were new.
    std::size_t add(const std::vector<transition>& ts);
    std::size_t size() const noexcept { return seen_.size(); }

private:
    std::unordered_set<std::string> seen_;
};

} // namespace pop3::fuzzer
