#include "linear_match.hpp"

#include "pop3/conformance/pattern.hpp"

#include <bitset>
#include <climits>
#include <cstddef>

namespace pop3::conformance::detail {
namespace {

using byte_set = std::bitset<256>;
constexpr unsigned unbounded = UINT_MAX;
// Counted repeats are unrolled; past this many states the pattern is left to Boost.
constexpr std::size_t max_states = 100000;

// Thrown inside the parser and the compiler for what the NFA does not know.
struct unsupported {};

struct node {
    enum class kind : std::uint8_t { set, concat, alt, repeat, bol, eol };
    kind what = kind::concat;
    byte_set set;
    std::vector<node> kids;
    unsigned min = 0, max = 0; // repeat
};

node set_node(const byte_set& s) {
    node n;
    n.what = node::kind::set;
    n.set = s;
    return n;
}

byte_set byte_of(unsigned char c) {
    byte_set s;
    s.set(c);
    return s;
}

// Boost.Regex's classes for char in the "C" locale (the runner never sets another).
byte_set class_of(char e) {
    byte_set s;
    for (int c = 0; c < 256; ++c) {
        const bool digit = c >= '0' && c <= '9';
        const bool word = digit || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool space = c == ' ' || (c >= '\t' && c <= '\r');
        const bool in = e == 'd' || e == 'D' ? digit : e == 'w' || e == 'W' ? word : space;
        s.set(static_cast<std::size_t>(c), in != (e == 'D' || e == 'W' || e == 'S'));
    }
    return s;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Recursive descent over the ECMAScript subset: alternation, (?:…) and plain groups, classes,
// '.', '^', '$', escapes \d \D \w \W \s \S \t \n \r \f \v \xHH and escaped punctuation, and the
// quantifiers * + ? {m} {m,} {m,n}, greedy or lazy (the same language: only whether the whole
// line matches is asked).
class re_parser {
public:
    explicit re_parser(std::string_view re) : re_(re) {}

    node parse() {
        node n = alternation();
        if (pos_ != re_.size()) throw unsupported{};
        return n;
    }

private:
    bool eat(char c) {
        if (pos_ < re_.size() && re_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    char next() {
        if (pos_ >= re_.size()) throw unsupported{};
        return re_[pos_++];
    }

    node alternation() {
        node first = sequence();
        if (pos_ >= re_.size() || re_[pos_] != '|') return first;
        node a;
        a.what = node::kind::alt;
        a.kids.push_back(std::move(first));
        while (eat('|'))
            a.kids.push_back(sequence());
        return a;
    }

    node sequence() {
        node c;
        while (pos_ < re_.size() && re_[pos_] != '|' && re_[pos_] != ')')
            c.kids.push_back(repeat());
        return c;
    }

    unsigned number() {
        unsigned v = 0;
        while (pos_ < re_.size() && re_[pos_] >= '0' && re_[pos_] <= '9')
            v = v * 10 + static_cast<unsigned>(re_[pos_++] - '0');
        return v;
    }

    node repeat() {
        node a = atom();
        if (pos_ >= re_.size()) return a;
        unsigned lo = 0, hi = 0;
        const char c = re_[pos_];
        if (c == '*' || c == '+' || c == '?') {
            ++pos_;
            lo = c == '+' ? 1 : 0;
            hi = c == '?' ? 1 : unbounded;
        } else if (c == '{') {
            if (repetition_count_length(re_, pos_) == 0) throw unsupported{};
            ++pos_;
            lo = hi = number();
            if (eat(',')) hi = pos_ < re_.size() && re_[pos_] == '}' ? unbounded : number();
            if (!eat('}') || hi < lo) throw unsupported{};
        } else {
            return a;
        }
        eat('?'); // lazy: the same language
        if (pos_ < re_.size() &&
            (re_[pos_] == '+' || re_[pos_] == '*' || re_[pos_] == '?' || re_[pos_] == '{'))
            throw unsupported{}; // possessive, or a repeat of a repeat
        if (a.what == node::kind::bol || a.what == node::kind::eol) throw unsupported{};
        node r;
        r.what = node::kind::repeat;
        r.min = lo;
        r.max = hi;
        r.kids.push_back(std::move(a));
        return r;
    }

    // After a '\': the set it stands for, and the single byte when it is one.
    std::pair<byte_set, int> escape(bool in_class) {
        const char e = next();
        switch (e) {
        case 'd':
        case 'D':
        case 'w':
        case 'W':
        case 's':
        case 'S': return {class_of(e), -1};
        case 't': return {byte_of('\t'), '\t'};
        case 'n': return {byte_of('\n'), '\n'};
        case 'r': return {byte_of('\r'), '\r'};
        case 'f': return {byte_of('\f'), '\f'};
        case 'v': return {byte_of('\v'), '\v'};
        case 'x': {
            const int h = hex_digit(next()), l = hex_digit(next());
            if (h < 0 || l < 0) throw unsupported{};
            return {byte_of(static_cast<unsigned char>(h * 16 + l)), h * 16 + l};
        }
        default: break;
        }
        const auto u = static_cast<unsigned char>(e);
        const bool punctuation = u >= 0x21 && u <= 0x7e && !(e >= '0' && e <= '9') &&
                                 !(e >= 'a' && e <= 'z') && !(e >= 'A' && e <= 'Z');
        if (!punctuation) throw unsupported{}; // \b \B \A \z \1 \k \Q \c \u \0 ...
        (void)in_class;
        return {byte_of(u), u};
    }

    byte_set bracket() {
        const bool negated = eat('^');
        byte_set s;
        if (pos_ < re_.size() && re_[pos_] == ']') throw unsupported{}; // "[]…]"
        while (true) {
            const char c = next();
            if (c == ']') break;
            if (c == '[' && pos_ < re_.size() &&
                (re_[pos_] == ':' || re_[pos_] == '.' || re_[pos_] == '='))
                throw unsupported{}; // POSIX classes, collating elements
            auto [item, single] =
                c == '\\' ? escape(true)
                          : std::pair<byte_set, int>{byte_of(c), static_cast<unsigned char>(c)};
            if (pos_ + 1 < re_.size() && re_[pos_] == '-' && re_[pos_ + 1] != ']') {
                ++pos_;
                const char d = next();
                auto [hi_set, hi] =
                    d == '\\' ? escape(true)
                              : std::pair<byte_set, int>{byte_of(d), static_cast<unsigned char>(d)};
                (void)hi_set;
                if (single < 0 || hi < 0 || hi < single) throw unsupported{};
                for (int b = single; b <= hi; ++b)
                    s.set(static_cast<std::size_t>(b));
            } else {
                s |= item;
            }
        }
        return negated ? ~s : s;
    }

    node atom() {
        const char c = next();
        switch (c) {
        case '(': {
            if (pos_ < re_.size() && re_[pos_] == '?') {
                if (re_.substr(pos_, 2) != "?:") throw unsupported{}; // lookaround and others
                pos_ += 2;
            }
            node inner = alternation();
            if (!eat(')')) throw unsupported{};
            return inner;
        }
        case '[': return set_node(bracket());
        case '.': {
            byte_set s;
            s.set();
            s.reset('\n');
            s.reset('\r');
            s.reset('\f');
            return set_node(s);
        }
        case '^': {
            node n;
            n.what = node::kind::bol;
            return n;
        }
        case '$': {
            node n;
            n.what = node::kind::eol;
            return n;
        }
        case '\\': return set_node(escape(false).first);
        case '*':
        case '+':
        case '?':
        case '{':
        case '}':
        case ']':
        case ')':
        case '|': throw unsupported{};
        default: return set_node(byte_of(static_cast<unsigned char>(c)));
        }
    }

    std::string_view re_;
    std::size_t pos_ = 0;
};

struct state {
    enum class kind : std::uint8_t { set, eps, split, bol, eol, match };
    kind what = kind::eps;
    int out = -1, out1 = -1;
    int set_id = -1;
};

// Thompson's construction: each fragment has a start state and dangling exits (state * 2 for
// `out`, state * 2 + 1 for `out1`) patched to whatever follows.
class compiler {
public:
    struct fragment {
        int start;
        std::vector<int> exits;
    };

    int add(state::kind k, int set_id = -1) {
        if (states.size() >= max_states) throw unsupported{};
        states.push_back({k, -1, -1, set_id});
        return static_cast<int>(states.size() - 1);
    }

    void patch(const std::vector<int>& exits, int to) {
        for (int e : exits)
            (e % 2 ? states[static_cast<std::size_t>(e / 2)].out1
                   : states[static_cast<std::size_t>(e / 2)].out) = to;
    }

    fragment single(state::kind k, int set_id = -1) {
        const int s = add(k, set_id);
        return {s, {s * 2}};
    }

    fragment sequence(std::vector<fragment> parts) {
        if (parts.empty()) return single(state::kind::eps);
        for (std::size_t i = 0; i + 1 < parts.size(); ++i)
            patch(parts[i].exits, parts[i + 1].start);
        return {parts.front().start, parts.back().exits};
    }

    fragment emit(const node& n) {
        switch (n.what) {
        case node::kind::set:
            sets.push_back(n.set);
            return single(state::kind::set, static_cast<int>(sets.size() - 1));
        case node::kind::bol: return single(state::kind::bol);
        case node::kind::eol: return single(state::kind::eol);
        case node::kind::concat: {
            std::vector<fragment> parts;
            for (const auto& k : n.kids)
                parts.push_back(emit(k));
            return sequence(std::move(parts));
        }
        case node::kind::alt: {
            fragment f = emit(n.kids.back());
            for (std::size_t i = n.kids.size() - 1; i-- > 0;) {
                const fragment a = emit(n.kids[i]);
                const int s = add(state::kind::split);
                states[static_cast<std::size_t>(s)].out = a.start;
                states[static_cast<std::size_t>(s)].out1 = f.start;
                f.exits.insert(f.exits.end(), a.exits.begin(), a.exits.end());
                f.start = s;
            }
            return f;
        }
        case node::kind::repeat: {
            std::vector<fragment> parts;
            for (unsigned i = 0; i < n.min; ++i)
                parts.push_back(emit(n.kids[0]));
            if (n.max == unbounded) {
                const fragment body = emit(n.kids[0]);
                const int s = add(state::kind::split);
                states[static_cast<std::size_t>(s)].out = body.start;
                patch(body.exits, s);
                parts.push_back({s, {s * 2 + 1}});
            } else {
                for (unsigned i = n.min; i < n.max; ++i) {
                    fragment body = emit(n.kids[0]);
                    const int s = add(state::kind::split);
                    states[static_cast<std::size_t>(s)].out = body.start;
                    body.exits.push_back(s * 2 + 1);
                    parts.push_back({s, std::move(body.exits)});
                }
            }
            return sequence(std::move(parts));
        }
        }
        throw unsupported{};
    }

    std::vector<state> states;
    std::vector<byte_set> sets;
};

} // namespace

std::optional<bool> linear_match(const std::vector<pattern_part>& parts, std::string_view line,
                                 double max_work) {
    compiler c;
    int start = -1;
    try {
        node whole;
        for (const auto& p : parts) {
            if (p.what == pattern_part::kind::literal) {
                for (char ch : p.text)
                    whole.kids.push_back(set_node(byte_of(static_cast<unsigned char>(ch))));
            } else if (p.what == pattern_part::kind::any) {
                node star;
                star.what = node::kind::repeat;
                star.max = unbounded;
                star.kids.push_back(set_node(byte_set().set()));
                whole.kids.push_back(std::move(star));
            } else {
                whole.kids.push_back(re_parser(p.text).parse());
            }
        }
        const auto f = c.emit(whole);
        c.patch(f.exits, c.add(state::kind::match));
        start = f.start;
    } catch (const unsupported&) {
        return std::nullopt;
    }
    if (double(c.states.size()) * double(line.size() + 1) > max_work) return std::nullopt;

    // Pike's simulation without captures: the set of live states after each byte.
    const std::size_t n = line.size();
    std::vector<int> cur, nxt, stack;
    std::vector<std::uint32_t> mark(c.states.size(), 0);
    std::uint32_t gen = 0;
    auto add = [&](std::vector<int>& list, int from, std::size_t pos) {
        stack.push_back(from);
        while (!stack.empty()) {
            const int s = stack.back();
            stack.pop_back();
            if (s < 0 || mark[static_cast<std::size_t>(s)] == gen) continue;
            mark[static_cast<std::size_t>(s)] = gen;
            const auto& st = c.states[static_cast<std::size_t>(s)];
            switch (st.what) {
            case state::kind::eps: stack.push_back(st.out); break;
            case state::kind::split:
                stack.push_back(st.out1);
                stack.push_back(st.out);
                break;
            case state::kind::bol:
                if (pos == 0) stack.push_back(st.out);
                break;
            case state::kind::eol:
                if (pos == n) stack.push_back(st.out);
                break;
            case state::kind::set:
            case state::kind::match: list.push_back(s); break;
            }
        }
    };
    ++gen;
    add(cur, start, 0);
    for (std::size_t pos = 0; pos < n && !cur.empty(); ++pos) {
        const auto b = static_cast<unsigned char>(line[pos]);
        ++gen;
        nxt.clear();
        for (int s : cur) {
            const auto& st = c.states[static_cast<std::size_t>(s)];
            if (st.what == state::kind::set && c.sets[static_cast<std::size_t>(st.set_id)].test(b))
                add(nxt, st.out, pos + 1);
        }
        cur.swap(nxt);
    }
    for (int s : cur)
        if (c.states[static_cast<std::size_t>(s)].what == state::kind::match) return true;
    return false;
}

} // namespace pop3::conformance::detail
