#include "config/authorized_keys.hpp"
#include "config/openssh_syntax.hpp"
#include "config/printable.hpp"

#include <algorithm>
#include <cstdint>

namespace feth::config {

namespace {

// Bounds for a file the user controls. OpenSSH reads lines of any length;
// a real key line (RSA 16384 plus options) stays well below 16 KiB.
constexpr std::size_t kMaxLine = 16 * 1024;
constexpr std::size_t kMaxOptions = 256;
constexpr std::size_t kMaxOptionName = 64;
constexpr std::size_t kMaxOptionValue = 8192;
// Past this many bad lines the rest only cost log space.
constexpr std::size_t kMaxErrors = 100;

constexpr std::string_view kSupportedTypes[] = {
    "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
};

// Types OpenSSH knows that we parse (so the line is not mistaken for
// options) but do not accept.
constexpr std::string_view kKnownUnsupportedTypes[] = {
    "ssh-dss",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
};

using syntax::contains;

bool is_known_key_type(std::string_view type)
{
    return contains(kSupportedTypes, type) || contains(kKnownUnsupportedTypes, type);
}

constexpr bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view skip_blanks(std::string_view s)
{
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    return s;
}

std::string_view trim_trailing(std::string_view s)
{
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Splits off the next blank-delimited token.
std::string_view take_token(std::string_view& s)
{
    s = skip_blanks(s);
    std::size_t end = 0;
    while (end < s.size() && !is_blank(s[end])) ++end;
    std::string_view token = s.substr(0, end);
    s.remove_prefix(end);
    return token;
}


int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Strict padded base64 as OpenSSH's b64_pton accepts it (no whitespace here:
// the token has none). Returns false for anything else.
bool base64_decode(std::string_view in, std::string& out)
{
    if (in.empty() || in.size() % 4 != 0) return false;
    std::size_t pad = 0;
    while (pad < 2 && !in.empty() && in[in.size() - 1 - pad] == '=') ++pad;
    std::string_view body = in.substr(0, in.size() - pad);
    out.clear();
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
        int v = base64_value(c);
        if (v < 0) return false;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero, or the encoding was not canonical.
    return (acc & ((1u << bits) - 1)) == 0;
}

// The key blob starts with its type as an SSH string; OpenSSH refuses a
// line whose declared type differs ("key type mismatch").
std::string blob_problem(std::string_view type, std::string_view base64)
{
    std::string blob;
    if (!base64_decode(base64, blob)) return "bad base64 in key blob";
    if (blob.size() < 4) return "key blob too short";
    std::uint32_t len = (std::uint32_t(static_cast<unsigned char>(blob[0])) << 24) |
                        (std::uint32_t(static_cast<unsigned char>(blob[1])) << 16) |
                        (std::uint32_t(static_cast<unsigned char>(blob[2])) << 8) |
                        std::uint32_t(static_cast<unsigned char>(blob[3]));
    if (len > blob.size() - 4) return "key blob too short";
    std::string_view inner = std::string_view(blob).substr(4, len);
    if (inner != type)
        return "key blob is of type '" + printable(inner, 40) + "', not '" + std::string(type) + "'";
    if (blob.size() == 4 + len) return "key blob has no key data";
    return {};
}

bool is_option_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

// OpenSSH's opt_dequote(): "..." where only \" is an escape.
std::string dequote(std::string_view& s, std::string& value)
{
    s.remove_prefix(1); // the opening quote
    value.clear();
    while (!s.empty() && s.front() != '"') {
        if (s.front() == '\\' && s.size() > 1 && s[1] == '"') s.remove_prefix(1);
        value += s.front();
        s.remove_prefix(1);
        if (value.size() > kMaxOptionValue)
            return "option value longer than " + std::to_string(kMaxOptionValue) + " bytes";
    }
    if (s.empty()) return "unterminated quote in option value";
    s.remove_prefix(1); // the closing quote
    return {};
}

// One option: name or name="value". Returns a problem, empty on success.
std::string parse_option(std::string_view& s, std::vector<KeyOption>& options)
{
    KeyOption option;
    while (!s.empty() && is_option_name_char(s.front())) {
        option.name += syntax::ascii_lower(s.front());
        s.remove_prefix(1);
        if (option.name.size() > kMaxOptionName) return "option name too long";
    }
    if (option.name.empty())
        return s.empty() ? "missing option name" : "bad character '" + printable(s.substr(0, 1)) + "' in options";
    if (!s.empty() && s.front() == '=') {
        s.remove_prefix(1);
        if (s.empty() || s.front() != '"')
            return "value of option '" + option.name + "' must be in double quotes";
        std::string value;
        std::string problem = dequote(s, value);
        if (!problem.empty()) return problem;
        option.value = std::move(value);
    }
    if (options.size() == kMaxOptions) return "more than " + std::to_string(kMaxOptions) + " options";
    options.push_back(std::move(option));
    return {};
}

// OpenSSH's auth options grammar: options separated by ',', ending at a
// blank outside quotes. Consumes them from `s`.
std::string parse_options(std::string_view& s, std::vector<KeyOption>& options)
{
    for (;;) {
        std::string problem = parse_option(s, options);
        if (!problem.empty()) return problem;
        if (s.empty() || is_blank(s.front())) return {};
        if (s.front() != ',')
            return "unexpected '" + printable(s.substr(0, 1)) + "' after option '" + options.back().name + "'";
        s.remove_prefix(1);
        if (s.empty() || is_blank(s.front())) return "options end with ','";
    }
}

// Parses one non-blank, non-comment line; returns a problem or fills `key`.
std::string parse_line(std::string_view line, AuthorizedKey& key)
{
    std::string_view rest = line;
    std::string_view first = take_token(rest);
    std::string_view type = first;
    if (!is_known_key_type(first)) {
        // As OpenSSH: not a key, so it must start with options.
        rest = line;
        std::string problem = parse_options(rest, key.options);
        if (!problem.empty()) return "bad options: " + problem;
        type = take_token(rest);
        if (!is_known_key_type(type)) {
            // "ssh-foo AAAA..." reads as one bare option followed by a blob
            // (blobs start "AAAA": a type name's length is below 2^24);
            // name the type the user meant.
            bool one_word = key.options.size() == 1 && !key.options[0].value && type.starts_with("AAAA");
            std::string_view shown = one_word ? first : type;
            if (shown.empty()) return "missing key type after options";
            return "unknown key type '" + printable(shown, 40) + "'";
        }
    }
    key.type = std::string(type);
    std::string_view blob = take_token(rest);
    if (blob.empty()) return "missing key blob after '" + key.type + "'";
    std::string problem = blob_problem(type, blob);
    if (!problem.empty()) return problem;
    key.base64 = std::string(blob);
    key.comment = std::string(skip_blanks(rest));
    return {};
}

} // namespace

bool is_supported_key_type(std::string_view type)
{
    return contains(kSupportedTypes, type);
}

AuthorizedKeysParse parse_authorized_keys(std::string_view text)
{
    AuthorizedKeysParse result;
    auto report = [&](std::size_t lineno, const std::string& problem) {
        if (result.errors.size() < kMaxErrors)
            result.errors.push_back("line " + std::to_string(lineno) + ": " + problem);
        else if (result.errors.size() == kMaxErrors)
            result.errors.push_back("line " + std::to_string(lineno) + ": too many errors, not reporting more");
    };
    std::size_t lineno = 0;
    while (!text.empty()) {
        ++lineno;
        std::size_t nl = text.find('\n');
        std::string_view raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);

        if (raw.size() > kMaxLine) {
            report(lineno, "line longer than " + std::to_string(kMaxLine) + " bytes");
            continue;
        }
        if (raw.find('\0') != std::string_view::npos) {
            report(lineno, "NUL byte in line");
            continue;
        }
        std::string_view line = skip_blanks(trim_trailing(raw));
        if (line.empty() || line.front() == '#') continue;

        AuthorizedKey key;
        std::string problem = parse_line(line, key);
        if (!problem.empty()) {
            report(lineno, problem);
            continue;
        }
        key.line = lineno;
        result.keys.push_back(std::move(key));
    }
    return result;
}

} // namespace feth::config
