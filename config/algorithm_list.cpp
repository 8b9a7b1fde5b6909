#include "config/algorithm_list.hpp"

#include <algorithm>
#include <cctype>
#include <vector>

#include "config/key_options.hpp"
#include "config/printable.hpp"
#include "base/error.hpp"

namespace feth::config {

namespace {

// A value is one config argument: bounded like the rest of a line.
constexpr std::size_t kMaxValueLength = 1024;

// OpenSSH 10.5, myproposal.h: KEX_SERVER_KEX, and KEX_CLIENT_KEX which adds
// the finite-field groups.
constexpr std::string_view kServerKex[] = {
    "mlkem768x25519-sha256",       "sntrup761x25519-sha512", "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",           "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",          "ecdh-sha2-nistp384",     "ecdh-sha2-nistp521",
};
constexpr std::string_view kClientKex[] = {
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
};
// The client's list, then what libssh 0.12 has beyond OpenSSH's defaults.
constexpr std::string_view kKnownKex[] = {
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
    "mlkem768nistp256-sha256",
    "mlkem1024nistp384-sha384",
    "diffie-hellman-group-exchange-sha1",
    "diffie-hellman-group14-sha1",
    "diffie-hellman-group1-sha1",
};
// KEX_SERVER_ENCRYPT = KEX_CLIENT_ENCRYPT.
constexpr std::string_view kCiphers[] = {
    "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
    "aes128-ctr",                    "aes192-ctr",             "aes256-ctr",
};
constexpr std::string_view kKnownCiphers[] = {
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "3des-cbc",
};

bool in(std::span<const std::string_view> list, std::string_view name)
{
    return std::find(list.begin(), list.end(), name) != list.end();
}

void add_once(std::vector<std::string>& list, std::string_view name)
{
    if (std::find(list.begin(), list.end(), name) == list.end()) list.emplace_back(name);
}

std::vector<std::string_view> split_commas(std::string_view s)
{
    std::vector<std::string_view> out;
    for (std::size_t start = 0;;) {
        std::size_t comma = s.find(',', start);
        out.push_back(s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
        if (comma == std::string_view::npos) return out;
        start = comma + 1;
    }
}

std::string join(const std::vector<std::string>& names)
{
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
}

// What libssh implements, in known_algorithms() order: the error messages'
// "it has" list.
std::vector<std::string> implemented(AlgorithmKind kind, const AlgorithmSupport& support)
{
    std::vector<std::string> out;
    for (auto name : known_algorithms(kind))
        if (support(kind, name)) out.emplace_back(name);
    return out;
}

// OpenSSH's names are ASCII letters, digits and "-.@_"; after '-' they are
// patterns and may hold '*' and '?' too.
bool name_shape_ok(std::string_view name, bool pattern)
{
    return !name.empty() && std::all_of(name.begin(), name.end(), [pattern](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '@' || c == '_' ||
               (pattern && (c == '*' || c == '?'));
    });
}

} // namespace

bool every_known_algorithm(AlgorithmKind kind, std::string_view name) { return in(known_algorithms(kind), name); }

std::string_view algorithm_keyword(AlgorithmKind kind)
{
    return kind == AlgorithmKind::Cipher ? "Ciphers" : "KexAlgorithms";
}

std::span<const std::string_view> default_algorithms(AlgorithmKind kind, AlgorithmRole role)
{
    if (kind == AlgorithmKind::Cipher) return kCiphers;
    if (role == AlgorithmRole::Server) return kServerKex;
    return kClientKex;
}

std::span<const std::string_view> known_algorithms(AlgorithmKind kind)
{
    if (kind == AlgorithmKind::Cipher) return kKnownCiphers;
    return kKnownKex;
}

std::string algorithm_list_problem(std::string_view value, AlgorithmKind kind, const AlgorithmSupport& support)
{
    if (value.size() > kMaxValueLength) return "longer than " + std::to_string(kMaxValueLength) + " bytes";
    const char prefix = value.empty() ? '\0' : value[0];
    const bool has_prefix = prefix == '+' || prefix == '-' || prefix == '^';
    std::string_view list = has_prefix ? value.substr(1) : value;
    if (list.empty()) return "no names";
    for (auto name : split_commas(list)) {
        if (!name_shape_ok(name, prefix == '-'))
            return "'" + printable(name, 64) + "' is not a name (a comma-separated list" +
                   (has_prefix ? std::string() : std::string(", optionally after +, - or ^")) + ")";
        // sshd and ssh check the names of every form but '-', whose
        // patterns may match nothing.
        if (prefix != '-' && !support(kind, name))
            return "'" + std::string(name) + "' is not implemented by this libssh (it has: " +
                   join(implemented(kind, support)) + ")";
    }
    return {};
}

std::string bad_algorithm_list(AlgorithmKind kind, std::string_view value, std::string_view problem)
{
    const char* what = kind == AlgorithmKind::Cipher ? "Bad SSH2 cipher spec" : "Bad SSH2 KexAlgorithms";
    return std::string(what) + " '" + printable(value, 64) + "': " + std::string(problem);
}

std::string resolve_algorithm_list(std::string_view value, AlgorithmKind kind, AlgorithmRole role,
                                   const AlgorithmSupport& support)
{
    auto bad = [&](const std::string& problem) { return InputError(bad_algorithm_list(kind, value, problem)); };
    if (!value.empty())
        if (auto problem = algorithm_list_problem(value, kind, support); !problem.empty()) throw bad(problem);

    std::vector<std::string> defaults;
    for (auto name : default_algorithms(kind, role))
        if (support(kind, name)) defaults.emplace_back(name);

    std::vector<std::string> out;
    const char prefix = value.empty() ? '\0' : value[0];
    if (value.empty()) {
        out = defaults;
    } else if (prefix == '+') {
        out = defaults;
        for (auto name : split_commas(value.substr(1))) add_once(out, name);
    } else if (prefix == '^') {
        for (auto name : split_commas(value.substr(1))) add_once(out, name);
        for (const auto& name : defaults) add_once(out, name);
    } else if (prefix == '-') {
        const auto patterns = split_commas(value.substr(1));
        for (const auto& name : defaults)
            if (std::none_of(patterns.begin(), patterns.end(),
                             [&](std::string_view p) { return match_pattern(name, p); }))
                out.push_back(name);
    } else {
        for (auto name : split_commas(value)) add_once(out, name);
    }
    if (out.empty()) throw bad("that leaves no algorithm");
    return join(out);
}

} // namespace feth::config
