// OpenSSH's match.c (config/match.hpp).
#include "config/match.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "config/openssh_syntax.hpp"

namespace feth::config {
namespace {

bool is_digits(std::string_view s)
{
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

} // namespace

bool match_pattern(std::string_view s, std::string_view p)
{
    // Iterative with one backtrack point: O(n*m) for hostile patterns.
    std::size_t si = 0, pi = 0;
    std::size_t star = std::string_view::npos, star_s = 0;
    while (si < s.size()) {
        // '*' first, as match.c does: a '*' in the string is no reason to
        // take the pattern's '*' literally ("*xb" matches "*b").
        if (pi < p.size() && p[pi] == '*') {
            star = pi++;
            star_s = si;
        } else if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
            ++si;
            ++pi;
        } else if (star != std::string_view::npos) {
            pi = star + 1;
            si = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < p.size() && p[pi] == '*') ++pi;
    return pi == p.size();
}

int match_pattern_list(std::string_view s, std::string_view list, bool lowercase)
{
    bool positive = false;
    std::size_t i = 0;
    while (i < list.size()) {
        bool negated = list[i] == '!';
        if (negated) ++i;
        std::size_t end = list.find(',', i);
        if (end == std::string_view::npos) end = list.size();
        std::string sub(list.substr(i, end - i));
        if (sub.size() >= 1023) return 0; // sshd: a subpattern too long is no match
        if (lowercase) sub = syntax::ascii_lower(sub);
        i = end < list.size() ? end + 1 : end;
        if (match_pattern(s, sub)) {
            if (negated) return -1;
            positive = true;
        }
    }
    return positive ? 1 : 0;
}

namespace {

struct Addr {
    int af = 0;
    std::array<std::uint8_t, 16> bytes{};
};

std::optional<Addr> parse_addr(const std::string& s)
{
    Addr a;
    if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
        a.af = AF_INET;
        return a;
    }
    std::string v6 = s.substr(0, s.find('%')); // a zone does not take part
    if (::inet_pton(AF_INET6, v6.c_str(), a.bytes.data()) == 1) {
        a.af = AF_INET6;
        return a;
    }
    return std::nullopt;
}

// addr_pton_cidr: 0 ok, -1 not an address (try a wildcard), -2 bad mask.
int parse_cidr(std::string_view text, Addr& net, unsigned& masklen)
{
    if (text.size() >= 64) return -1;
    std::string s(text);
    std::optional<unsigned> len;
    auto slash = s.find('/');
    if (slash != std::string::npos) {
        std::string m = s.substr(slash + 1);
        if (!is_digits(m) || m.size() > 9) return -1;
        len = static_cast<unsigned>(std::stoul(m));
        s.resize(slash);
    }
    auto a = parse_addr(s);
    if (!a) return -1;
    unsigned max = a->af == AF_INET ? 32 : 128;
    masklen = len.value_or(max);
    if (masklen > max) return -2;
    // Host bits must be zero.
    for (unsigned bit = masklen; bit < max; ++bit)
        if ((a->bytes[bit / 8] >> (7 - bit % 8)) & 1) return -2;
    net = *a;
    return 0;
}

bool net_match(const Addr& a, const Addr& net, unsigned masklen)
{
    if (a.af != net.af) return false;
    for (unsigned bit = 0; bit < masklen; ++bit) {
        int x = (a.bytes[bit / 8] >> (7 - bit % 8)) & 1;
        int y = (net.bytes[bit / 8] >> (7 - bit % 8)) & 1;
        if (x != y) return false;
    }
    return true;
}

} // namespace

int addr_match_list(std::string_view addr, std::string_view list)
{
    auto a = parse_addr(std::string(addr));
    if (!a) return 0;
    int ret = 0;
    std::size_t i = 0;
    for (;;) {
        std::size_t end = list.find(',', i);
        std::string_view cp = list.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
        bool neg = !cp.empty() && cp.front() == '!';
        if (neg) cp.remove_prefix(1);
        if (cp.empty()) return -2;
        Addr net;
        unsigned masklen = 0;
        int r = parse_cidr(cp, net, masklen);
        if (r == -2) return -2;
        bool found = r == 0 ? net_match(*a, net, masklen) : match_pattern(addr, cp);
        if (found) {
            if (neg) return -1;
            ret = 1;
        }
        if (end == std::string_view::npos) break;
        i = end + 1;
    }
    return ret;
}

int match_host_and_ip(std::string_view host, std::string_view ip, std::string_view list)
{
    int mip = addr_match_list(ip, list);
    if (mip == -2) return -1;
    if (mip == -1) return 0;
    int mhost = match_pattern_list(host, list, true);
    if (mhost == -1) return 0;
    if (mhost == 0 && mip == 0) return 0;
    return 1;
}


bool match_user(std::string_view user, std::string_view address, std::string_view entry)
{
    auto at = entry.find('@');
    if (at == std::string_view::npos) return match_pattern(user, entry);
    if (!match_pattern(user, entry.substr(0, at))) return false;
    return match_host_and_ip(address, address, entry.substr(at + 1)) == 1;
}

} // namespace feth::config
